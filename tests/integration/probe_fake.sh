#!/usr/bin/env bash
# `corral probe` against tests/integration/probe_fake_server.py, which injects known delays, HTTP
# errors, prosey/unparseable JSON and a dying server: every number and verdict is checked against
# what was injected; then the HTML report is rendered by headless Chromium when it is installed.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SOURCE_DIR:?}"
HERE="$CORRAL_SOURCE_DIR/tests/integration"
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

start_server() {  # start_server NAME [args...]; sets PORT
  local name=$1; shift
  python3 "$HERE/probe_fake_server.py" "$@" > "$WORK/$name.port" 2>"$WORK/$name.log" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
  PORT=$(head -1 "$WORK/$name.port")
}

cat > "$WORK/suite.json" <<'JSON'
{"name": "fake-server suite",
 "experiments": [
  {"kind": "latency", "prompts": ["short prompt", "a much longer prompt, padded out so that the prefill delay it gets is clearly longer than the short one: 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789"], "runs": 4, "concurrency": 3, "num_predict": 5},
  {"kind": "variation", "prompt": "Write one sentence about a cat.", "runs": 4, "seed": 42},
  {"kind": "structure", "prompt": "Give me a JSON object with name and age.", "fields": ["name", "age"], "runs": 4},
  {"kind": "vagueness", "prompts": ["Judge whether this plan is reasonable.", "Is this approach good enough for production?", "Fix the bug in my function."]}
 ],
 "thresholds": ["schema_valid == 1.0", "seeded_identical == 1", "p95_total_ms < 1"]}
JSON

echo "== ollama API: numbers and verdicts"
start_server main
set +e
"$CORRAL_BIN" probe fake --host "http://127.0.0.1:$PORT" --suite "$WORK/suite.json" --report "$WORK/rep" -q > "$WORK/out.txt" 2>"$WORK/err.txt"
rc=$?
set -e
cat "$WORK/out.txt"
[ "$rc" = 1 ] || { echo "expected exit 1 (p95_total_ms < 1 violated), got $rc"; cat "$WORK/err.txt"; exit 1; }
grep -q "FAIL  p95_total_ms < 1" "$WORK/out.txt"
grep -q "PASS  schema_valid == 1.0" "$WORK/out.txt"
python3 - "$WORK/rep/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["metrics"]
def near(name, got, want, tol):
    assert abs(got - want) <= tol, f"{name}: got {got}, want {want} +- {tol}"
    print(f"ok {name} = {got:.1f} (want {want:.1f} +- {tol})")
def exact(name, want):
    assert m[name] == want, f"{name}: got {m[name]}, want {want}"
    print(f"ok {name} == {want}")
LOAD, TOK = 300, 10
prefill = lambda p: 20 + 0.1 * len(p)
seq = r["latency"]["sequential"]
assert len(seq) == 4 and all(c["ok"] for c in seq)
# Cold: load + prefill before the first token; server's load_duration is exactly the injected one.
near("cold ttft", seq[0]["ttft_ms"], LOAD + prefill(seq[0]["prompt"]), 60)
assert seq[0]["server"]["load_ms"] == LOAD
for i, c in enumerate(seq):
    near(f"call {i} ttft", c["ttft_ms"], (LOAD if i == 0 else 0) + prefill(c["prompt"]), 60)
    near(f"call {i} total", c["total_ms"], (LOAD if i == 0 else 0) + prefill(c["prompt"]) + 4 * TOK, 80)
    assert c["tokens"] == 5
    assert abs(c["server"]["prompt_eval_ms"] - prefill(c["prompt"])) < 1e-6
    near(f"call {i} queue", c["queue_ms"], 0, 40)
near("median tokens/s", m["median_tokens_per_s"], 1000 / TOK, 35)
near("cold_total_ms", m["cold_total_ms"], LOAD + prefill(seq[0]["prompt"]) + 4 * TOK, 80)
assert m["cold_total_ms"] > m["warm_median_total_ms"] + 200
# The long prompt's TTFT exceeds the short one's by the injected prefill difference.
near("ttft slope", seq[1]["ttft_ms"] - seq[2]["ttft_ms"], prefill(seq[1]["prompt"]) - prefill(seq[2]["prompt"]), 40)
# Concurrency 3 on a one-at-a-time server: the queue grows by one service time per place.
conc = r["latency"]["concurrent"]
assert len(conc) == 3 and all(c["ok"] for c in conc)
# Each call waits for the service time (prefill + eval, on the server's clock) of those before it.
order = sorted(conc, key=lambda c: c["queue_ms"])
waited = 0.0
for k, c in enumerate(order):
    near(f"concurrent queue #{k}", c["queue_ms"], waited, 50)
    waited += c["server"]["prompt_eval_ms"] + c["server"]["eval_ms"]
service = prefill(conc[0]["prompt"]) + 4 * TOK
near("concurrent_median_queue_ms", m["concurrent_median_queue_ms"], service, 70)
# Variation: 4 distinct outputs; edit distances equal a reference Levenshtein; seeded identical.
def lev(a, b):
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, row[j] = row[j], cur
    return row[-1]
texts = [c["text"] for c in r["variation"]["free"]]
exact("distinct_outputs", 4)
exact("seeded_identical", 1)
exact("seeded_distinct_outputs", 1)
D = r["variation"]["edit_distance"]
pairs = [(a, b) for a in range(4) for b in range(a + 1, 4)]
for a, b in pairs:
    assert D[a][b] == lev(texts[a], texts[b]) == D[b][a]
assert abs(m["mean_edit_distance"] - sum(D[a][b] for a, b in pairs) / len(pairs)) < 1e-9
# Structure: valid, prose-wrapped, extra field, unparseable -> exact fractions.
exact("free_parse_rate", 0.5)
exact("free_exact_fields_rate", 0.5)
exact("free_prose_rate", 0.5)
exact("free_valid_rate", 0.25)
exact("schema_valid", 1.0)
exact("schema_prose_rate", 0.0)
v = r["structure"]["free_verdicts"]
assert [x["valid"] for x in v] == [True, False, False, False]
assert [x["prose"] for x in v] == [False, True, False, True]
# Vagueness heuristics: one answer of each kind.
got = {a["prompt"]: a["verdict"] for a in r["vagueness"]}
assert got == {"Judge whether this plan is reasonable.": "asks_clarification",
               "Is this approach good enough for production?": "states_assumptions",
               "Fix the bug in my function.": "invents_context"}, got
assert all(a["judged_by"] == "heuristics" for a in r["vagueness"])
exact("failed_requests", 0)
assert r["partial"] is False and r["passed"] is False
th = {t["threshold"]: t["passed"] for t in r["thresholds"]}
assert th == {"schema_valid == 1.0": True, "seeded_identical == 1": True, "p95_total_ms < 1": False}, th
print("report.json checks passed")
PY
HTML="$WORK/rep/report.html"
for id in plot-histogram plot-timeline plot-ttft plot-variation plot-validity; do
  grep -q "<svg id=\"$id\"" "$HTML" || { echo "missing SVG $id"; exit 1; }
done
[ "$(grep -o '<rect class="cell"' "$HTML" | wc -l)" = 16 ] || { echo "variation matrix is not 4x4"; exit 1; }
if grep -Eq '(src|href)="https?://' "$HTML"; then echo "report references the network"; exit 1; fi

echo "== --json and --judge"
"$CORRAL_BIN" probe fake --host "127.0.0.1:$PORT" --suite <(sed 's/, "p95_total_ms < 1"//' "$WORK/suite.json") --judge judge --json -q > "$WORK/judge.json"
python3 - "$WORK/judge.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["passed"] is True
assert all(a["judged_by"] == "judge" and a["verdict"] == "states_assumptions" for a in r["vagueness"]), r["vagueness"]
assert r["metrics"]["states_assumptions_rate"] == 1.0
print("judge verdicts used")
PY

echo "== OpenAI API (SSE)"
"$CORRAL_BIN" probe fake --api openai --host "http://127.0.0.1:$PORT" --suite <(sed 's/, "p95_total_ms < 1"//' "$WORK/suite.json") --json -q > "$WORK/openai.json"
python3 - "$WORK/openai.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["metrics"]
assert r["passed"] is True and m["failed_requests"] == 0
assert m["free_valid_rate"] == 0.25 and m["schema_valid"] == 1.0 and m["seeded_identical"] == 1
assert all(c["tokens"] == 5 for c in r["latency"]["sequential"])
assert r["latency"]["sequential"][0]["server"]["load_ms"] is None  # OpenAI API has no durations
print("openai checks passed")
PY
kill "${PIDS[0]}"

echo "== HTTP errors: every 3rd generation fails"
start_server flaky --fail-every 3
set +e
"$CORRAL_BIN" probe fake --host "http://127.0.0.1:$PORT" --suite <(sed 's/, "p95_total_ms < 1"//; s/"concurrency": 3/"concurrency": 1/' "$WORK/suite.json") --json -q > "$WORK/flaky.json"
rc=$?
set -e
python3 - "$WORK/flaky.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["metrics"]
seq = r["latency"]["sequential"]
assert [c["ok"] for c in seq] == [True, True, False, True], [c["ok"] for c in seq]
assert seq[2]["error"] == "HTTP 500: injected failure" and seq[2]["http_status"] == 500
assert m["failed_requests"] >= 1 and r["partial"] is False
print(f"flaky: {m['failed_requests']:.0f} of {m['requests']:.0f} failed, error_rate {m['error_rate']:.3f}")
PY

echo "== server dies mid-run: partial report"
start_server dying --die-after 3
set +e
"$CORRAL_BIN" probe fake --host "http://127.0.0.1:$PORT" --suite "$WORK/suite.json" --report "$WORK/partial" -q > /dev/null 2>"$WORK/partial.err"
rc=$?
set -e
[ "$rc" = 2 ] || { echo "expected exit 2 for a partial run, got $rc"; exit 1; }
grep -q "partial run" "$WORK/partial.err"
python3 - "$WORK/partial/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["partial"] is True, r
ok = [c for c in r["latency"]["sequential"] + r["latency"]["concurrent"] if c["ok"]]
assert len(ok) == 3, len(ok)
assert "server" in r["stop_reason"] or "failed" in r["stop_reason"], r["stop_reason"]
print("partial:", r["stop_reason"])
PY
grep -q "Partial run" "$WORK/partial/report.html"

echo "== unreachable server, unknown model, bad suite"
start_server last
set +e
"$CORRAL_BIN" probe fake --host http://127.0.0.1:1 -q > /dev/null 2>"$WORK/e1"; rc1=$?
"$CORRAL_BIN" probe nosuchmodel --host "http://127.0.0.1:$PORT" -q > /dev/null 2>"$WORK/e2"; rc2=$?
"$CORRAL_BIN" probe nosuchmodel --api openai --host "http://127.0.0.1:$PORT" -q > /dev/null 2>"$WORK/e3"; rc3=$?
echo '{"experiments": [{"kind": "latency", "prompt": "x", "runs": -2}]}' > "$WORK/bad.json"
"$CORRAL_BIN" probe fake --host "http://127.0.0.1:$PORT" --suite "$WORK/bad.json" -q > /dev/null 2>"$WORK/e4"; rc4=$?
set -e
cat "$WORK/e1" "$WORK/e2" "$WORK/e3" "$WORK/e4"
[ "$rc1" = 2 ] && grep -q "cannot reach http://127.0.0.1:1" "$WORK/e1"
[ "$rc2" = 2 ] && grep -q "model 'nosuchmodel' not found" "$WORK/e2"
[ "$rc3" = 2 ] && grep -q "model 'nosuchmodel' not found" "$WORK/e3"
[ "$rc4" = 2 ] && grep -q "bad.json: experiments\[0\].runs: expected a positive integer" "$WORK/e4"

echo "== headless Chromium renders the report"
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
  echo "chromium not installed (scripts/install-deps.sh installs it): skipping the screenshot"
  exit 0
fi
PROFILE=$(mktemp -d)
SHOT="$WORK/report.png"
timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$PROFILE" \
  --screenshot="$SHOT" --window-size=1200,2000 "file://$HTML" > "$WORK/chrome.log" 2>&1 || true
rm -rf "$PROFILE"
[ -f "$SHOT" ] || { echo "no screenshot"; cat "$WORK/chrome.log"; exit 1; }
size=$(stat -c %s "$SHOT")
echo "screenshot: $size bytes"
[ "$size" -gt 20000 ] || { echo "screenshot too small to hold plots"; exit 1; }
python3 - "$SHOT" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", d[16:24])
assert (w, h) == (1200, 2000), (w, h)
print("png", w, h)
PY
if [ -n "${CORRAL_PROBE_SCREENSHOT:-}" ]; then cp "$SHOT" "$CORRAL_PROBE_SCREENSHOT"; fi
echo "probe_fake: all checks passed"
