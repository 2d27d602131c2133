#!/usr/bin/env bash
# `corral probe` against a real `corral serve` with stories260K: the run completes, the server's
# durations sit beside the client's clock, and a fixed seed gives identical outputs (corral is
# deterministic), gated through suite thresholds.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SHARED_DIR:?}"
GGUF=$CORRAL_SHARED_DIR/models/stories260K.gguf
[ -f "$GGUF" ] || { echo "no $GGUF: skipping"; exit 0; }
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
CORRAL_MODELS=$tmp/models CORRAL_HOST=127.0.0.1:0 CORRAL_PORT_FILE=$tmp/port \
  CORRAL_MODEL_PATHS="stories=$GGUF" timeout 300 "$CORRAL_BIN" serve > "$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "server did not start"; cat "$tmp/server.log"; exit 1; }
B=http://127.0.0.1:$(cat "$tmp/port")
cat > "$tmp/suite.json" <<'JSON'
{"name": "corral serve smoke",
 "experiments": [
  {"kind": "latency", "prompts": ["Once upon a time", "Once upon a time there was a little girl who liked to play in the park with her dog"], "runs": 3, "concurrency": 2, "num_predict": 16},
  {"kind": "variation", "prompt": "Once upon a time", "runs": 3, "seed": 7, "num_predict": 16},
  {"kind": "structure", "prompt": "Give me a JSON object with name and age.", "fields": ["name", "age"], "runs": 2, "num_predict": 48}
 ],
 "thresholds": ["seeded_identical == 1", "failed_requests == 0"]}
JSON
for api in ollama openai; do
  timeout 240 "$CORRAL_BIN" probe stories --api $api --host "$B" --suite "$tmp/suite.json" --json -q > "$tmp/$api.json" \
    || { echo "probe --api $api failed"; tail -20 "$tmp/server.log"; exit 1; }
  python3 - "$tmp/$api.json" "$api" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
api = sys.argv[2]
assert r["passed"] and not r["partial"], r["thresholds"]
m = r["metrics"]
assert m["seeded_identical"] == 1 and m["requests"] == 5 + 6 + 4
for c in r["latency"]["sequential"]:
    assert c["ok"] and c["tokens"] > 0 and c["ttft_ms"] <= c["total_ms"]
    if api == "ollama":  # the server's own clock never exceeds the client's
        assert 0 < c["server"]["total_ms"] <= c["total_ms"] + 1, c
print(api, "ok: median total", round(m["median_total_ms"], 1), "ms, seeded identical")
PY
done
echo "probe_serve: ok"
