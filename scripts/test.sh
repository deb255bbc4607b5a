#!/usr/bin/env bash
# The project's test command (the one README.md and .ci/run name).
# Installs the non-Rust test dependencies (idempotent), then runs every test
# of the workspace: unit, integration, conformance (official MCP clients) and
# doc tests. Extra arguments go to `cargo test`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup-test-deps.sh
cargo test --workspace "$@"
# The install path README.md gives (`cargo install --locked --path …`), checked with the
# debug artifacts just built: each binary installs into a scratch root and answers
# --version (features are resolved per package, so a few crates rebuild: ~5 min).
install_root="$(mktemp -d)"
trap 'rm -rf "$install_root"' EXIT
for package in sre-agent-cli mcp-kubernetes mcp-signoz mcp-mongodb mcp-slack; do
    cargo install --locked --debug --offline --quiet --path "$package" \
        --root "$install_root" --target-dir "${CARGO_TARGET_DIR:-target}"
done
for binary in sre-agent mcp-kubernetes mcp-signoz mcp-mongodb mcp-slack; do
    "$install_root/bin/$binary" --version
done
