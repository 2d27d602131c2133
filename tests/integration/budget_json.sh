#!/usr/bin/env bash
# Issue 24's experiment: 30 requests to /v1/chat/completions with stories260K, max_tokens 64,
# temperature 0.8 and a strict one-field json_schema ({"name": string}). Before budget-aware
# constraints 7 of 30 were cut inside the string; now all 30 parse and validate (ajv), those the
# budget closed say finish_reason "length", none is longer than 64 tokens. Also: the same through
# /api/chat streaming with `format`, and a budget below the shortest answer is a 400 that names
# both numbers.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?} SRC=${CORRAL_SOURCE_DIR:?}
source "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || fail "jq is not installed (scripts/install-deps.sh)"
[ -d "$SRC/tests/node/node_modules/ajv" ] || fail "ajv is not installed (scripts/install-deps.sh)"

export CORRAL_MODEL_PATHS="stories=$SHARED/models/stories260K.gguf"
start_server 300
HOST=${B#http://}

SCHEMA='{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}'
printf '%s' "$SCHEMA" >"$tmp/schema.json"

: >"$tmp/outputs.jsonl"
n_length=0
for i in $(seq 1 30); do
  body=$(jq -nc --argjson schema "$SCHEMA" --argjson seed "$i" '{model: "stories", max_tokens: 64,
    temperature: 0.8, seed: $seed,
    messages: [{role: "user", content: "What is the name of the girl in the story? Answer in JSON."}],
    response_format: {type: "json_schema", json_schema: {name: "person", strict: true, schema: $schema}}}')
  curl -s -o "$tmp/r.json" -w '%{http_code}' "http://$HOST/v1/chat/completions" -d "$body" >"$tmp/code"
  [ "$(cat "$tmp/code")" = 200 ] || fail "request $i: HTTP $(cat "$tmp/code"): $(cat "$tmp/r.json")"
  reason=$(jq -r '.choices[0].finish_reason' "$tmp/r.json")
  tokens=$(jq -r '.usage.completion_tokens' "$tmp/r.json")
  case "$reason" in
    stop) ;;
    length) n_length=$((n_length + 1)) ;;
    *) fail "request $i: finish_reason $reason" ;;
  esac
  [ "$tokens" -le 64 ] || fail "request $i: $tokens completion tokens > max_tokens 64"
  # An answer that used the whole budget was shaped by it and says so.
  if [ "$tokens" -eq 64 ] && [ "$reason" != length ]; then fail "request $i: 64 tokens but finish_reason $reason"; fi
  jq -c --argjson seed "$i" '{seed: $seed, output: .choices[0].message.content}' "$tmp/r.json" >>"$tmp/outputs.jsonl"
done
node "$SRC/tests/node/schema_validate.mjs" "$tmp/schema.json" "$tmp/outputs.jsonl" \
  || fail "an answer does not parse or validate"
echo "30 answers parse and validate; $n_length closed by the budget (finish_reason length)"
[ "$n_length" -ge 1 ] || fail "no answer reached the budget: the test does not exercise it"

# Streaming through the Ollama API with `format`, a smaller budget: the streamed text parses.
body=$(jq -nc --argjson schema "$SCHEMA" '{model: "stories", stream: true, format: $schema,
  options: {num_predict: 12, temperature: 0.8, seed: 3},
  messages: [{role: "user", content: "Once upon a time"}]}')
curl -s "http://$HOST/api/chat" -d "$body" >"$tmp/stream.ndjson"
jq -rj 'select(.message) | .message.content' "$tmp/stream.ndjson" >"$tmp/stream.txt"
jq -Rsc '{seed: 0, output: .}' "$tmp/stream.txt" >"$tmp/stream.jsonl"
node "$SRC/tests/node/schema_validate.mjs" "$tmp/schema.json" "$tmp/stream.jsonl" >/dev/null \
  || fail "streamed answer does not validate: $(cat "$tmp/stream.txt")"
reason=$(jq -r 'select(.done) | .done_reason' "$tmp/stream.ndjson")
count=$(jq -r 'select(.done) | .eval_count' "$tmp/stream.ndjson")
[ "$reason" = length ] || { [ "$reason" = stop ] && [ "$count" -lt 12 ]; } \
  || fail "streamed answer: done_reason $reason after $count tokens"
echo "streamed (num_predict 12): $(cat "$tmp/stream.txt") ($reason, $count tokens)"

# No valid answer fits in 3 tokens ({"name":""} needs more): a 400 naming both numbers.
body=$(jq -nc --argjson schema "$SCHEMA" '{model: "stories", max_tokens: 3,
  messages: [{role: "user", content: "hi"}],
  response_format: {type: "json_schema", json_schema: {name: "person", schema: $schema}}}')
code=$(curl -s -o "$tmp/e.json" -w '%{http_code}' "http://$HOST/v1/chat/completions" -d "$body")
[ "$code" = 400 ] || fail "max_tokens 3: HTTP $code: $(cat "$tmp/e.json")"
grep -Eq 'takes [0-9]+ tokens, more than the 3 tokens' "$tmp/e.json" || fail "the 400 does not name both numbers: $(cat "$tmp/e.json")"
echo "budget_json: ok"
