#!/usr/bin/env bash
# Two corral servers sharing one PostgreSQL job queue (a real server from Debian's postgresql
# package, initdb'd into a temp dir on a free 127.0.0.1 port): 1,000 small jobs, one server killed
# with -9 halfway. Every job must finish exactly once (one finished run per job in job_runs), no
# two runs of a job may overlap in time, both servers must have run jobs, and the killed server's
# running jobs must have been recovered after their lease.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?}
GGUF=$SHARED/models/stories260K.gguf
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "FAIL: PostgreSQL server binaries not found (scripts/install-deps.sh installs postgresql)"; exit 1; }
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  [ -f "$tmp/pg/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/server*.log "$tmp/sock/pg.log"; do [ -f "$f" ] && { echo "--- $f (tail)"; tail -15 "$f"; }; done
  exit 1
}

mkdir -p "$tmp/pg" "$tmp/sock"
[ "$(id -u)" = 0 ] && chown postgres "$tmp/pg" "$tmp/sock"
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$tmp/pg" -A trust -U corral --no-sync >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log"; fail "initdb"; }
as_pg "$PGBIN/pg_ctl" -D "$tmp/pg" -l "$tmp/sock/pg.log" -w -t 60 start \
  -o "-p $pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$tmp/sock -c fsync=off -c max_connections=50" \
  >/dev/null || fail "postgres did not start"
sql() { "$PGBIN/psql" -h 127.0.0.1 -p "$pgport" -U corral -d jobs -tAq -c "$1"; }
"$PGBIN/psql" -h 127.0.0.1 -p "$pgport" -U corral -d postgres -qc 'CREATE DATABASE jobs' || fail "createdb"
echo "postgres on 127.0.0.1:$pgport"

export CORRAL_JOBS_DSN="postgresql://corral@127.0.0.1:$pgport/jobs"
export CORRAL_MODEL_PATHS="stories=$GGUF" CORRAL_HOST=127.0.0.1:0 OLLAMA_NUM_PARALLEL=4
export CORRAL_JOBS_WORKERS=4 CORRAL_JOBS_LEASE=2s
# Every decode step stalls 20 ms (the server's test fault hook), so at the kill server a is
# certainly in the middle of some jobs.
export CORRAL_ENABLE_TEST_HOOKS=1 CORRAL_TEST_FAULTS="stories:stall_ms=20"
start_server() {  # start_server NAME: sets URL_<NAME>, appends to pids
  local name=$1
  CORRAL_MODELS=$tmp/models_$name CORRAL_PORT_FILE=$tmp/port_$name "$BIN" serve >"$tmp/server_$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$tmp/port_$name" ] && break; sleep 0.1; done
  [ -s "$tmp/port_$name" ] || fail "server $name did not start"
  printf -v "URL_$name" 'http://127.0.0.1:%s' "$(cat "$tmp/port_$name")"
}
start_server a
start_server b
echo "servers on $URL_a and $URL_b"

# 1,000 jobs, submitted to both servers alternately by 16 threads.
python3 - "$URL_a" "$URL_b" <<'PY' || fail "submitting jobs"
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
urls = sys.argv[1:]
def post(i):
    body = {"type": "generate", "request": {"model": "stories", "prompt": f"Story {i}:",
            "options": {"num_predict": 3, "temperature": 0, "num_ctx": 128}}}
    req = urllib.request.Request(urls[i % 2] + "/api/jobs", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 202, r.status
        return json.load(r)["id"]
with ThreadPoolExecutor(16) as ex:
    ids = list(ex.map(post, range(1000)))
assert len(set(ids)) == 1000
PY
[ "$(sql "SELECT count(*) FROM jobs")" = 1000 ] || fail "expected 1000 jobs in the queue"

# Kill server a (-9) once half the jobs are done; b must finish the rest, including a's running ones.
for _ in $(seq 1200); do
  [ "$(sql "SELECT count(*) FROM jobs WHERE status='succeeded'")" -ge 500 ] && break
  sleep 0.1
done
kill -9 "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
# Server a is dead: the jobs still marked running on it are orphans that b must recover.
orphans=$(sql "SELECT id FROM jobs WHERE status='running' AND worker LIKE '%:$(cat "$tmp/port_a")/%'")
n_orphans=$(wc -w <<<"$orphans")
echo "killed server a with $n_orphans jobs running on it"
[ "$n_orphans" -ge 1 ] || fail "server a ran no job at the kill"
for _ in $(seq 1200); do
  [ "$(sql "SELECT count(*) FROM jobs WHERE status IN ('queued','running')")" = 0 ] && break
  sleep 0.1
done
[ "$(sql "SELECT count(*) FROM jobs WHERE status IN ('queued','running')")" = 0 ] || fail "jobs left unfinished: $(sql "SELECT status, count(*) FROM jobs GROUP BY status")"

succeeded=$(sql "SELECT count(*) FROM jobs WHERE status='succeeded'")
[ "$succeeded" = 1000 ] || fail "only $succeeded of 1000 succeeded: $(sql "SELECT status, reason, count(*) FROM jobs GROUP BY status, reason")"
finished_runs=$(sql "SELECT count(*) FROM job_runs WHERE outcome IN ('succeeded','failed')")
once=$(sql "SELECT count(*) FROM (SELECT job_id FROM job_runs WHERE outcome='succeeded' GROUP BY job_id HAVING count(*)=1) x")
[ "$finished_runs" = 1000 ] && [ "$once" = 1000 ] || fail "finished runs $finished_runs, jobs finished exactly once $once (want 1000, 1000)"
overlaps=$(sql "SELECT count(*) FROM job_runs r1 JOIN job_runs r2 ON r1.job_id=r2.job_id AND r1.ctid<r2.ctid
  WHERE r1.started_ms < CASE WHEN r2.finished_ms>0 THEN r2.finished_ms ELSE 9000000000000000 END
    AND r2.started_ms < CASE WHEN r1.finished_ms>0 THEN r1.finished_ms ELSE 9000000000000000 END")
[ "$overlaps" = 0 ] || fail "$overlaps pairs of runs of one job overlapped"
[ "$(sql "SELECT count(DISTINCT worker) FROM jobs")" = 2 ] || fail "jobs did not run on both servers"
lost=$(sql "SELECT count(*) FROM job_runs WHERE outcome='lost'")
retried=$(sql "SELECT count(*) FROM jobs WHERE attempts=2")
for id in $orphans; do
  [ "$(sql "SELECT status || ' ' || attempts FROM jobs WHERE id='$id'")" = "succeeded 2" ] || fail "orphan $id: $(sql "SELECT status, attempts, worker FROM jobs WHERE id='$id'")"
  [ "$(sql "SELECT string_agg(outcome, ',' ORDER BY started_ms) FROM job_runs WHERE job_id='$id'")" = "lost,succeeded" ] || fail "orphan $id runs: $(sql "SELECT * FROM job_runs WHERE job_id='$id'")"
done
[ "$lost" = "$retried" ] || fail "$lost lost runs but $retried jobs with two attempts"
# Results are there: the listing through the surviving server shows finished jobs with results.
curl -sf "$URL_b/api/jobs?status=succeeded&limit=3" | python3 -c '
import json, sys
jobs = json.load(sys.stdin)["jobs"]
assert len(jobs) == 3 and all(j["result"]["done"] for j in jobs), jobs' || fail "listing through server b"
echo "jobs_postgres: ok (1000 jobs, $lost recovered from the killed server)"
