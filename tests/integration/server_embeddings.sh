#!/usr/bin/env bash
# Embedding models through `corral serve`: the random-weight bert encoder of the golden suite
# (build/<preset>/tests/encoder_models/bert.gguf, reference vectors in
# tests/golden/testdata/embeddings/bert.json) over /api/embed, /api/embeddings and
# /v1/embeddings (float and base64, dimensions, truncate), and the 400 a chat or generate
# request to an embedding-only model gets; then the npm ollama and openai clients.
set -euo pipefail
BIN=${CORRAL_BIN:?} SRC=${CORRAL_SOURCE_DIR:?} BUILD=${CORRAL_BINARY_DIR:?}
MODEL=$BUILD/tests/encoder_models/bert.gguf
[ -f "$MODEL" ] || { echo "SKIP: $MODEL not built (target encoder_models)"; exit 0; }
source "$(dirname "$0")/lib.sh"

QWEN=$BUILD/tests/encoder_models/qwen3-embed.gguf
export CORRAL_MODEL_PATHS="minilm=$MODEL,qwen3emb=$QWEN"
start_server 300

# An embedding-only model answers chat and generate with Ollama's 400.
expect 400 '{"error":"\"minilm\" does not support generate"}' -d '{"model":"minilm","prompt":"hi"}' "$B/api/generate"
expect 400 '{"error":"\"minilm\" does not support chat"}' -d '{"model":"minilm","messages":[{"role":"user","content":"hi"}]}' "$B/api/chat"
expect 400 'does not support chat' -d '{"model":"minilm","messages":[{"role":"user","content":"hi"}]}' "$B/v1/chat/completions"

# truncate false and too long: 400 naming the limit (512 positions); true: cut, and answered.
long=$(python3 -c "print(' '.join(['word'] * 600))")
expect 400 'exceeds the context length 512' -d "{\"model\":\"minilm\",\"input\":\"$long\",\"truncate\":false}" "$B/api/embed"
expect 200 '"prompt_eval_count":512' -d "{\"model\":\"minilm\",\"input\":\"$long\"}" "$B/api/embed"

# Values, sizes and norms against the reference engine's vectors (cosine >= 0.99999).
python3 - "$B" "$SRC/tests/golden/testdata/embeddings/bert.json" <<'PY' || fail "embedding values"
import base64, json, math, struct, sys, urllib.request
base, ref_path = sys.argv[1], sys.argv[2]
ref = json.load(open(ref_path))["cases"]
def post(path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
def norm(v): return math.sqrt(sum(x * x for x in v))
def cos(a, b): return sum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))
texts = [c["text"] for c in ref]
r = post("/api/embed", {"model": "minilm", "input": texts})
assert len(r["embeddings"]) == len(texts)
assert r["prompt_eval_count"] == sum(len(c["ids"]) for c in ref), r["prompt_eval_count"]
for v, c in zip(r["embeddings"], ref):
    assert len(v) == 64 and abs(norm(v) - 1) < 1e-5, (len(v), norm(v))
    assert cos(v, c["embedding"]) >= 0.99999, (c["text"], cos(v, c["embedding"]))
one = post("/api/embed", {"model": "minilm", "input": texts[3]})
assert one["embeddings"][0] == r["embeddings"][3], "packed and alone differ"
legacy = post("/api/embeddings", {"model": "minilm", "prompt": texts[1]})
assert max(abs(a - b) for a, b in zip(legacy["embedding"], r["embeddings"][1])) < 1e-6
d = post("/api/embed", {"model": "minilm", "input": texts[1], "dimensions": 16})["embeddings"][0]
cut = r["embeddings"][1][:16]
assert len(d) == 16 and abs(norm(d) - 1) < 1e-5
assert max(abs(a - b / norm(cut)) for a, b in zip(d, cut)) < 1e-6
o = post("/v1/embeddings", {"model": "minilm", "input": texts[:2], "encoding_format": "base64", "dimensions": 32})
assert o["object"] == "list" and o["usage"]["prompt_tokens"] == len(ref[0]["ids"]) + len(ref[1]["ids"])
b = struct.unpack("<32f", base64.b64decode(o["data"][1]["embedding"]))
cut = r["embeddings"][1][:32]
assert max(abs(x - y / norm(cut)) for x, y in zip(b, cut)) < 1e-6
f = post("/v1/embeddings", {"model": "minilm", "input": texts[0]})
assert len(f["data"][0]["embedding"]) == 64 and cos(f["data"][0]["embedding"], ref[0]["embedding"]) >= 0.99999
print("values ok")
PY

# A decoder embedding model (Qwen3-Embedding's layout: qwen3, pooling_type 3, last token)
# against ik_llama.cpp's pooled vectors of the same file.
python3 - "$B" "$SRC/tests/golden/testdata/embeddings/qwen3-embed.json" <<'PY' || fail "qwen3 last-token embedding values"
import json, math, sys, urllib.request
base, ref_path = sys.argv[1], sys.argv[2]
ref = json.load(open(ref_path))["cases"]
req = urllib.request.Request(base + "/api/embed", json.dumps({"model": "qwen3emb", "input": [c["text"] for c in ref]}).encode())
r = json.load(urllib.request.urlopen(req))
norm = lambda v: math.sqrt(sum(x * x for x in v))
assert r["prompt_eval_count"] == sum(len(c["ids"]) for c in ref), r["prompt_eval_count"]
for v, c in zip(r["embeddings"], ref):
    cos = sum(a * b for a, b in zip(v, c["embedding"])) / (norm(v) * norm(c["embedding"]))
    assert len(v) == 256 and abs(norm(v) - 1) < 1e-5 and cos >= 0.99999, (c["text"][:30], len(v), cos)
print("qwen3 values ok")
PY

# Concurrent requests share encoder passes (server/embed_batcher.h) and get the same vectors, bit
# for bit, as the same inputs sent one request at a time.
python3 - "$B" <<'PY' || fail "concurrent /api/embed"
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
base = sys.argv[1]
def embed(inputs):
    req = urllib.request.Request(base + "/api/embed", json.dumps({"model": "minilm", "input": inputs}).encode(),
                                 {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=120))["embeddings"]
requests = [[f"request {i} text {j} " + "word " * (3 * i + j) for j in range(1 + i % 3)] for i in range(12)]
alone = [embed(r) for r in requests]
with ThreadPoolExecutor(12) as pool:
    together = list(pool.map(embed, requests))
for i, (a, b) in enumerate(zip(alone, together)):
    assert a == b, (i, "differs when sent concurrently")
print("concurrent embed: 12 requests, same vectors as one at a time")
PY

NODE_DIR=$SRC/tests/node
if [ -d "$NODE_DIR/node_modules/ollama" ] && [ -d "$NODE_DIR/node_modules/openai" ]; then
  (cd "$NODE_DIR" && timeout 120 node server_embeddings.mjs "$B" minilm "$SRC/tests/golden/testdata/embeddings/bert.json") || fail "node clients"
else
  echo "SKIP node clients: run scripts/install-deps.sh (npm install in tests/node)"
fi
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "server_embeddings: ok"
