#!/usr/bin/env bash
# Installs what the build needs, builds corral, and asks a model a question with `corral run`:
# stories260K (a real 260K-parameter llama from ../shared/models) is added to the store as
# "stories" with greedy sampling, and `corral run` starts a server in the background when none
# answers (it keeps running; `kill $(cat ~/.corral/logs/server.pid)` stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
corral=${CORRAL_BIN:-./build/release/src/corral}
modelfile=$(mktemp)
trap 'rm -f "$modelfile"' EXIT
printf 'FROM %s\nPARAMETER temperature 0\nPARAMETER repeat_penalty 1\nPARAMETER num_predict 60\n' \
  "$(realpath ../shared/models/stories260K.gguf)" > "$modelfile"
"$corral" create stories -f "$modelfile"
"$corral" run stories "Once upon a time"
