#!/usr/bin/env bash
# Long fuzzing, away from CI: runs each libFuzzer target (or those named) for SECONDS from its
# committed corpus, then minimises what it found back into tests/fuzz/corpus/<name> (libFuzzer's
# -merge keeps one input per new coverage feature) and copies every crash, hang and OOM input
# into tests/fuzz/regressions/<name>/, where fuzz-smoke.sh replays it on each CI run.
# Usage: bash scripts/fuzz-long.sh SECONDS [fuzz_target ...]   (build: cmake --preset fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: fuzz-long.sh SECONDS [fuzz_target ...]}
shift
cmake --preset fuzz >/dev/null
targets=${*:-$(cd tests/fuzz && ls fuzz_*.cpp | sed 's/\.cpp$//')}
# shellcheck disable=SC2086
cmake --build --preset fuzz -j "$(nproc)" --target $targets
for name in $targets; do
  bin=build/fuzz/tests/$name
  short=${name#fuzz_}
  corpus=tests/fuzz/corpus/$short
  found=tests/fuzz/regressions/$short
  work=$(mktemp -d)
  artifacts=$(mktemp -d)
  mkdir -p "$corpus"
  cp -r "$corpus"/. "$work"/
  echo "fuzz-long: $name for ${seconds}s"
  rc=0
  "$bin" -max_total_time="$seconds" -timeout=25 -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$work" >"$artifacts/log" 2>&1 || rc=$?
  grep -E '^stat::(number_of_executed_units|new_units_added)|^#[0-9]+ *DONE' "$artifacts/log" || true
  # Keep the corpus small: only the inputs that add coverage over the committed ones.
  merged=$(mktemp -d)
  "$bin" -merge=1 -max_len=65536 -timeout=25 "$merged" "$corpus" "$work" >/dev/null 2>&1 || true
  if [ -n "$(ls -A "$merged")" ]; then
    find "$corpus" -type f -delete
    cp "$merged"/* "$corpus"/
  fi
  n=0
  for f in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/leak-*; do
    [ -e "$f" ] || continue
    mkdir -p "$found"
    cp "$f" "$found"/
    n=$((n + 1))
  done
  echo "fuzz-long: $name exit $rc, corpus $(ls "$corpus" | wc -l) files, $n finding(s)"
  [ "$rc" = 0 ] || tail -n 30 "$artifacts/log"
  rm -rf "$work" "$merged" "$artifacts"
done
