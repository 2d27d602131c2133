#!/usr/bin/env bash
# Builds every libFuzzer target with clang and runs each for a few seconds from its corpus
# (tests/fuzz/corpus/<name>: minimised from longer runs, so a short run starts where they ended)
# and its past findings (tests/fuzz/regressions/<name>: each must now run clean and fast).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
cmake --preset fuzz >/dev/null
# Only the fuzz targets (and the layers they link), not every library.
targets=$(cd tests/fuzz && ls fuzz_*.cpp | sed 's/\.cpp$//')
cmake --build --preset fuzz -j "$(nproc)" --target $targets
shopt -s nullglob
for bin in build/fuzz/tests/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  corpus="tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  regressions="tests/fuzz/regressions/${name#fuzz_}"
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
  [ -d "$regressions" ] && find "$regressions" -type f ! -name README.md -exec cp {} "$work"/ \;
  echo "fuzz: $name for ${seconds}s"
  # -timeout: one input running 25 s is a hang, and fails the run like a crash.
  "$bin" -max_total_time="$seconds" -timeout=25 -max_len=65536 -rss_limit_mb=2048 "$work" 2>&1 | tail -n 2
  rm -rf "$work"
done
echo "fuzz: all targets ran without a crash"
