#!/usr/bin/env bash
# `corral serve` against real clients: curl (status codes, bodies), the npm `ollama` and `openai`
# packages (tests/node/server_clients.mjs, including 64 concurrent streams) and Python requests.
# The model store is a temp dir; stories260K is imported through /api/blobs + /api/create.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?} SRC=${CORRAL_SOURCE_DIR:?}
GGUF=$SHARED/models/stories260K.gguf
source "$(dirname "$0")/lib.sh"

export OLLAMA_NUM_PARALLEL=4 CORRAL_MAX_BODY_BYTES=1048576 OLLAMA_KEEP_ALIVE=5m
export CORRAL_MODEL_PATHS="bypath=$GGUF"
start_server 600
HOST=${B#http://}
echo "server on $B"

expect 200 "Ollama is running" "$B/"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$B/")" = 200 ] || fail "HEAD /"
expect 200 '"version":"' "$B/api/version"
expect 200 '"status":"ok"' "$B/health"

# Import the model through the blob and create APIs.
digest=sha256:$(sha256sum "$GGUF" | cut -d' ' -f1)
expect 404 "" -I "$B/api/blobs/$digest"
expect 400 "digest mismatch" -X POST --data-binary "not the model" "$B/api/blobs/$digest"
expect 201 "" -X POST --data-binary "@$GGUF" "$B/api/blobs/$digest"
expect 200 "" -I "$B/api/blobs/$digest"
# num_predict 256: a request without a limit (the note's snippet below) would otherwise go on,
# shifting the context, up to 10 x num_ctx tokens, as Ollama does.
expect 200 '"status":"success"' -X POST -d "{\"model\":\"stories\",\"files\":{\"stories260K.gguf\":\"$digest\"},\"parameters\":{\"temperature\":0,\"num_predict\":256},\"stream\":false}" "$B/api/create"
expect 200 '"name":"stories:latest"' "$B/api/tags"

# Errors: exact Ollama bodies and statuses.
expect 404 '{"error":"model \"nope\" not found, try pulling it first"}' -d '{"model":"nope","prompt":"x"}' "$B/api/generate"
expect 400 '"error":"' -d '{"model":"stories","prompt":' "$B/api/generate"
expect 400 'model is required' -d '{"prompt":"x"}' "$B/api/generate"
expect 400 'cannot unmarshal' -d '{"model":"stories","prompt":5}' "$B/api/generate"
expect 400 'top_k' -d '{"model":"stories","prompt":"x","options":{"top_k":"many"}}' "$B/api/chat"
head -c 2000000 /dev/zero | tr '\0' 'a' > "$tmp/big"
expect 413 'too large' -d "@$tmp/big" "$B/api/generate"
expect 403 "" -H "Host: evil.example.com" "$B/api/tags"
expect 200 "" -H "Host: localhost:11434" "$B/api/tags"
expect 403 "" -H "Origin: https://evil.example.com" "$B/api/tags"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: http://localhost:3000' "$B/api/chat")" = 204 ] || fail "CORS preflight"
expect 400 '"type":"invalid_request_error"' -d '{"model":"stories","messages":[{"role":"user","content":"x"}],"n":3}' "$B/v1/chat/completions"

# Load, generate (NDJSON shape), unload.
expect 200 '"done_reason":"load"' -d '{"model":"stories"}' "$B/api/generate"
expect 200 '"name":"stories:latest"' "$B/api/ps"
curl -s -d '{"model":"stories","prompt":"Once upon a time","options":{"num_predict":8}}' "$B/api/generate" > "$tmp/stream"
lines=$(wc -l < "$tmp/stream")
[ "$lines" -ge 2 ] || fail "stream has $lines lines"
tail -1 "$tmp/stream" | grep -q '"done":true,"done_reason":"length","context":\[' || fail "final line: $(tail -1 "$tmp/stream")"
head -1 "$tmp/stream" | grep -Eq '^\{"model":"stories:latest","created_at":"[0-9T:.-]+Z","response":".*","done":false\}$' || fail "first line: $(head -1 "$tmp/stream")"
expect 200 '"done":true' -d '{"model":"bypath","prompt":"Once","stream":false,"options":{"num_predict":4}}' "$B/api/generate"
expect 200 'data: [DONE]' -d '{"model":"stories","prompt":"Once","stream":true,"max_tokens":4}' "$B/v1/completions"

# Python requests, exactly the note's call.
python3 "$SRC/tests/integration/server_requests.py" "$HOST" stories || fail "python requests script"

# The npm clients (ollama, openai), including the 64-stream load test.
NODE_DIR=$SRC/tests/node
if [ -d "$NODE_DIR/node_modules/ollama" ] && [ -d "$NODE_DIR/node_modules/openai" ]; then
  (cd "$NODE_DIR" && timeout 300 node server_clients.mjs "$B" stories) || fail "node clients"
else
  echo "SKIP node clients: run scripts/install-deps.sh (npm install in tests/node)"
fi

expect 200 "Ollama is running" "$B/"
expect 200 'corral_requests_total{route="/api/generate"' "$B/metrics"
grep -q 'corral_generated_tokens_total [1-9]' "$tmp/body" || fail "no generated tokens in /metrics"
CORRAL_HOST=$HOST "$BIN" ps > "$tmp/ps" || fail "corral ps"
grep -q '^stories:latest' "$tmp/ps" || fail "corral ps output: $(cat "$tmp/ps")"
CORRAL_HOST=$HOST "$BIN" stop bypath || fail "corral stop"
expect 200 '"done_reason":"unload"' -d '{"model":"stories","keep_alive":0}' "$B/api/generate"
expect 200 '{"models":[]}' "$B/api/ps"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "server_clients: ok"
