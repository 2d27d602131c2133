#!/usr/bin/env bash
# Asynchronous jobs on the default SQLite store: bad bodies (400, nothing queued), generate/chat/
# embed jobs to completion, priorities, deadlines, cancellation (queued and running), a server
# killed (-9) with jobs pending and restarted (they finish; the one running is retried once),
# webhooks retried against a receiver that fails the first deliveries and checks the HMAC, the
# OpenAI Batch API through the npm `openai` client, and `corral jobs`.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?} SRC=${CORRAL_SOURCE_DIR:?}
GGUF=$SHARED/models/stories260K.gguf
tmp=$(mktemp -d)
pid= hook_pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$hook_pid" ] && kill "$hook_pid" 2>/dev/null && wait "$hook_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log (tail)"; tail -30 "$tmp/server.log"; exit 1; }

export CORRAL_MODELS=$tmp/models CORRAL_HOST=127.0.0.1:0 CORRAL_PORT_FILE=$tmp/port
# "slow" is stories260K with every decode step stalled 100 ms (the server's test fault hook), so a
# job is reliably still running while the test acts on it.
export CORRAL_MODEL_PATHS="stories=$GGUF,slow=$GGUF" OLLAMA_NUM_PARALLEL=2
export CORRAL_ENABLE_TEST_HOOKS=1 CORRAL_TEST_FAULTS="slow:stall_ms=100"
export CORRAL_JOBS_WORKERS=1 CORRAL_JOBS_LEASE=2s CORRAL_JOBS_WEBHOOK_BACKOFF=100ms
start_server() {
  rm -f "$tmp/port"
  "$BIN" serve >>"$tmp/server.log" 2>&1 &  # no `timeout` wrapper: kill -9 must reach the server itself
  pid=$!
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
  [ -s "$tmp/port" ] || fail "server did not start"
  HOST=127.0.0.1:$(cat "$tmp/port")
  B=http://$HOST
}
start_server
echo "server on $B"

code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
expect() {  # expect STATUS BODY-SUBSTRING curl-args...
  local want=$1 sub=$2; shift 2
  local got; got=$(code "$@")
  [ "$got" = "$want" ] || fail "$* -> $got (want $want): $(head -c 300 "$tmp/body")"
  [ -z "$sub" ] || grep -qF -- "$sub" "$tmp/body" || fail "$* -> body lacks '$sub': $(head -c 300 "$tmp/body")"
}
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
submit() { curl -sf -d "$1" "$B/api/jobs" | sed -E 's/^\{"id":"([^"]+)".*/\1/'; }
field() { curl -sf "$B/api/jobs/$1" | jq_ "$2"; }
wait_status() {  # wait_status ID STATUS...: until the job has one of the statuses
  local id=$1; shift
  for _ in $(seq 600); do
    local s; s=$(curl -sf "$B/api/jobs/$id" | grep -o '"status":"[a-z]*"' | head -1 | cut -d'"' -f4)
    for want in "$@"; do [ "$s" = "$want" ] && return 0; done
    sleep 0.1
  done
  fail "job $id never reached $* (now $(curl -s "$B/api/jobs/$id"))"
}
ts_ns() {  # RFC 3339 UTC time -> integer nanoseconds
  python3 -c 'import sys, calendar, time
base, _, frac = sys.argv[1].rstrip("Z").partition(".")
print(calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int((frac + "000000000")[:9]))' "$1"
}
count_jobs() { curl -sf "$B/api/jobs?limit=10000" | jq_ 'len(d["jobs"])'; }
gen() { echo "{\"type\":\"generate\",\"request\":{\"model\":\"${MODEL:-stories}\",\"prompt\":\"$1\",\"options\":{\"num_predict\":$2,\"temperature\":0,\"num_ctx\":512}}$3}"; }

# Bad bodies: 400 naming the problem, and nothing queued.
expect 400 'type must be one of' -d '{"type":"nope","request":{"model":"stories","prompt":"x"}}' "$B/api/jobs"
expect 400 'request is required' -d '{"type":"generate"}' "$B/api/jobs"
expect 400 'prompt' -d '{"type":"generate","request":{"model":"stories","prompt":5}}' "$B/api/jobs"
expect 400 'model is required' -d '{"type":"chat","request":{"messages":[{"role":"user","content":"x"}]}}' "$B/api/jobs"
expect 400 'priority must be an integer' -d '{"type":"generate","priority":"high","request":{"model":"stories","prompt":"x"}}' "$B/api/jobs"
expect 400 'webhook.url' -d '{"type":"generate","webhook":{"url":"ftp://x"},"request":{"model":"stories","prompt":"x"}}' "$B/api/jobs"
expect 400 'unknown field' -d '{"type":"generate","request":{"model":"stories","prompt":"x"},"extra":1}' "$B/api/jobs"
expect 400 'deadline_ms' -d '{"type":"generate","deadline_ms":-5,"request":{"model":"stories","prompt":"x"}}' "$B/api/jobs"
expect 400 '' -d '{"type":"generate",' "$B/api/jobs"
expect 400 'status must be' "$B/api/jobs?status=bogus"
expect 404 'not found' "$B/api/jobs/job-missing"
expect 404 'not found' -X DELETE "$B/api/jobs/job-missing"
[ "$(count_jobs)" = 0 ] || fail "bad bodies queued jobs"

# One job of each kind, to completion.
g=$(submit "$(gen 'Once upon a time' 8 '')")
c=$(submit '{"type":"chat","request":{"model":"stories","messages":[{"role":"user","content":"Hi"}],"options":{"num_predict":6}}}')
e=$(submit '{"type":"embed","request":{"model":"stories","input":["a cat","a dog"]}}')
o=$(submit '{"type":"openai.chat","request":{"model":"stories","messages":[{"role":"user","content":"Hi"}],"max_tokens":5}}')
for id in $g $c $e $o; do wait_status "$id" succeeded; done
[ "$(field "$g" 'd["result"]["done"] and len(d["result"]["response"]) > 0')" = True ] || fail "generate result $(curl -s "$B/api/jobs/$g")"
[ "$(field "$g" 'd["attempts"], d["http_status"], d["server"] is not None')" = "1 200 True" ] || fail "generate job fields: $(curl -s "$B/api/jobs/$g")"
[ "$(field "$c" 'd["result"]["message"]["role"]')" = assistant ] || fail "chat result"
[ "$(field "$e" 'len(d["result"]["embeddings"])')" = 2 ] || fail "embed result"
[ "$(field "$o" 'd["result"]["object"]')" = chat.completion ] || fail "openai.chat result"
# A job whose request the route refuses fails with the route's status and error.
bad=$(submit '{"type":"generate","request":{"model":"no-such-model","prompt":"x"}}')
wait_status "$bad" failed
[ "$(field "$bad" 'd["http_status"], d["reason"]')" = "404 http_error" ] || fail "failed job $(curl -s "$B/api/jobs/$bad")"
[ "$(curl -sf "$B/api/jobs?status=failed" | jq_ 'len(d["jobs"])')" = 1 ] || fail "status filter"
[ "$(curl -sf "$B/api/jobs?model=no-such-model&limit=5" | jq_ 'd["jobs"][0]["id"]')" = "$bad" ] || fail "model filter"

# With the single worker busy: priority order, a deadline that passes in the queue, cancels.
blocker=$(submit "$(MODEL=slow gen 'Once upon a time' 40 '')")
wait_status "$blocker" running
low=$(submit "$(gen 'low' 2 ',"priority":1')")
high=$(submit "$(gen 'high' 2 ',"priority":9')")
late=$(submit "$(gen 'late' 2 ',"deadline_ms":1')")
gone=$(submit "$(gen 'gone' 2 '')")
blocker_busy=$(field "$blocker" 'd["status"]')
expect 200 '"status":"cancelled"' -X DELETE "$B/api/jobs/$gone"
expect 409 'already cancelled' -X DELETE "$B/api/jobs/$gone"
for id in $low $high; do wait_status "$id" succeeded; done
if [ "$blocker_busy" = running ]; then  # both were queued together: the higher priority ran first
  # Compared as times: RFC 3339 with trailing zeros trimmed (Go's form) does not sort as text
  # ("...:40.1Z" is later than "...:40.12Z" as a string).
  [ "$(ts_ns "$(field "$high" 'd["started_at"]')")" -lt "$(ts_ns "$(field "$low" 'd["started_at"]')")" ] \
    || fail "priority 9 did not run before priority 1: high $(field "$high" 'd["started_at"]'), low $(field "$low" 'd["started_at"]')"
fi
wait_status "$late" failed
[ "$(field "$late" 'd["reason"], d["attempts"]')" = "deadline 0" ] || fail "deadline job $(curl -s "$B/api/jobs/$late")"
[ "$(field "$gone" 'd["status"], d["attempts"]')" = "cancelled 0" ] || fail "cancelled job ran"

# Cancel a running job.
long=$(submit "$(MODEL=slow gen 'Tell me a long story' 40 '')")
wait_status "$long" running
expect 200 '"status":"cancelled"' -X DELETE "$B/api/jobs/$long"
after=$(submit "$(gen 'next' 2 '')")  # the worker is free again once the cancelled call is dropped
wait_status "$after" succeeded
[ "$(field "$long" 'd["status"], "result" in d')" = "cancelled False" ] || fail "cancelled running job $(curl -s "$B/api/jobs/$long")"

# A deadline that passes while the job runs: the server cuts the generation short (done_reason
# "deadline", from X-Request-Timeout) or, failing that, the runner gives up on the call.
dl=$(submit "$(MODEL=slow gen 'Once upon a time' 60 ',"deadline_ms":1500')")
wait_status "$dl" succeeded failed
[ "$(field "$dl" '(d.get("result") or {}).get("done_reason") == "deadline" or d.get("reason") == "deadline"')" = True ] \
  || fail "deadline while running: $(curl -s "$B/api/jobs/$dl")"

# Webhooks: the receiver fails the first two deliveries; the third succeeds; every one is signed.
python3 "$SRC/tests/integration/jobs_webhook_receiver.py" "$tmp/hook_port" "$tmp/hook.log" s3cret 2 &
hook_pid=$!
for _ in $(seq 150); do [ -s "$tmp/hook_port" ] && break; sleep 0.1; done
[ -s "$tmp/hook_port" ] || fail "webhook receiver did not start"
hook=http://127.0.0.1:$(cat "$tmp/hook_port")/done
w=$(submit "$(gen 'hook' 4 ",\"webhook\":{\"url\":\"$hook\",\"secret\":\"s3cret\"}")")
for _ in $(seq 300); do [ "$(field "$w" 'd["webhook"]["state"]')" = delivered ] && break; sleep 0.1; done
[ "$(field "$w" 'd["webhook"]["state"], d["webhook"]["attempts"]')" = "delivered 3" ] || fail "webhook $(curl -s "$B/api/jobs/$w")"
python3 - "$tmp/hook.log" "$w" <<'PY' || fail "webhook log: $(cat "$tmp/hook.log")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r["job"] == sys.argv[2]]
assert [r["answered"] for r in rows] == [500, 500, 200], rows
assert all(r["signature_ok"] and r["job_status"] == "succeeded" for r in rows), rows
assert [r["attempt_header"] for r in rows] == ["1", "2", "3"], rows
PY
# A wrong secret on the sender's side: the receiver refuses every delivery (401) until corral gives up.
wbad=$(submit "$(gen 'hook' 2 ",\"webhook\":{\"url\":\"$hook\",\"secret\":\"wrong\"}")")
for _ in $(seq 300); do [ "$(field "$wbad" 'd["webhook"]["state"]')" = failed ] && break; sleep 0.1; done
[ "$(field "$wbad" 'd["webhook"]["state"]')" = failed ] || fail "unsigned webhook $(curl -s "$B/api/jobs/$wbad")"
grep -q "\"job\": \"$wbad\".*\"signature_ok\": false" "$tmp/hook.log" || fail "receiver did not see the bad signature"

# Kill -9 with jobs pending: one running (retried once after its lease), others queued.
crash=$(submit "$(MODEL=slow gen 'Once upon a time' 30 '')")
wait_status "$crash" running
pending=()
for i in 1 2 3 4; do pending+=("$(submit "$(gen "pending $i" 3 '')")"); done
[ "$(field "$crash" 'd["status"]')" = running ] || fail "the crash job was no longer running at the kill"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
start_server
echo "restarted on $B"
for id in "${pending[@]}"; do wait_status "$id" succeeded; done
wait_status "$crash" succeeded failed
[ "$(field "$crash" 'd["status"], d["attempts"]')" = "succeeded 2" ] || fail "crashed job $(curl -s "$B/api/jobs/$crash")"
[ "$(field "$crash" '[r["outcome"] for r in d["runs"]], d["runs"][0]["server"] != d["runs"][1]["server"]')" = "['lost', 'succeeded'] True" ] \
  || fail "crashed job runs $(curl -s "$B/api/jobs/$crash")"

# A graceful stop (SIGTERM) with a job running: it finishes there or is put back unspent.
term=$(submit "$(MODEL=slow gen 'Once upon a time' 20 '')")
wait_status "$term" running
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=
start_server
wait_status "$term" succeeded failed
[ "$(field "$term" 'd["status"], d["attempts"]')" = "succeeded 1" ] || fail "job across SIGTERM $(curl -s "$B/api/jobs/$term")"

# The OpenAI Batch API through the npm client.
NODE_DIR=$SRC/tests/node
if [ -d "$NODE_DIR/node_modules/openai" ]; then
  (cd "$NODE_DIR" && timeout 120 node jobs_batch.mjs "$B" stories "$tmp") || fail "openai batch client"
else
  echo "SKIP openai batch client: run scripts/install-deps.sh (npm install in tests/node)"
fi

# corral jobs: submit (both line shapes), watch, results, status, list, cancel; a bad file queues nothing.
cat > "$tmp/jobs.jsonl" <<JSONL
$(gen 'Once upon a time' 4 '')
{"custom_id":"c1","method":"POST","url":"/v1/chat/completions","body":{"model":"stories","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}}

{"type":"embed","request":{"model":"stories","input":"a cat"}}
JSONL
export CORRAL_HOST=$HOST
ids=$("$BIN" jobs submit "$tmp/jobs.jsonl") || fail "corral jobs submit"
[ "$(wc -w <<<"$ids")" = 3 ] || fail "submit printed: $ids"
"$BIN" jobs watch --interval 0.1 $ids > "$tmp/watch" || fail "corral jobs watch: $(cat "$tmp/watch")"
grep -q '3/3 done' "$tmp/watch" || fail "watch output: $(cat "$tmp/watch")"
"$BIN" jobs results $ids > "$tmp/results" || fail "corral jobs results"
python3 - "$tmp/results" <<'PY' || fail "results: $(cat "$tmp/results")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 3 and all(r["status"] == "succeeded" for r in rows), rows
assert rows[0]["result"]["done"] is True
assert rows[1]["result"]["object"] == "chat.completion"
assert len(rows[2]["result"]["embeddings"]) == 1
PY
echo "$ids" | "$BIN" jobs status > "$tmp/status" || fail "corral jobs status"
[ "$(grep -c succeeded "$tmp/status")" = 3 ] || fail "status: $(cat "$tmp/status")"
"$BIN" jobs list --status succeeded --limit 1000 > "$tmp/list" || fail "corral jobs list"
for id in $ids; do grep -q "$id" "$tmp/list" || fail "list lacks $id"; done
before=$(count_jobs)
printf '%s\n{"type":"generate","request":{"model":"stories"}}\n' "$(gen x 2 '')" > "$tmp/bad.jsonl"
if "$BIN" jobs submit "$tmp/bad.jsonl" 2> "$tmp/err"; then fail "bad file accepted"; fi
grep -q 'line 2' "$tmp/err" || fail "error does not name the line: $(cat "$tmp/err")"
[ "$(count_jobs)" = "$before" ] || fail "a bad file queued jobs"
slow=$(submit "$(MODEL=slow gen 'slow' 40 '')")
wait_status "$slow" running
"$BIN" jobs cancel "$slow" | grep -q cancelled || fail "corral jobs cancel"
if "$BIN" jobs cancel "$slow" 2>/dev/null; then fail "second cancel succeeded"; fi

# Retention: restarted with CORRAL_JOBS_RETENTION=1s, every finished job (and batch) is purged.
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
[ "$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM jobs").fetchone()[0])' "$CORRAL_MODELS/jobs.db")" -gt 0 ] || fail "no jobs in the SQLite file"
CORRAL_JOBS_RETENTION=1s start_server
for _ in $(seq 100); do [ "$(count_jobs)" = 0 ] && break; sleep 0.1; done
[ "$(count_jobs)" = 0 ] || fail "finished jobs kept past the retention: $(count_jobs)"
[ "$(curl -sf "$B/v1/batches" | jq_ 'len(d["data"])')" = 0 ] || fail "batches kept past the retention"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "jobs_sqlite: ok"
