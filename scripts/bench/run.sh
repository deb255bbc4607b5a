#!/usr/bin/env bash
# The whole benchmark suite: prints one Markdown section per benchmark on stdout
# (progress on stderr), and keeps raw JSON results in RESULTS_DIR (default .cache/bench-results).
#
#   scripts/bench/run.sh [--build] [SECTION ...]
#
# Sections: machine servers output investigate llm miner (default: all, in that order).
# --build first builds the release binaries it needs (otherwise they must exist in target/release),
# including the fake Slack Web API mcp-slack is measured against (target/release/examples/fake_slack,
# built on its own so that the mcp-slack binary itself is not built with the `fake` feature).
# Each section is also a script of its own: scripts/bench/{servers,output_size,investigate,llm_context,miner}.py.
#
# Python: tiktoken (for exact o200k_base counts) is installed from PyPI into .cache/bench-venv on
# first use; the o200k_base ranks come from the tiktoken-rs crate already in ~/.cargo, nothing else
# is downloaded. Without it, token counts fall back to characters / 4 and say so.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/../.."
ROOT=$PWD
RESULTS_DIR=${RESULTS_DIR:-$ROOT/.cache/bench-results}
mkdir -p "$RESULTS_DIR"

VENV=$ROOT/.cache/bench-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q tiktoken >&2 || echo "tiktoken not installed: token counts will be approximate" >&2
fi
PY=$VENV/bin/python

build=0
sections=()
for a in "$@"; do
  case "$a" in
    --build) build=1 ;;
    *) sections+=("$a") ;;
  esac
done
[ ${#sections[@]} -eq 0 ] && sections=(machine servers output investigate llm miner)

if [ $build = 1 ]; then
  cargo build --release -p mcp-kubernetes -p mcp-signoz -p mcp-mongodb -p mcp-slack -p sre-agent-cli -p mcp-kit --bins >&2
  cargo build --release -p log-patterns --example loghub >&2
  cargo build --release -p mcp-slack --example fake_slack >&2
fi

B=scripts/bench
for s in "${sections[@]}"; do
  case "$s" in
    machine) $PY $B/machine.py ;;
    servers) $PY $B/servers.py --json "$RESULTS_DIR/servers.json" ;;
    output) $PY $B/output_size.py --json "$RESULTS_DIR/output_size.json" ;;
    investigate) $PY $B/investigate.py --json "$RESULTS_DIR/investigate.json" ;;
    llm) $PY $B/llm_context.py --json "$RESULTS_DIR/llm_context.json" ;;
    miner) $PY $B/miner.py --json "$RESULTS_DIR/miner.json" ;;
    *) echo "unknown section: $s" >&2; exit 2 ;;
  esac
done
