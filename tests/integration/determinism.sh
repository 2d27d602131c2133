#!/usr/bin/env bash
# Deterministic mode (issue 6, item 4): with a seed (temperature > 0) or temperature 0, a response
# is byte-identical across repeated calls, streaming vs non-streaming, alone vs beside concurrent
# requests of other lengths joining and leaving the batch, cold vs warm prompt cache, and thread
# counts 1, 2 and 3 — on /api/generate and /v1/chat/completions, for a random-weight model with
# the real Phi-3 tokenizer and chat template (make_test_model), for stories260K, and for a
# recurrent model (qwen35: Gated DeltaNet layers, whose prompt cache resumes from state
# checkpoints; server 1 takes them every 64 prompt tokens, server 2 every 1024, server 3 every 16).
# The checks live in determinism_check.py; this script makes the model and runs three servers.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?} SRC=${CORRAL_SOURCE_DIR:?} BUILD=${CORRAL_BINARY_DIR:?}
TOOL=$BUILD/tools/make_test_model
[ -x "$TOOL" ] || { echo "FAIL: $TOOL not built"; exit 1; }
tmp=$(mktemp -d)
pid=
stop_server() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
cleanup() { stop_server; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log (tail)"; tail -20 "$tmp/server.log" 2>/dev/null; exit 1; }

"$TOOL" --arch llama --type q4_K_M --n-embd 256 --n-ff 512 --n-layer 2 --n-head 4 --n-head-kv 2 \
  --vocab "$SHARED/testdata/tokenizer/ggml-vocab-phi-3.gguf" --seed 5 --out "$tmp/phi.gguf" >/dev/null \
  || fail "make_test_model"
# tests/CMakeLists.txt family_args_qwen35: 3 DeltaNet layers and an attention layer.
"$TOOL" --arch qwen35 --vocab "$SHARED/conformance/models/llama-tok512-f32.gguf" --n-embd 256 --n-head 4 \
  --n-head-kv 2 --head-dim 64 --n-ff 512 --n-layer 4 --n-rot 16 --type q8_0 --out "$tmp/qwen35.gguf" >/dev/null \
  || fail "make_test_model qwen35"

B=
start_server() {  # start_server THREADS NUM_PARALLEL CHECKPOINT_INTERVAL: a fresh server with an empty store
  stop_server
  rm -rf "$tmp/models" "$tmp/port"
  CORRAL_MODELS=$tmp/models CORRAL_HOST=127.0.0.1:0 CORRAL_PORT_FILE=$tmp/port \
    CORRAL_MODEL_PATHS="phi=$tmp/phi.gguf,stories=$SHARED/models/stories260K.gguf,qwen35=$tmp/qwen35.gguf" \
    CORRAL_NUM_THREADS=$1 OLLAMA_NUM_PARALLEL=$2 CORRAL_CHECKPOINT_INTERVAL=$3 OLLAMA_KEEP_ALIVE=5m \
    timeout 300 "$BIN" serve >"$tmp/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
  [ -s "$tmp/port" ] || fail "server did not start"
  B=http://127.0.0.1:$(cat "$tmp/port")
}

echo "server 1: CORRAL_NUM_THREADS=2, OLLAMA_NUM_PARALLEL=4, CORRAL_CHECKPOINT_INTERVAL=64 (alone, repeated, streamed, concurrent, warm cache)"
start_server 2 4 64
python3 "$SRC/tests/integration/determinism_check.py" full "$B" "$tmp/ref.json" || fail "server 1"

echo "server 2: CORRAL_NUM_THREADS=1, OLLAMA_NUM_PARALLEL=4, CORRAL_CHECKPOINT_INTERVAL=1024 (cold cache, reverse order)"
start_server 1 4 1024
python3 "$SRC/tests/integration/determinism_check.py" replay "$B" "$tmp/ref.json" || fail "server 2"

echo "server 3: CORRAL_NUM_THREADS=3, OLLAMA_NUM_PARALLEL=1, CORRAL_CHECKPOINT_INTERVAL=16 (rows split three ways, one slot)"
start_server 3 1 16
python3 "$SRC/tests/integration/determinism_check.py" replay "$B" "$tmp/ref.json" || fail "server 3"
stop_server
echo "determinism: ok"
