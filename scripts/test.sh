#!/usr/bin/env bash
# The whole test suite: release build + all tests (unit, golden, integration), those that could
# depend on the clock again under a shifted one, the ASan/UBSan build of the unit tests, the
# layer check, and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
# One cache for every build directory (hash_dir off), so the three builds share objects, and
# for every clone (paths relative to the folder that holds it), so a fresh clone reuses them.
export CCACHE_NOHASHDIR=1
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd .. && pwd)}"

bash scripts/check-layers.sh

cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --test-dir build/release --output-on-failure -j "$jobs"
# Once more 400 days ahead, at UTC+14 and under another host name: no test may depend on them.
bash scripts/test-shifted-clock.sh

cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs"

bash scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-10}"
