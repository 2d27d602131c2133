#!/usr/bin/env bash
# `corral bench` on stories260K: the JSON report has pp and tg results with positive speeds, the
# load time, the file size, the KV cache size of the benchmark's context (2 x layers x positions
# x kv_dim x 2 bytes), and resident-memory figures that add up; the markdown report prints the
# load and memory lines; `-d N` runs both tests after N cached positions and the limits carry
# the bandwidth median and spread; `--parallel N` runs N streams in one tg test; `-c N` sizes the context (a recurrent model's
# state does not grow with it); `--embed N` measures an encoder's packed embedding rate; a
# missing file is a clear error. (Speeds are not asserted.)
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?}
GGUF=$SHARED/models/stories260K.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

CORRAL_NUM_THREADS=2 timeout 120 "$BIN" bench -m "$GGUF" -p 16 -n 8 -r 2 --json --no-limits > "$tmp/out.json" \
  || fail "bench --json"
python3 - "$tmp/out.json" "$GGUF" <<'EOF' || fail "bench JSON: $(cat "$tmp/out.json")"
import json, os, sys
j = json.load(open(sys.argv[1]))
tests = {r["test"]: r for r in j["results"]}
assert set(tests) == {"pp16", "tg8"}, tests.keys()
for r in tests.values():
    assert len(r["samples"]) == 2 and all(x > 0 for x in r["samples"]), r
assert j["threads"] == 2, j["threads"]
assert 0 < j["load_s"] < 60 and j["load_includes_tokenizer"] is True, j
assert j["first_forward_s"] > 0 and j["first_forward_tokens"] == 16, j
m = j["memory"]
assert m["file_bytes"] == os.path.getsize(sys.argv[2]), m
# stories260K: 5 layers, 4 KV heads of 8; the context holds p + n = 24 positions; F16 K and V.
assert m["kv_cache_positions"] == 24 and m["kv_cache_bytes"] == 2 * 5 * 24 * 32 * 2, m
assert 0 < m["rss_before_load_bytes"] <= m["rss_after_load_bytes"], m
assert m["rss_after_run_bytes"] > 0
assert abs(m["rss_after_run_file_bytes"] + m["rss_after_run_anon_bytes"] - m["rss_after_run_bytes"]) <= 1 << 20, m
assert abs(m["rss_over_file_plus_kv"] - m["rss_after_run_bytes"] / (m["file_bytes"] + m["kv_cache_bytes"])) < 1e-9, m
print("bench json: ok")
EOF

# At depth: both tests run after 24 cached positions; the limits carry the bandwidth's spread.
CORRAL_NUM_THREADS=2 timeout 300 "$BIN" bench -m "$GGUF" -p 8 -n 4 -r 2 -d 24 --json > "$tmp/deep.json" \
  || fail "bench -d"
python3 - "$tmp/deep.json" <<'EOF' || fail "bench -d JSON: $(cat "$tmp/deep.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert {r["test"] for r in j["results"]} == {"pp8 @ d24", "tg4 @ d24"}, j["results"]
assert j["depth"] == 24 and j["memory"]["kv_cache_positions"] == 24 + 8 + 4, j
l = j["limits"]
assert l["read_samples"] == 10, l  # 5 reads in each of the probes before and after the tests
assert 0 < l["read_bytes_per_s_low"] <= l["read_bytes_per_s"] <= l["read_bytes_per_s_high"], l
assert l["int8_ops_per_s"] > 0, l
print("bench -d json: ok")
EOF

# Streams side by side (--parallel 3): one tg test whose tokens/s counts all three streams, at
# depth (each stream continues the same cached prefix); the KV cache holds three sequences.
CORRAL_NUM_THREADS=2 timeout 300 "$BIN" bench -m "$GGUF" -p 0 -n 4 -r 2 -d 8 --parallel 3 --json --no-limits \
  > "$tmp/par.json" || fail "bench --parallel"
python3 - "$tmp/par.json" <<'EOF' || fail "bench --parallel JSON: $(cat "$tmp/par.json")"
import json, sys
j = json.load(open(sys.argv[1]))
[r] = j["results"]
assert r["test"] == "tg4 x3 @ d8" and j["parallel"] == 3, (r, j["parallel"])
assert len(r["samples"]) == 2 and all(x > 0 for x in r["samples"]), r
assert j["memory"]["kv_cache_positions"] == 8 + 4 and j["memory"]["kv_cache_bytes"] == 3 * 2 * 5 * 12 * 32 * 2, j["memory"]
print("bench --parallel json: ok")
EOF
CORRAL_NUM_THREADS=2 timeout 60 "$BIN" bench -m "$GGUF" -p 0 -n 2 --parallel 0 --no-limits > /dev/null 2>&1 \
  && fail "--parallel 0 accepted"

CORRAL_NUM_THREADS=1 timeout 120 "$BIN" bench -m "$GGUF" -p 8 -n 4 -r 1 --no-limits > "$tmp/out.md" || fail "bench"
grep -q '^| stories260K.gguf | f32 | .* | 1 | pp8 | ' "$tmp/out.md" || fail "no pp8 row: $(cat "$tmp/out.md")"
grep -q '^| stories260K.gguf | f32 | .* | 1 | tg4 | ' "$tmp/out.md" || fail "no tg4 row: $(cat "$tmp/out.md")"
grep -Eq '^Load: [0-9]+ ms \(weights mapped, tokenizer built\); first forward of 8 tokens [0-9]+ ms \(repacks [0-9.]+ MiB for the [a-z0-9]+ kernels' "$tmp/out.md" || fail "no load line: $(cat "$tmp/out.md")"
grep -q '^Memory: file 1.1 MiB, KV cache 0.0 MiB (f16, 12 positions); resident before load' "$tmp/out.md" \
  || fail "no memory line: $(cat "$tmp/out.md")"

# A recurrent model (qwen35 test model: 3 Gated DeltaNet layers, 1 full-attention layer): with a
# context 8x larger (-c) the KV cache of the attention layer grows 8x, the DeltaNet state (and its
# checkpoints) not at all.
QWEN35=${CORRAL_BINARY_DIR:?}/tests/family_models/qwen35-f32.gguf
for c in 1024 8192; do
  CORRAL_NUM_THREADS=2 timeout 300 "$BIN" bench -m "$QWEN35" -p 4 -n 2 -r 1 -c "$c" --json --no-limits \
    > "$tmp/q35-$c.json" || fail "bench -c $c on qwen35"
done
python3 - "$tmp/q35-1024.json" "$tmp/q35-8192.json" <<'EOF' || fail "bench -c: $(cat "$tmp/q35-1024.json" "$tmp/q35-8192.json")"
import json, sys
a, b = (json.load(open(f))["memory"] for f in sys.argv[1:])
assert a["kv_cache_positions"] == 1024 and b["kv_cache_positions"] == 8192, (a, b)
assert a["recurrent_state_bytes"] > 0 and a["recurrent_state_bytes"] == b["recurrent_state_bytes"], (a, b)
assert a["kv_cache_bytes"] > 0 and b["kv_cache_bytes"] == 8 * a["kv_cache_bytes"], (a, b)
print("bench -c qwen35: ok")
EOF
CORRAL_NUM_THREADS=1 timeout 120 "$BIN" bench -m "$QWEN35" -p 4 -n 2 -r 1 -c 64 --no-limits > "$tmp/q35.md" \
  || fail "bench qwen35"
grep -Eq '^Memory: .*\(f16, 64 positions\), recurrent state [0-9.]+ MiB \(with its checkpoints\);' "$tmp/q35.md" \
  || fail "no recurrent state in the memory line: $(cat "$tmp/q35.md")"

# Embedding mode on the test encoder (bert, 64 wide, 512 positions): inputs are packed into
# passes of at most 2,048 tokens, so 8 x 20 is one pass per batch and 8 x 300 two.
ENC=${CORRAL_BINARY_DIR:?}/tests/encoder_models/bert.gguf
for shape in "8 20 1" "8 300 2"; do
  set -- $shape
  CORRAL_NUM_THREADS=2 timeout 300 "$BIN" bench -m "$ENC" --embed "$1" -p "$2" -r 2 --json --no-limits > "$tmp/embed.json" \
    || fail "bench --embed $1 -p $2"
  python3 - "$tmp/embed.json" "$1" "$2" "$3" <<'EOF2' || fail "bench --embed JSON: $(cat "$tmp/embed.json")"
import json, sys
j = json.load(open(sys.argv[1])); batch, n, passes = map(int, sys.argv[2:])
[r] = j["results"]
assert r["test"] == f"embed {batch}x{n}" and r["batch"] == batch and r["tokens_per_input"] == n, r
assert r["passes_per_batch"] == passes, r
assert len(r["samples"]) == 2 and all(x > 0 for x in r["samples"]), r
assert abs(r["tokens_per_s_mean"] - n * r["embeddings_per_s_mean"]) < 1e-6 * r["tokens_per_s_mean"], r
assert [round(t / n, 6) for t in r["token_samples"]] == [round(x, 6) for x in r["samples"]], r
assert j["int8_ops_per_token"] > 0 and j["weight_type"] == "f16", j
EOF2
done
CORRAL_NUM_THREADS=1 timeout 120 "$BIN" bench -m "$ENC" --embed 2 -p 10 -r 1 --no-limits > "$tmp/embed.md" || fail "bench --embed"
grep -q '^| bert.gguf | f16 | .* | 1 | embed 2x10 | ' "$tmp/embed.md" || fail "no embed row: $(cat "$tmp/embed.md")"
if "$BIN" bench -m "$GGUF" --embed 2 -p 10 > "$tmp/err" 2>&1; then fail "--embed on a decoder was accepted"; fi
grep -q "encoder models" "$tmp/err" || fail "--embed on a decoder: $(cat "$tmp/err")"
if "$BIN" bench -m "$ENC" --embed 2 -p 513 > "$tmp/err" 2>&1; then fail "--embed past the positions was accepted"; fi
grep -q "1 to 512 tokens" "$tmp/err" || fail "--embed -p 513: $(cat "$tmp/err")"

if "$BIN" bench -m "$tmp/missing.gguf" -p 4 -n 4 > "$tmp/err" 2>&1; then fail "a missing file was accepted"; fi
grep -q "missing.gguf" "$tmp/err" || fail "the error does not name the file: $(cat "$tmp/err")"
echo "bench_cli: ok"
