#!/usr/bin/env bash
# bench/side_by_side.py against stand-in llama-bench programs (the real ones are built outside the
# repository): it passes the same file, threads, sizes and depth to each, reads llama-bench's
# JSON, runs `corral bench` on the same file, and divides corral's speed by the better reference
# for each test; a reference that fails shows as "failed" and the ratio uses the others.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GGUF=$SHARED/models/stories260K.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A stand-in llama-bench: records its arguments, prints results in llama-bench's -o json shape
# with the speeds given in its environment.
cat > "$tmp/fake-bench" <<'EOF'
#!/usr/bin/env python3
import json, os, sys
a = sys.argv[1:]
open(os.environ["ARGS_LOG"], "a").write(" ".join(a) + "\n")
if os.environ.get("FAIL"): sys.exit("error: unknown model architecture")
get = lambda f: a[a.index(f) + 1]
if "-embd" in a:  # embedding mode: one row, the rate of one input of -p tokens per decode
    print(json.dumps([{"model_filename": get("-m"), "n_threads": int(get("-t")), "n_prompt": int(get("-p")),
                       "n_gen": 0, "embeddings": True, "avg_ts": float(os.environ["PP"]) / 10, "stddev_ts": 2.0}]))
    sys.exit(0)
rows = [{"model_filename": get("-m"), "n_threads": int(get("-t")), "n_prompt": int(get("-p")), "n_gen": 0,
         "n_depth": int(get("-d")), "avg_ts": float(os.environ["PP"]), "stddev_ts": 1.5},
        {"model_filename": get("-m"), "n_threads": int(get("-t")), "n_prompt": 0, "n_gen": int(get("-n")),
         "n_depth": int(get("-d")), "avg_ts": float(os.environ["TG"]), "stddev_ts": 0.5}]
print("build: fake\n" + json.dumps(rows, indent=2))
EOF
chmod +x "$tmp/fake-bench"
printf '#!/bin/sh\nARGS_LOG=%s/a.log PP=1000 TG=500 exec %s/fake-bench "$@"\n' "$tmp" "$tmp" > "$tmp/ref-a"
printf '#!/bin/sh\nARGS_LOG=%s/b.log PP=2000 TG=250 exec %s/fake-bench "$@"\n' "$tmp" "$tmp" > "$tmp/ref-b"
printf '#!/bin/sh\nARGS_LOG=%s/c.log FAIL=1 PP=1 TG=1 exec %s/fake-bench "$@"\n' "$tmp" "$tmp" > "$tmp/ref-c"
chmod +x "$tmp"/ref-*

python3 "$ROOT/bench/side_by_side.py" --corral "$BIN" --ref "A=$tmp/ref-a -rtr 1" --ref "B=$tmp/ref-b" \
  --ref "C=$tmp/ref-c" -t 2 -p 16 -n 8 -r 2 -d 8 --json "$tmp/out.json" "$GGUF" > "$tmp/out.md" \
  2> "$tmp/err" || fail "side_by_side: $(cat "$tmp/out.md" "$tmp/err")"
grep -q -- "-rtr 1 -m $GGUF -t 2 -p 16 -n 8 -r 2 -o json -d 8" "$tmp/a.log" || fail "ref A args: $(cat "$tmp/a.log")"
grep -q -- "-m $GGUF -t 2 -p 16 -n 8 -r 2 -o json -d 8" "$tmp/b.log" || fail "ref B args: $(cat "$tmp/b.log")"
grep -q "failed" "$tmp/err" || fail "the failing reference was not reported: $(cat "$tmp/err")"
python3 - "$tmp/out.json" "$tmp/out.md" <<'EOF' || fail "side_by_side output: $(cat "$tmp/out.md")"
import json, sys
j = json.load(open(sys.argv[1]))
md = open(sys.argv[2]).read()
tests = {t["test"]: t for t in j["models"][0]["tests"]}
assert set(tests) == {"pp16 @ d8", "tg8 @ d8"}, tests
pp, tg = tests["pp16 @ d8"], tests["tg8 @ d8"]
assert pp["references"] == {"A": 1000.0, "B": 2000.0, "C": None}, pp
assert tg["references"] == {"A": 500.0, "B": 250.0, "C": None}, tg
assert pp["corral"] > 0 and abs(pp["ratio_to_best"] - pp["corral"] / 2000.0) < 1e-12, pp
assert tg["corral"] > 0 and abs(tg["ratio_to_best"] - tg["corral"] / 500.0) < 1e-12, tg
assert j["limits"]["int8_ops_per_s"] > 0 and j["limits"]["read_bytes_per_s"] > 0, j
row = [l for l in md.splitlines() if "| pp16 @ d8 |" in l][0]
assert "| 1000.00 ± 1.50 | 2000.00 ± 1.50 | failed |" in row and f"| {pp['ratio_to_best']:.2f}× |" in row, row
assert "Limits corral measured in this run" in md, md
print("side_by_side: ok")
EOF

# Embedding mode on the test encoder: each reference runs llama-bench -embd 1 with one input of
# -p tokens per decode; corral runs --embed 1 and --embed 4; both rows divide by the references'
# one-input rate (A: 100 t/s, B: 200 t/s).
ENC=${CORRAL_BINARY_DIR:?}/tests/encoder_models/bert.gguf
rm -f "$tmp"/*.log
python3 "$ROOT/bench/side_by_side.py" --corral "$BIN" --ref "A=$tmp/ref-a" --ref "B=$tmp/ref-b" \
  -t 2 -p 12 -r 2 --embed 4 --json "$tmp/embed.json" "$ENC" > "$tmp/embed.md" 2> "$tmp/err" \
  || fail "side_by_side --embed: $(cat "$tmp/embed.md" "$tmp/err")"
grep -q -- "-m $ENC -t 2 -embd 1 -p 12 -n 0 -b 12 -ub 12 -r 2 -o json" "$tmp/a.log" || fail "ref A embed args: $(cat "$tmp/a.log")"
python3 - "$tmp/embed.json" "$tmp/embed.md" <<'EOF' || fail "side_by_side --embed output: $(cat "$tmp/embed.md")"
import json, sys
j = json.load(open(sys.argv[1]))
md = open(sys.argv[2]).read()
tests = {t["test"]: t for t in j["models"][0]["tests"]}
assert set(tests) == {"embed 1x12", "embed 4x12"}, tests
for t in tests.values():
    assert t["references"] == {"A": 100.0, "B": 200.0} and t["references_test"] == "embed 1x12", t
    assert t["corral"] > 0 and abs(t["ratio_to_best"] - t["corral"] / 200.0) < 1e-12, t
row = [l for l in md.splitlines() if "| embed 4x12 |" in l][0]
assert "| — | — |" in row, row
assert "one input per evaluation" in md and "int8 peak" in md, md
print("side_by_side --embed: ok")
EOF
