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
