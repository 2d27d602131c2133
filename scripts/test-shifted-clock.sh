#!/usr/bin/env bash
# Runs the tests that could depend on the wall clock, the time zone, the locale or the host name
# once more, under a clock 400 days ahead (libfaketime; monotonic clocks stay real so timeouts
# still work), in the time zone furthest from UTC (Pacific/Kiritimati, UTC+14), in a locale that
# writes decimals with a comma (de_DE.UTF-8, where installed) and, where the kernel allows a UTS
# namespace, under another host name. Each test must also leave nothing in its temporary
# directory: the run gets a fresh TMPDIR and fails if anything is left in it.
# Needs the release build of scripts/test.sh (build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build/release ] || { echo "test-shifted-clock: build/release is missing (run scripts/test.sh first)" >&2; exit 1; }
command -v faketime >/dev/null || { echo "test-shifted-clock: faketime is not installed (scripts/install-deps.sh)" >&2; exit 1; }

# Unit tests, and the integration tests that print, parse or compare times and dates: rendered
# templates (strftime_now), ps/list ("4 minutes from now", "2 days ago"), job timestamps.
tests='^(unit_.*|integration_(chat_jinja_npm|cli_run|store_cli|jobs_sqlite|server_clients|chat_template_cli))$'

tmp=$(mktemp -d /tmp/corral-shifted-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
locale_env=()
if locale -a 2>/dev/null | grep -qix 'de_DE.utf8'; then locale_env=(LANG=de_DE.UTF-8 LC_ALL=de_DE.UTF-8); fi
run() {
  env "${locale_env[@]}" TMPDIR="$tmp" TEST_TMPDIR="$tmp" TZ=Pacific/Kiritimati FAKETIME_DONT_FAKE_MONOTONIC=1 \
    faketime -f '+400d' "$@"
}
# The shifted clock is checked, not assumed: a year (or more) ahead of the real one.
real_year=$(date -u +%Y)
shifted_year=$(run date -u +%Y)
[ "$shifted_year" -gt "$real_year" ] || { echo "test-shifted-clock: faketime did not shift the clock" >&2; exit 1; }
echo "test-shifted-clock: clock $(run date '+%Y-%m-%d %H:%M %Z'), locale ${locale_env[1]:-unchanged}"

ctest_cmd=(ctest --test-dir build/release -R "$tests" --output-on-failure -j "$(nproc)")
if unshare --uts true 2>/dev/null; then
  run unshare --uts bash -c 'hostname "corral-shifted-$1" && shift && exec "$@"' _ "$$" "${ctest_cmd[@]}"
else
  echo "test-shifted-clock: no UTS namespace here; the host name stays $(hostname)"
  run "${ctest_cmd[@]}"
fi

left=$(find "$tmp" -mindepth 1 -maxdepth 1 | head -20)
if [ -n "$left" ]; then
  echo "test-shifted-clock: FAIL: the tests left files in their temporary directory:" >&2
  echo "$left" >&2
  exit 1
fi
echo "test-shifted-clock: passed; nothing left in the temporary directory"
