#!/usr/bin/env bash
# Installs what the build needs, builds corral, and generates a story with stories260K.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
./build/release/src/corral generate -m ../shared/models/stories260K.gguf -p "" --temperature 0 --repeat-penalty 1 -n 60
