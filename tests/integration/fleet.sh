#!/usr/bin/env bash
# Three `corral serve` behind HAProxy (Debian's haproxy) with one PostgreSQL job queue, all on
# 127.0.0.1 and bounded in time: HAProxy health-checks /ready, hashes the JSON body's `model`
# (consistent hashing, so one model sticks to one server while it is up), retries a refused
# connection or a draining server's 503 on the next server. fleet_driver.py runs the clients and
# the three phases (steady load with /metrics reconciled, rolling restart, kill -9) and prints
# the figures. Counts: FLEET_CLIENTS (default 200), FLEET_PHASE_S (default 12).
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?}
HERE=$(cd "$(dirname "$0")" && pwd)
GGUF=$SHARED/models/stories260K.gguf
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "FAIL: PostgreSQL server binaries not found (scripts/install-deps.sh installs postgresql)"; exit 1; }
command -v haproxy >/dev/null || { echo "FAIL: haproxy not found (scripts/install-deps.sh installs it)"; exit 1; }
tmp=$(mktemp -d)
chmod 755 "$tmp"
hapid=
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$hapid" ] && kill "$hapid" 2>/dev/null || true
  [ -f "$tmp/pg/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/server_*.log; do [ -f "$f" ] && { echo "--- $f (tail, without access lines)"; grep -v " access " "$f" | tail -8; }; done
  [ -f "$tmp/haproxy.log" ] && { echo "--- haproxy (tail)"; tail -8 "$tmp/haproxy.log"; }
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$tmp/pg" "$tmp/sock"
[ "$(id -u)" = 0 ] && chown postgres "$tmp/pg" "$tmp/sock"
pgport=$(free_port)
as_pg "$PGBIN/initdb" -D "$tmp/pg" -A trust -U corral --no-sync >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log"; fail "initdb"; }
as_pg "$PGBIN/pg_ctl" -D "$tmp/pg" -l "$tmp/sock/pg.log" -w -t 60 start \
  -o "-p $pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$tmp/sock -c fsync=off -c max_connections=100" \
  >/dev/null || fail "postgres did not start"
"$PGBIN/psql" -h 127.0.0.1 -p "$pgport" -U corral -d postgres -qc 'CREATE DATABASE jobs' || fail "createdb"

ports=()
for _ in 1 2 3; do ports+=("$(free_port)"); done
haport=$(free_port)
# The three servers and their health checks, the same in both backends. Down after two failed
# checks (a refused connection fails at once), back after two good ones.
servers="  option httpchk GET /ready
  http-check expect status 200
  default-server inter 400ms fastinter 200ms fall 2 rise 2
  http-response set-header X-Served-By %s
  server s1 127.0.0.1:${ports[0]} check
  server s2 127.0.0.1:${ports[1]} check
  server s3 127.0.0.1:${ports[2]} check"
cat >"$tmp/haproxy.cfg" <<CFG
global
  maxconn 4096
  stats socket $tmp/haproxy.sock mode 600 level admin
defaults
  mode http
  timeout connect 1s
  timeout client 120s
  timeout server 120s
  timeout check 1s
  # A refused connection (a server gone) or a draining server's 503 goes to the next server:
  # L7 retries need the request buffered (option http-buffer-request).
  retries 3
  retry-on conn-failure 503
  option redispatch 1
  # One request per server connection: an idle pooled connection would hold a server thread.
  option http-server-close
frontend fleet
  bind 127.0.0.1:$haport
  option http-buffer-request
  # Jobs carry their model inside "request" and run wherever a worker claims them: round robin.
  use_backend jobs if { path_beg /api/jobs /v1/batches /v1/files }
  default_backend corral
backend jobs
  balance roundrobin
$servers
backend corral
  # One model, one server while it is up: the prompt cache stays warm.
  balance hash req.body,json_query('$.model')
  hash-type consistent
$servers
CFG
haproxy -c -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 || fail "haproxy config: $(cat "$tmp/haproxy.log")"
haproxy -f "$tmp/haproxy.cfg" -db >>"$tmp/haproxy.log" 2>&1 &
hapid=$!

export CORRAL_JOBS_DSN="postgresql://corral@127.0.0.1:$pgport/jobs"
# Six names for one small model: the driver picks two that the hash puts on different servers.
names=(m1 m2 m3 m4 m5 m6)
paths=$(printf "%s=$GGUF," "${names[@]}")
export CORRAL_MODEL_PATHS=${paths%,} CORRAL_PRELOAD=$(IFS=,; echo "${names[*]}") OLLAMA_MAX_LOADED_MODELS=8
export OLLAMA_NUM_PARALLEL=24 OLLAMA_MAX_QUEUE=1024 CORRAL_JOBS_WORKERS=3 CORRAL_JOBS_LEASE=2s
export CORRAL_DRAIN_TIMEOUT=20s CORRAL_ACCESS_LOG=1 CORRAL_HTTP_THREADS=400
# Every decode step stalls 10 ms (the test fault hook): requests last long enough to overlap.
export CORRAL_ENABLE_TEST_HOOKS=1 CORRAL_TEST_FAULTS=$(printf "%s:stall_ms=10;" "${names[@]}")
start=$(date +%s)
timeout 240 python3 "$HERE/fleet_driver.py" --bin "$BIN" --tmp "$tmp" --haproxy "http://127.0.0.1:$haport" \
  --stats "$tmp/haproxy.sock" --ports "${ports[@]}" --pg "$PGBIN/psql -h 127.0.0.1 -p $pgport -U corral -d jobs" \
  --clients "${FLEET_CLIENTS:-200}" --phase-s "${FLEET_PHASE_S:-12}" || fail "fleet driver"
echo "fleet: ok in $(( $(date +%s) - start )) s"
