#!/usr/bin/env bash
# corral generate / tokenize / logits on real files, and a clear error with a non-zero exit for
# each kind of bad input (issue 2's list).
set -uo pipefail
BIN=${CORRAL_BIN:?}
SHARED=${CORRAL_SHARED_DIR:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; pass=0
check() { # name, expected-exit (0|nonzero), pattern, command...
  local name=$1 want=$2 pattern=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if { [ "$want" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want" != 0 ] && [ $rc -eq 0 ]; }; then
    echo "FAIL $name: exit $rc"; echo "$out" | head -5; fail=$((fail+1)); return
  fi
  if ! grep -qF -- "$pattern" <<<"$out"; then
    echo "FAIL $name: output lacks '$pattern'"; echo "$out" | head -5; fail=$((fail+1)); return
  fi
  pass=$((pass+1))
}

story=" Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high"
check "generate: stories260K greedy story" 0 "$story" \
  "$BIN" generate -m "$SHARED/models/stories260K.gguf" -p "" --temperature 0 --repeat-penalty 1 -n 60
check "generate: seeded sampling is repeatable" 0 "" bash -c \
  "a=\$('$BIN' generate -m '$SHARED/models/stories260K.gguf' -p 'Tom' --seed 7 -n 30); b=\$('$BIN' generate -m '$SHARED/models/stories260K.gguf' -p 'Tom' --seed 7 -n 30); [ \"\$a\" = \"\$b\" ] && [ -n \"\$a\" ]"
check "tokenize: SPM ids" 0 "1 403 407 261" \
  "$BIN" tokenize -m "$SHARED/models/stories260K.gguf" "Once upon a"
check "logits: reference JSON shape" 0 '"positions":[{"lse":' \
  "$BIN" logits -m "$SHARED/models/stories260K.gguf" --tokens "1 403" --top 5 --json
# The first step's top logit (403, 17.0235 in the model card).
check "logits: first-step top token" 0 "[403,17.02" \
  "$BIN" logits -m "$SHARED/models/stories260K.gguf" --tokens "1" --top 1 --json

printf 'this is not a model' > "$tmp/not.gguf"
check "non-GGUF file" nonzero "not a GGUF file" "$BIN" generate -m "$tmp/not.gguf" -p hi
check "missing file" nonzero "cannot open" "$BIN" generate -m "$tmp/absent.gguf" -p hi
check "GGUF v1" nonzero "version 1 is obsolete" \
  "$BIN" generate -m "$SHARED/models/tinyllamas-stories-260k-f32.gguf" -p hi
check "row not a multiple of the block" nonzero "not a multiple of the block size 32" \
  "$BIN" generate -m "$SHARED/models/tinyllamas-stories-260k-q8_0.gguf" -p hi
check "vocab-only file (no tensors)" nonzero "missing" \
  "$BIN" generate -m "$SHARED/testdata/tokenizer/ggml-vocab-llama-spm.gguf" -p hi
check "prompt longer than the context" nonzero "longer than the context" \
  "$BIN" generate -m "$SHARED/models/stories260K.gguf" --num-ctx 4 -p "Once upon a time there was a girl"
check "token outside the vocabulary" nonzero "outside the vocabulary" \
  "$BIN" logits -m "$SHARED/models/stories260K.gguf" --tokens "1 9999"
check "token id that is not a number" nonzero "is not a token id" \
  "$BIN" logits -m "$SHARED/models/stories260K.gguf" --tokens "1 x"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
