#!/usr/bin/env bash
# `corral serve` as a service: API keys (missing, wrong, wrong model, rate limit, admin routes,
# each API's error shape, SIGHUP reload, never in logs or /metrics), readiness (CORRAL_PRELOAD,
# /health vs /ready), the drain on SIGTERM (no stream lost, new work refused with 503, exit 0),
# the drain deadline (done_reason "shutdown" in both APIs) and a running job's lease given back.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?}
GGUF=$SHARED/models/stories260K.gguf
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log (tail)"; tail -30 "$tmp/server.log" 2>/dev/null; exit 1; }

KEY_ALL=sk-all-0123456789abcdef
KEY_STORIES=sk-stories-only-0123456789
KEY_SLOW=sk-rate-limited-0123456789
KEY_NEW=sk-added-on-sighup-0123456789
cat >"$tmp/keys" <<KEYS
# corral API keys
$KEY_ALL name=admin
$KEY_STORIES models=stories name=app
$KEY_SLOW rate=3/h name=slow
KEYS
export CORRAL_MODELS=$tmp/models CORRAL_HOST=127.0.0.1:0 CORRAL_PORT_FILE=$tmp/port
export CORRAL_MODEL_PATHS="stories=$GGUF,other=$GGUF" OLLAMA_NUM_PARALLEL=12
export CORRAL_API_KEYS_FILE=$tmp/keys CORRAL_PRELOAD=stories CORRAL_LOG_LEVEL_FILE=$tmp/loglevel
# Every decode step stalls 15 ms (test fault hook), so streams are in flight when SIGTERM comes.
export CORRAL_ENABLE_TEST_HOOKS=1 CORRAL_TEST_FAULTS="stories:stall_ms=15;other:stall_ms=15"
echo info >"$tmp/loglevel"

start() {
  rm -f "$tmp/port"
  "$BIN" serve >>"$tmp/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
  [ -s "$tmp/port" ] || fail "server did not start"
  URL=http://127.0.0.1:$(cat "$tmp/port")
}
# req METHOD PATH KEY [BODY]: status echoed, body in $tmp/body, headers in $tmp/headers.
req() {
  local method=$1 path=$2 key=$3 body=${4:-}
  local args=(-s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' -X "$method")
  [ -n "$key" ] && args+=(-H "Authorization: Bearer $key")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
  curl "${args[@]}" "$URL$path"
}
expect() {  # expect STATUS JQ-LIKE-PYTHON-EXPR WHAT  (expr over `b`, the parsed body)
  local want=$1 got=$2 check=$3 what=$4
  [ "$got" = "$want" ] || fail "$what: status $got, want $want: $(head -c 300 "$tmp/body")"
  python3 -c "import json,sys; b=json.load(open('$tmp/body')); sys.exit(0 if ($check) else 1)" \
    || fail "$what: body $(head -c 300 "$tmp/body")"
}

start
# Readiness: /health answers at once, /ready only once the preloaded model is in.
[ "$(req GET /health '')" = 200 ] || fail "/health without a key"
for _ in $(seq 100); do [ "$(req GET /ready '')" = 200 ] && break; sleep 0.1; done
expect 200 "$(req GET /ready '')" "b['status']=='ready'" "/ready after preload"
curl -sf "$URL/api/ps" -H "Authorization: Bearer $KEY_ALL" | grep -q '"stories"' || fail "stories not loaded by CORRAL_PRELOAD"

GEN='{"model":"stories","prompt":"Once","stream":false,"options":{"num_predict":2,"temperature":0}}'
OAI='{"model":"stories","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}'
OAI_OTHER='{"model":"other","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}'
ANT='{"model":"stories","max_tokens":2,"messages":[{"role":"user","content":"Hi"}]}'
# Missing and wrong keys: 401 in each API's shape.
expect 401 "$(req POST /api/generate '' "$GEN")" "'key' in b['error']" "ollama, no key"
grep -qi '^WWW-Authenticate: Bearer' "$tmp/headers" || fail "401 without WWW-Authenticate"
expect 401 "$(req POST /api/generate sk-wrong-0123456789abcdef "$GEN")" "b['error']=='invalid API key'" "ollama, wrong key"
expect 401 "$(req POST /v1/chat/completions '' "$OAI")" "b['error']['code']=='missing_api_key' and b['error']['type']=='invalid_request_error'" "openai, no key"
expect 401 "$(req POST /v1/chat/completions "${KEY_ALL}x" "$OAI")" "b['error']['code']=='invalid_api_key'" "openai, wrong key"
expect 401 "$(req POST /v1/messages '' "$ANT")" "b['type']=='error' and b['error']['type']=='authentication_error'" "anthropic, no key"
expect 401 "$(req GET /metrics '')" "'error' in b" "/metrics without a key"
# Right keys: Bearer, and x-api-key for Anthropic clients.
expect 200 "$(req POST /api/generate "$KEY_ALL" "$GEN")" "b['done']" "ollama, admin key"
expect 200 "$(req POST /v1/chat/completions "$KEY_STORIES" "$OAI")" "b['object']=='chat.completion'" "openai, app key on its model"
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -H "x-api-key: $KEY_STORIES" -H 'anthropic-version: 2023-06-01' -d "$ANT" "$URL/v1/messages")
expect 200 "$code" "b['type']=='message'" "anthropic, x-api-key"
# Wrong model: 403, in each shape; the admin key may use it.
expect 403 "$(req POST /v1/chat/completions "$KEY_STORIES" "$OAI_OTHER")" "'other' in b['error']['message']" "openai, app key on another model"
expect 403 "$(req POST /api/chat "$KEY_STORIES" '{"model":"other","messages":[{"role":"user","content":"Hi"}],"stream":false}')" "'other' in b['error']" "ollama chat, other model"
expect 403 "$(req POST /api/embed "$KEY_STORIES" '{"model":"other","input":"x"}')" "'other' in b['error']" "embed, other model"
expect 403 "$(req POST /api/jobs "$KEY_STORIES" '{"type":"generate","request":{"model":"other","prompt":"x"}}')" "'other' in b['error']" "job for another model"
expect 403 "$(req POST /api/pull "$KEY_STORIES" '{"model":"x"}')" "'manage' in b['error']" "app key pulling"
expect 200 "$(req POST /v1/chat/completions "$KEY_ALL" "$OAI_OTHER")" "b['model']=='other'" "admin key, other model"
# Rate limit: 3 per hour, then 429 with Retry-After (in OpenAI's shape on /v1).
for i in 1 2 3; do expect 200 "$(req POST /api/generate "$KEY_SLOW" "$GEN")" "b['done']" "rate-limited key, request $i"; done
expect 429 "$(req POST /v1/chat/completions "$KEY_SLOW" "$OAI")" "b['error']['code']=='rate_limit_exceeded'" "rate-limited key, 4th"
ra=$(grep -i '^Retry-After:' "$tmp/headers" | tr -dc 0-9)
[ -n "$ra" ] && [ "$ra" -ge 1000 ] && [ "$ra" -le 1200 ] || fail "Retry-After $ra, want about 1200 s"
curl -s "$URL/metrics" -H "Authorization: Bearer $KEY_ALL" >"$tmp/metrics"
grep -q '^corral_auth_rejected_total{reason="rate"} 1$' "$tmp/metrics" || fail "rate rejections not counted"
grep -q '^corral_auth_rejected_total{reason="missing"} 4$' "$tmp/metrics" || fail "missing-key rejections: $(grep auth_rejected "$tmp/metrics")"
grep -q '^corral_api_keys 3$' "$tmp/metrics" || fail "corral_api_keys"

# SIGHUP: a new key works, a removed one stops working, the log level changes; a bad file
# keeps the keys in force.
echo "$KEY_NEW models=other" >"$tmp/keys.new"
echo "$KEY_ALL" >>"$tmp/keys.new"
mv "$tmp/keys.new" "$tmp/keys"
echo debug >"$tmp/loglevel"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "API keys reloaded (2 keys)" "$tmp/server.log" && break; sleep 0.1; done
expect 200 "$(req POST /v1/chat/completions "$KEY_NEW" "$OAI_OTHER")" "b['model']=='other'" "key added by SIGHUP"
expect 401 "$(req POST /api/generate "$KEY_STORIES" "$GEN")" "'invalid' in b['error']" "key removed by SIGHUP"
grep -q "SIGHUP: log level debug" "$tmp/server.log" || fail "log level not reloaded"
grep -q "POST /api/generate -> 401" "$tmp/server.log" || fail "debug logging not on after SIGHUP"
echo "not-a-key" >"$tmp/keys"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "keeping the API keys in force" "$tmp/server.log" && break; sleep 0.1; done
grep -q "keeping the API keys in force" "$tmp/server.log" || fail "a bad keys file was not refused"
expect 200 "$(req POST /v1/chat/completions "$KEY_NEW" "$OAI_OTHER")" "b['model']=='other'" "keys kept after a bad reload"
printf '%s\n%s\n' "$KEY_ALL" "$KEY_NEW models=other" >"$tmp/keys"
kill -HUP "$pid"
sleep 0.3

# Drain: 8 streams (both APIs) in flight, then SIGTERM. /ready turns 503 at once, new work gets
# 503, every stream ends whole, the server exits 0.
cat >"$tmp/streams.py" <<'PY'
import json, sys, threading, urllib.request, time
url, key, n_predict, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
results = [None] * 8
def ollama(i):
    body = {"model": "stories", "prompt": "Once upon a time", "options": {"num_predict": n_predict, "temperature": 0}}
    r = urllib.request.urlopen(urllib.request.Request(url + "/api/generate", json.dumps(body).encode(),
                               {"Authorization": "Bearer " + key}), timeout=120)
    last, n = None, 0
    for line in r:
        last = json.loads(line); n += 1
    results[i] = {"api": "ollama", "done": last["done"], "reason": last["done_reason"], "tokens": last["eval_count"], "chunks": n}
def openai(i):
    body = {"model": "stories", "messages": [{"role": "user", "content": "Tell a story"}], "max_tokens": n_predict,
            "temperature": 0, "stream": True}
    r = urllib.request.urlopen(urllib.request.Request(url + "/v1/chat/completions", json.dumps(body).encode(),
                               {"Authorization": "Bearer " + key, "Content-Type": "application/json"}), timeout=120)
    finish, done, n = None, False, 0
    for line in r:
        line = line.decode().strip()
        if line == "data: [DONE]": done = True
        elif line.startswith("data: "):
            c = json.loads(line[6:]); n += 1
            if c["choices"] and c["choices"][0]["finish_reason"]: finish = c["choices"][0]["finish_reason"]
    results[i] = {"api": "openai", "done": done, "reason": finish, "chunks": n}
def run(i):
    try: (ollama if i % 2 == 0 else openai)(i)
    except Exception as e: results[i] = {"error": repr(e)}
ts = [threading.Thread(target=run, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
json.dump(results, open(out, "w"))
PY
python3 "$tmp/streams.py" "$URL" "$KEY_ALL" 150 "$tmp/drain.json" &
clients=$!
for _ in $(seq 100); do
  n=$(curl -s "$URL/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["in_flight"])')
  [ "$n" -ge 8 ] && break; sleep 0.05
done
[ "$n" -ge 8 ] || fail "streams did not start ($n in flight)"
kill -TERM "$pid"
sleep 0.2
expect 503 "$(req GET /ready '')" "b['reason']=='draining' and b['in_flight']>=1" "/ready while draining"
expect 503 "$(req POST /api/generate "$KEY_ALL" "$GEN")" "'shutting down' in b['error']" "new work while draining"
expect 503 "$(req POST /v1/chat/completions "$KEY_ALL" "$OAI")" "b['error']['type']=='api_error'" "new OpenAI work while draining"
[ "$(req GET /health '')" = 200 ] || fail "/health while draining"
wait "$clients" || fail "stream clients"
wait "$pid"; rc=$?; pid=
[ "$rc" = 0 ] || fail "drained server exited $rc"
python3 - "$tmp/drain.json" <<'PY' || fail "streams lost in the drain: $(cat "$tmp/drain.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert all("error" not in x for x in r), r
assert all(x["done"] and x["reason"] in ("stop", "length") for x in r), r
assert all(x["tokens"] >= 1 for x in r if x["api"] == "ollama"), r
PY
grep -q "drained" "$tmp/server.log" || fail "no drain in the log"

# Drain deadline: long streams and a running job; CORRAL_DRAIN_TIMEOUT=1s ends the streams with
# done_reason "shutdown" and gives the job's lease back (the job is queued again, attempt unspent).
export CORRAL_DRAIN_TIMEOUT=1s
start
for _ in $(seq 100); do [ "$(req GET /ready '')" = 200 ] && break; sleep 0.1; done
job=$(curl -sf -H "Authorization: Bearer $KEY_ALL" -d '{"type":"generate","request":{"model":"other","prompt":"Once","options":{"num_predict":400,"temperature":0}}}' "$URL/api/jobs" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 100); do
  st=$(curl -s -H "Authorization: Bearer $KEY_ALL" "$URL/api/jobs/$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$st" = running ] && break; sleep 0.05
done
[ "$st" = running ] || fail "job not running ($st)"
python3 "$tmp/streams.py" "$URL" "$KEY_ALL" 400 "$tmp/deadline.json" &
clients=$!
for _ in $(seq 100); do
  n=$(curl -s "$URL/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["in_flight"])')
  [ "$n" -ge 9 ] && break; sleep 0.05
done
t0=$(date +%s%N)
kill -TERM "$pid"
wait "$clients" || fail "stream clients (deadline)"
wait "$pid"; rc=$?; pid=
t1=$(date +%s%N)
[ "$rc" = 0 ] || fail "server exited $rc after the drain deadline"
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -lt 8000 ] || fail "drain with a 1 s deadline took $ms ms"
python3 - "$tmp/deadline.json" <<'PY' || fail "streams at the drain deadline: $(cat "$tmp/deadline.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert all("error" not in x for x in r), r
assert all(x["done"] and x["reason"] == "shutdown" for x in r), r
PY
grep -q 'ended 8 generations' "$tmp/server.log" || grep -q 'ended 9 generations' "$tmp/server.log" || fail "drain deadline not logged"
# The job is back in the queue with its attempt unspent: a new server runs it to the end.
unset CORRAL_DRAIN_TIMEOUT
start
for _ in $(seq 300); do
  st=$(curl -s -H "Authorization: Bearer $KEY_ALL" "$URL/api/jobs/$job" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["status"], j["attempts"])')
  [ "${st%% *}" = succeeded ] && break; sleep 0.1
done
[ "$st" = "succeeded 1" ] || fail "job after the drain: $st (want succeeded 1)"

# Keys never appear in the log or /metrics.
curl -s "$URL/metrics" -H "Authorization: Bearer $KEY_ALL" >"$tmp/metrics"
for k in $KEY_ALL $KEY_STORIES $KEY_SLOW $KEY_NEW; do
  ! grep -qF "$k" "$tmp/server.log" "$tmp/metrics" || fail "a key appears in the log or /metrics"
done
echo "server_lifecycle: ok (keys: missing/wrong/model/rate/SIGHUP; drain ${ms} ms at a 1 s deadline)"
