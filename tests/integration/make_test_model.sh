#!/usr/bin/env bash
# make_test_model end to end: every architecture in several tensor types is written, then loaded
# by the engine (`corral logits`), which must give finite logits for both the batched and the
# one-token path; the same seed gives the same bytes; an impossible shape is refused cleanly.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_BINARY_DIR:?}"
BIN=$(realpath "$CORRAL_BIN")
TOOL="$CORRAL_BINARY_DIR/tools/make_test_model"
[ -x "$TOOL" ] || { echo "FAIL: $TOOL not built" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

SHAPE="--n-embd 256 --n-ff 512 --n-layer 2 --n-head 4 --n-head-kv 2 --n-vocab 300"
n=0
for spec in "llama f32" "llama q4_K" "llama q8_0 --llama3-rope --tied" "qwen2 f16" "qwen2 q5_1" \
            "qwen3 bf16" "qwen3 q6_K" "qwen3 q2_K" "qwen2 q4_K_M"; do
  set -- $spec
  arch=$1; type=$2; shift 2
  f="$T/$arch-$type.gguf"
  timeout 120 "$TOOL" --arch "$arch" --type "$type" $SHAPE "$@" --seed 3 --out "$f" >/dev/null \
    || fail "make_test_model $spec"
  for mode in "" "--one-token"; do
    out=$(timeout 120 "$BIN" logits -m "$f" --tokens "1 7 42 299" --top 3 --json $mode) \
      || fail "corral logits on $spec $mode"
    grep -q '"positions"' <<<"$out" || fail "no positions for $spec: $out"
    [ "$(grep -o '"lse"' <<<"$out" | wc -l)" -eq 4 ] || fail "expected 4 positions for $spec: $out"
    if grep -qiE 'nan|inf' <<<"$out"; then fail "non-finite logits for $spec: $out"; fi
  done
  n=$((n + 1))
done

# Same seed, same bytes.
"$TOOL" --arch qwen2 --type q4_0 $SHAPE --seed 9 --out "$T/a.gguf" >/dev/null
"$TOOL" --arch qwen2 --type q4_0 $SHAPE --seed 9 --out "$T/b.gguf" >/dev/null
cmp -s "$T/a.gguf" "$T/b.gguf" || fail "same seed gave different files"

# The tool refuses impossible shapes and leaves nothing behind.
if out=$("$TOOL" --type q4_K --n-embd 128 --n-head 4 --n-head-kv 2 --out "$T/bad.gguf" 2>&1); then
  fail "q4_K with rows of 128 was accepted"
fi
grep -qF "multiples of 256" <<<"$out" || fail "unclear error: $out"
[ ! -e "$T/bad.gguf" ] || fail "a refused model left a file"

echo "ok: $n generated models load and give finite logits"
