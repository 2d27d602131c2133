#!/usr/bin/env bash
# `corral bench` on an encoder model runs its embedding mode: batches of random texts embedded in
# packed passes, embeddings/s and tokens/s (tokens/s = embeddings/s x tokens per text), one pass
# per batch while a batch fits Encoder::kPassTokens (2048), texts cut to the model's 512
# positions; a cross-encoder is timed through its rank head. (Speeds are not asserted.)
set -euo pipefail
BIN=${CORRAL_BIN:?} BUILD=${CORRAL_BINARY_DIR:?}
E=$BUILD/tests/encoder_models
[ -f "$E/bert.gguf" ] && [ -f "$E/bert-rank.gguf" ] || { echo "SKIP: encoder models not built (target encoder_models)"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

CORRAL_NUM_THREADS=2 timeout 120 "$BIN" bench -m "$E/bert.gguf" --embed-texts 8 --embed-tokens 30 -r 2 --json > "$tmp/a.json" \
  || fail "bench (embedding mode)"
CORRAL_NUM_THREADS=2 timeout 120 "$BIN" bench -m "$E/bert.gguf" --embed-texts 8 --embed-tokens 600 -r 1 --json > "$tmp/b.json" \
  || fail "bench (long texts)"
CORRAL_NUM_THREADS=2 timeout 120 "$BIN" bench -m "$E/bert-rank.gguf" --embed-texts 4 --embed-tokens 20 -r 1 > "$tmp/c.md" \
  || fail "bench (cross-encoder)"
python3 - "$tmp/a.json" "$tmp/b.json" "$tmp/c.md" <<'PY' || fail "bench embedding output: $(cat "$tmp"/*)"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
r = a["results"][0]
assert a["threads"] == 2 and r["test"] == "embed 8x30" and r["texts"] == 8 and r["tokens_per_text"] == 30, a
assert r["embeddings_per_s_mean"] > 0 and abs(r["tokens_per_s_mean"] - 30 * r["embeddings_per_s_mean"]) < 1e-6 * r["tokens_per_s_mean"], r
assert r["passes_per_batch"] == 1, r  # 240 tokens: one packed pass per batch, not 8
r = b["results"][0]
assert r["test"] == "embed 8x512" and r["passes_per_batch"] == 2, r  # cut to 512; 4096 tokens: two passes
md = open(sys.argv[3]).read()
assert "| bert-rank.gguf |" in md and "rank 4x20" in md and "embeddings/s" in md, md
print("bench embedding mode: ok")
PY
echo "bench_embed: ok"
