# Sourced by the integration scripts that test `corral serve` (never run on its own):
#   source "$(dirname "$0")/lib.sh"
# gives a scratch directory $tmp removed at exit, fail MESSAGE (prints the server log's tail
# and exits 1), start_server SECONDS (a server on a free port of 127.0.0.1 with its store in
# $tmp/models, killed at exit; sets $B to its base URL and $pid), and two request helpers:
#   code CURL-ARGS...                 the HTTP status; the body goes to $tmp/body
#   expect STATUS SUBSTRING CURL-ARGS  fails unless the status matches and the body has SUBSTRING
# Variables the caller exports before start_server (CORRAL_MODEL_PATHS, OLLAMA_*) reach the server.
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log (tail)"; tail -30 "$tmp/server.log" 2>/dev/null; exit 1; }

start_server() {  # start_server TIMEOUT-SECONDS
  export CORRAL_MODELS=$tmp/models CORRAL_HOST=127.0.0.1:0 CORRAL_PORT_FILE=$tmp/port
  timeout "$1" "$BIN" serve >"$tmp/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
  [ -s "$tmp/port" ] || fail "server did not start"
  B=http://127.0.0.1:$(cat "$tmp/port")
}

code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
expect() {  # expect STATUS BODY-SUBSTRING curl-args...
  local want=$1 sub=$2; shift 2
  local got; got=$(code "$@")
  [ "$got" = "$want" ] || fail "$* -> $got (want $want): $(head -c 300 "$tmp/body")"
  [ -z "$sub" ] || grep -qF -- "$sub" "$tmp/body" || fail "$* -> body lacks '$sub': $(head -c 300 "$tmp/body")"
}
