#!/usr/bin/env bash
# Deadlines, fallbacks and circuit breakers on `corral serve`, with two test models made by
# tools/make_test_model (stories260K's tokenizer, seeded random weights) and the fault test hook
# (CORRAL_TEST_FAULTS) making some model names fail to load or stall:
#   deadline before start (queued behind a long request: 504), deadline mid-stream (partial
#   text, done_reason "deadline", slot freed), each fallback reason (queue full, load failure,
#   no first token in time, breaker open), breaker recovery after its cool-down, Modelfile
#   FALLBACK, the model field and X-Corral-Model header, OpenAI shapes, /metrics counters.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?}
STORIES=$SHARED/models/stories260K.gguf
TOOL=${CORRAL_BINARY_DIR:-}/tools/make_test_model
tmp=$(mktemp -d)
pid=
bg=()
cleanup() {
  for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log (tail)"; tail -40 "$tmp/server.log"; exit 1; }

# Two models: A (behind the faulty names) and B (the healthy backup).
if [ -x "$TOOL" ]; then
  for m in a:1 b:2; do
    "$TOOL" --arch llama --type f32 --n-embd 64 --n-ff 128 --n-layer 2 --n-head 4 --n-head-kv 2 \
      --ctx 1024 --vocab "$STORIES" --seed "${m#*:}" --name "test-${m%%:*}" --out "$tmp/${m%%:*}.gguf" >/dev/null \
      || fail "make_test_model"
  done
else
  echo "server_resilience: no make_test_model, using stories260K for both models"
  cp "$STORIES" "$tmp/a.gguf"
  cp "$STORIES" "$tmp/b.gguf"
fi
A=$tmp/a.gguf B=$tmp/b.gguf

export CORRAL_MODELS=$tmp/models CORRAL_HOST=127.0.0.1:0 CORRAL_PORT_FILE=$tmp/port
export OLLAMA_NUM_PARALLEL=1 OLLAMA_MAX_QUEUE=1 OLLAMA_MAX_LOADED_MODELS=10 OLLAMA_KEEP_ALIVE=5m
export CORRAL_MODEL_PATHS="backup=$B,slow=$A,broken=$A,stalled=$A,recovering=$A,flaky=$A"
export CORRAL_ENABLE_TEST_HOOKS=1
export CORRAL_TEST_FAULTS="slow:stall_ms=60;broken:load_fail;stalled:stall_ms=5000;recovering:fail_loads=3;chain:load_fail;flaky:fail_after=1"
export CORRAL_BREAKER_FAILURES=2 CORRAL_BREAKER_COOLDOWN=4s

printf 'FROM %s\nFALLBACK backup\nPARAMETER temperature 0\n' "$A" > "$tmp/Modelfile"
"$BIN" create chain -f "$tmp/Modelfile" >/dev/null || fail "corral create with FALLBACK"

timeout 300 "$BIN" serve >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "server did not start"
URL=http://127.0.0.1:$(cat "$tmp/port")

# post PATH JSON [curl args...]: body in $tmp/body, headers in $tmp/headers, status echoed.
post() {
  local path=$1 body=$2; shift 2
  curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@" -d "$body" "$URL$path"
}
header() { grep -i "^$1:" "$tmp/headers" | tail -1 | cut -d' ' -f2- | tr -d '\r'; }
body_has() { grep -qF -- "$1" "$tmp/body" || fail "$2: body lacks '$1': $(head -c 400 "$tmp/body")"; }
metric() { curl -s "$URL/metrics" | grep -F "$1" | awk '{print $NF}' | tail -1; }
wait_metric() {  # wait_metric NAME VALUE: poll /metrics until the line NAME has VALUE
  for _ in $(seq 200); do [ "$(metric "$1")" = "$2" ] && return 0; sleep 0.05; done
  fail "metric $1 never reached $2 (now '$(metric "$1")')"
}
# /api/show gives the fallback back as a Modelfile FALLBACK line (not as a PARAMETER).
code=$(post /api/show '{"model":"chain"}')
[ "$code" = 200 ] || fail "show chain -> $code"
python3 -c 'import json,sys; mf=json.load(open(sys.argv[1]))["modelfile"]; sys.exit(0 if "FALLBACK backup\n" in mf and "PARAMETER fallback" not in mf else 1)' "$tmp/body" \
  || fail "show chain: modelfile lacks 'FALLBACK backup': $(head -c 600 "$tmp/body")"

gen() { echo "{\"model\":\"$1\",\"prompt\":\"Once upon a time\",\"stream\":false,\"options\":{\"temperature\":0,\"num_predict\":$2${3:+,$3}}}"; }

# --- Deadline before start: one long request holds the only slot of "slow" -------------------
curl -s -N -d '{"model":"slow","prompt":"Once","options":{"num_predict":900}}' "$URL/api/generate" > "$tmp/long1" &
bg+=($!)
wait_metric 'corral_model_active_requests{model="slow"' 1
for _ in $(seq 100); do [ -s "$tmp/long1" ] && break; sleep 0.05; done
[ -s "$tmp/long1" ] || fail "the long request never started streaming"
code=$(post /api/generate "$(gen slow 5 '"deadline_ms":400')")
[ "$code" = 504 ] || fail "queued past its deadline -> $code (want 504): $(cat "$tmp/body")"
body_has '"error":"deadline exceeded' "504 body"
code=$(post /api/generate "$(gen slow 5)" -H 'X-Request-Timeout: 0.3')
[ "$code" = 504 ] || fail "X-Request-Timeout past while queued -> $code (want 504)"
code=$(post /v1/completions '{"model":"slow","prompt":"Once","max_tokens":5,"deadline_ms":300}')
[ "$code" = 504 ] || fail "OpenAI completions queued past deadline -> $code"
body_has '"type":"' "OpenAI error shape"
body_has 'deadline exceeded' "OpenAI 504 message"

# --- Fallback: queue full (503 on the primary) ----------------------------------------------
curl -s -N -d '{"model":"slow","prompt":"Once","options":{"num_predict":5}}' "$URL/api/generate" > "$tmp/long2" &
bg+=($!)
wait_metric 'corral_queue_depth' 1
code=$(post /api/generate "$(gen slow 5)")
[ "$code" = 503 ] || fail "queue full without fallback -> $code (want 503)"
code=$(post /api/generate "$(gen slow 6 '"fallback":["backup"]')")
[ "$code" = 200 ] || fail "queue full with fallback -> $code: $(cat "$tmp/body")"
body_has '"model":"backup"' "overloaded fallback model field"
[ "$(header X-Corral-Model)" = backup ] || fail "X-Corral-Model: '$(header X-Corral-Model)'"
[ "$(header X-Corral-Fallbacks)" = "slow:overloaded" ] || fail "X-Corral-Fallbacks: '$(header X-Corral-Fallbacks)'"
body_has '"done_reason":"length"' "fallback answer ran to num_predict"
for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done
bg=()
wait_metric 'corral_model_active_requests{model="slow"' 0

# --- Deadline mid-stream: partial text, done_reason "deadline", the slot is freed ------------
curl -s -N -d '{"model":"slow","prompt":"Once upon a time","options":{"temperature":0,"num_predict":900,"deadline_ms":1500}}' \
  "$URL/api/generate" > "$tmp/stream"
last=$(tail -1 "$tmp/stream")
grep -q '"done":true,"done_reason":"deadline"' <<<"$last" || fail "mid-stream deadline final line: $last"
text=$(head -n -1 "$tmp/stream" | python3 -c 'import sys,json; print("".join(json.loads(l)["response"] for l in sys.stdin), end="")')
[ -n "$text" ] || fail "no partial text before the deadline: $(head -3 "$tmp/stream")"
ev=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["eval_count"])' "$last")
[ "$ev" -lt 900 ] || fail "eval_count $ev: the deadline did not stop it"
# The same prompt without a deadline starts with the same text (greedy): the partial output is real.
code=$(post /api/generate "$(gen slow "$ev")")
[ "$code" = 200 ] || fail "request after the deadline -> $code: slot not freed?"
full=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["response"], end="")' "$tmp/body")
[ "${full:0:${#text}}" = "$text" ] || fail "partial text is not a prefix of the full text: '$text' vs '$full'"
# Non-streaming and OpenAI shapes of a deadline that hits mid-generation.
code=$(post /api/chat '{"model":"slow","messages":[{"role":"user","content":"Once upon a time"}],"stream":false,"options":{"temperature":0,"num_predict":900,"deadline_ms":1200}}')
[ "$code" = 200 ] || fail "chat with mid-generation deadline -> $code"
body_has '"done_reason":"deadline"' "non-streaming chat deadline"
code=$(post /v1/chat/completions '{"model":"slow","messages":[{"role":"user","content":"Once upon a time"}],"temperature":0,"max_tokens":900,"deadline_ms":1200}')
[ "$code" = 200 ] || fail "OpenAI chat with mid-generation deadline -> $code"
body_has '"finish_reason":"deadline"' "OpenAI finish_reason"
wait_metric 'corral_model_active_requests{model="slow"' 0

# --- Fallback: load failure (request option and Modelfile FALLBACK) --------------------------
code=$(post /api/generate "$(gen broken 4 '"fallback":["backup"]')")
[ "$code" = 200 ] || fail "load failure with fallback -> $code: $(cat "$tmp/body")"
body_has '"model":"backup"' "load-failure fallback"
[ "$(header X-Corral-Fallbacks)" = "broken:load_failed" ] || fail "X-Corral-Fallbacks: '$(header X-Corral-Fallbacks)'"
code=$(post /api/generate "$(gen broken 4)")
[ "$code" = 500 ] || fail "load failure without fallback -> $code"
body_has 'test fault: load failure' "load failure message"
code=$(post /api/chat '{"model":"chain","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":4}}')
[ "$code" = 200 ] || fail "Modelfile FALLBACK -> $code: $(cat "$tmp/body")"
body_has '"model":"backup"' "Modelfile FALLBACK answer"
[ "$(header X-Corral-Model)" = backup ] || fail "Modelfile FALLBACK header"
code=$(post /api/show '{"model":"chain"}')
[ "$code" = 200 ] || fail "show chain -> $code"
python3 - "$tmp/body" <<'PY' || fail "show does not list the fallback: $(head -c 400 "$tmp/body")"
import json, re, sys
j = json.load(open(sys.argv[1]))
assert re.search(r"^fallback +backup$", j["parameters"], re.M), j["parameters"]
assert re.search(r"^(FALLBACK|PARAMETER fallback) backup$", j["modelfile"], re.M), j["modelfile"]
PY
code=$(post /v1/chat/completions '{"model":"broken","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"fallback":["backup"]}')
[ "$code" = 200 ] || fail "OpenAI load-failure fallback -> $code"
body_has '"model":"backup"' "OpenAI model field names the fallback"
[ "$(header X-Corral-Model)" = backup ] || fail "OpenAI X-Corral-Model"

# --- Fallback: no first token before the primary's share of the deadline ---------------------
code=$(post /api/generate "$(gen stalled 4 '"deadline_ms":6000,"fallback":["backup"]')")
[ "$code" = 200 ] || fail "stalled primary with fallback -> $code: $(cat "$tmp/body")"
body_has '"model":"backup"' "stalled fallback"
[ "$(header X-Corral-Fallbacks)" = "stalled:deadline" ] || fail "X-Corral-Fallbacks: '$(header X-Corral-Fallbacks)'"
body_has '"done_reason":"length"' "stalled fallback completes"

# --- Fallback: the generation fails to start (flaky: the first generation works, later fail) ---
code=$(post /api/generate "$(gen flaky 3 '"fallback":["backup"]')")
[ "$code" = 200 ] || fail "flaky first -> $code"
[ "$(header X-Corral-Model)" = flaky ] || fail "flaky answers its first request itself"
code=$(post /api/generate "$(gen flaky 3 '"fallback":["backup"]')")
[ "$code" = 200 ] && [ "$(header X-Corral-Fallbacks)" = "flaky:error" ] \
  || fail "flaky second -> $code '$(header X-Corral-Fallbacks)'"
body_has '"model":"backup"' "error fallback"

# --- OpenAI streaming: the deadline ends the SSE stream with finish_reason "deadline" ---------
curl -s -N -H 'X-Request-Timeout: 1.2' -d '{"model":"slow","messages":[{"role":"user","content":"Once upon a time"}],"temperature":0,"max_tokens":900,"stream":true}' \
  "$URL/v1/chat/completions" > "$tmp/sse"
grep -q '"finish_reason":"deadline"' "$tmp/sse" || fail "SSE lacks finish_reason deadline: $(tail -c 300 "$tmp/sse")"
[ "$(grep -v '^$' "$tmp/sse" | tail -1)" = "data: [DONE]" ] || fail "SSE does not end with [DONE]: $(tail -c 200 "$tmp/sse")"
[ "$(grep -c '"content":"[^"]' "$tmp/sse")" -ge 1 ] || fail "SSE deadline stream has no partial content"

# --- Breaker: opens after 2 load failures, skips the model, probes it back after 4 s ---------
req='"fallback":["backup"]'
for i in 1 2; do
  code=$(post /api/generate "$(gen recovering 3 "$req")")
  [ "$code" = 200 ] && [ "$(header X-Corral-Fallbacks)" = "recovering:load_failed" ] \
    || fail "recovering try $i -> $code '$(header X-Corral-Fallbacks)'"
done
[ "$(metric 'corral_model_breaker_state{model="recovering"')" = 2 ] || fail "breaker not open after 2 failures"
code=$(post /api/generate "$(gen recovering 3 "$req")")
[ "$code" = 200 ] && [ "$(header X-Corral-Fallbacks)" = "recovering:unhealthy" ] \
  || fail "open breaker -> $code '$(header X-Corral-Fallbacks)'"
code=$(post /api/generate "$(gen recovering 3)")
[ "$code" = 503 ] || fail "open breaker without fallback -> $code"
body_has 'unhealthy' "open breaker message"
sleep 4.2
code=$(post /api/generate "$(gen recovering 3 "$req")")  # half-open probe: load 3 still fails
[ "$code" = 200 ] && [ "$(header X-Corral-Fallbacks)" = "recovering:load_failed" ] \
  || fail "failed probe -> $code '$(header X-Corral-Fallbacks)'"
[ "$(metric 'corral_model_breaker_state{model="recovering"')" = 2 ] || fail "breaker not open again after the failed probe"
sleep 4.2
code=$(post /api/generate "$(gen recovering 3 "$req")")  # probe: load 4 succeeds
[ "$code" = 200 ] || fail "recovered probe -> $code"
body_has '"model":"recovering"' "the recovered model answers itself"
[ "$(header X-Corral-Model)" = recovering ] || fail "recovered X-Corral-Model"
[ -z "$(header X-Corral-Fallbacks)" ] || fail "no fallback expected: '$(header X-Corral-Fallbacks)'"
[ "$(metric 'corral_model_breaker_state{model="recovering"')" = 0 ] || fail "breaker not closed after recovery"

# --- Bad input ---------------------------------------------------------------------------------
code=$(post /api/generate "$(gen backup 3 '"deadline_ms":"soon"')")
[ "$code" = 400 ] || fail "deadline_ms string -> $code"
code=$(post /api/generate "$(gen backup 3 '"fallback":7')")
[ "$code" = 400 ] || fail "fallback number -> $code"
code=$(post /api/generate "$(gen backup 3)" -H 'X-Request-Timeout: never')
[ "$code" = 400 ] || fail "bad X-Request-Timeout -> $code"

# --- Metrics ---------------------------------------------------------------------------------
m=$(curl -s "$URL/metrics")
for want in 'corral_fallbacks_total{model="slow",reason="overloaded"} 1' \
            'corral_fallbacks_total{model="broken",reason="load_failed"} 1' \
            'corral_fallbacks_total{model="broken",reason="unhealthy"} 1' \
            'corral_fallbacks_total{model="chain:latest",reason="load_failed"} 1' \
            'corral_fallbacks_total{model="stalled",reason="deadline"} 1' \
            'corral_fallbacks_total{model="recovering",reason="load_failed"} 3' \
            'corral_fallbacks_total{model="recovering",reason="unhealthy"} 1' \
            'corral_fallbacks_total{model="flaky",reason="error"} 1' \
            'corral_deadline_exceeded_total{stage="before_first_token"} 3' \
            'corral_model_breaker_state{model="broken",state="open"} 2'; do
  grep -qF "$want" <<<"$m" || fail "metrics lack '$want': $(grep -E 'fallbacks|deadline_exceeded|breaker' <<<"$m")"
done
gen_deadlines=$(grep -F 'corral_deadline_exceeded_total{stage="generating"}' <<<"$m" | awk '{print $NF}')
[ "${gen_deadlines:-0}" -ge 4 ] || fail "generating deadlines counted: '${gen_deadlines}'"
kill -0 "$pid" || fail "server died"
echo "ok: deadlines, fallbacks (overloaded, load_failed, deadline, unhealthy, error), breaker recovery, metrics"
