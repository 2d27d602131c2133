#!/usr/bin/env bash
# bench/serve_streams.py against `corral serve` (stories260K, OLLAMA_NUM_PARALLEL=4): the JSON
# report has a row per stream count whose token count is the sum of the streams' eval_count, and
# the curve shows continuous batching. Every decode step is stalled 40 ms (test fault hook), so a
# step costs about the same for one stream or four: four streams sharing steps generate well over
# twice one stream's tokens/s in all, while queued streams (no batching) would stay near 1x.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?}
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CORRAL_MODEL_PATHS="stories=$SHARED/models/stories260K.gguf" OLLAMA_NUM_PARALLEL=4
export CORRAL_ENABLE_TEST_HOOKS=1 CORRAL_TEST_FAULTS="stories:stall_ms=40"
start_server 300

python3 "$ROOT/bench/serve_streams.py" --url "$B" --model stories --streams 1,2,4 --num-predict 12 --rounds 1 \
  --json > "$tmp/curve.json" || fail "serve_streams.py"
python3 - "$tmp/curve.json" <<'PY' || fail "curve: $(cat "$tmp/curve.json")"
import json, sys
j = json.load(open(sys.argv[1]))
rows = {r["streams"]: r for r in j["rows"]}
assert sorted(rows) == [1, 2, 4], rows.keys()
for n, r in rows.items():
    [rd] = r["rounds"]
    assert len(rd["eval_counts"]) == n and all(c > 0 for c in rd["eval_counts"]), rd
    assert rd["tokens"] == sum(rd["eval_counts"]) and rd["wall_s"] > 0, rd
    assert abs(r["tokens_per_s"] - rd["tokens"] / rd["wall_s"]) < 1e-6 * r["tokens_per_s"], r
assert rows[1]["vs_one_stream"] == 1.0
assert rows[4]["vs_one_stream"] > 2.5, rows[4]["vs_one_stream"]
print("curve:", {n: round(r["vs_one_stream"], 2) for n, r in rows.items()})
PY
python3 "$ROOT/bench/serve_streams.py" --url "$B" --model stories --streams 1,2 --num-predict 4 --rounds 1 \
  > "$tmp/curve.md" || fail "serve_streams.py markdown"
grep -q '^| 2 | [0-9.]* | ' "$tmp/curve.md" || fail "no row for 2 streams: $(cat "$tmp/curve.md")"
python3 "$ROOT/bench/serve_streams.py" --url "$B" --model nosuchmodel --streams 1 --num-predict 4 --rounds 1 \
  > "$tmp/err.txt" 2>&1 && fail "unknown model accepted"
grep -q "error" "$tmp/err.txt" || fail "no error for an unknown model: $(cat "$tmp/err.txt")"
echo "bench_serve_streams: ok"
