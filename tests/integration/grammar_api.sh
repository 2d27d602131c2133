#!/usr/bin/env bash
# Constrained output through `corral serve` on a random-weight model: Ollama `format` (schema and
# "json"), an Ollama `grammar` option, OpenAI `response_format` (json_schema, json_object) and
# `grammar`; outputs are validated with ajv; bad schemas and grammars get a 400 naming the problem;
# the same seed gives the same bytes.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?} SRC=${CORRAL_SOURCE_DIR:?}
GGUF=$SHARED/conformance/models/llama-tok512-Q8_0.gguf
source "$(dirname "$0")/lib.sh"

export CORRAL_MODEL_PATHS="tiny=$GGUF"
start_server 300

post() {  # post PATH BODY -> status; body in $tmp/body
  curl -s -o "$tmp/body" -w '%{http_code}' -H 'Content-Type: application/json' -d "$2" "$B$1"
}
field() { node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const p=process.argv[2].split("."); let v=j; for (const k of p) v=v[/^\d+$/.test(k)?Number(k):k]; process.stdout.write(typeof v==="string"?v:JSON.stringify(v))' "$tmp/body" "$1"; }
validate() {  # validate SCHEMA-JSON TEXT
  printf '%s' "$1" > "$tmp/schema.json"
  node -e 'process.stdout.write(JSON.stringify({seed:0,output:process.argv[1]})+"\n")' "$2" > "$tmp/out.jsonl"
  node "$SRC/tests/node/schema_validate.mjs" "$tmp/schema.json" "$tmp/out.jsonl" >/dev/null || fail "invalid output for $1: $2"
}

SCHEMA='{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer","minimum":0,"maximum":120}},"required":["name","age"]}'
for seed in 1 2 3; do
  st=$(post /api/generate "{\"model\":\"tiny\",\"prompt\":\"Tell me about a person as JSON\",\"raw\":true,\"stream\":false,\"format\":$SCHEMA,\"options\":{\"temperature\":1,\"seed\":$seed,\"num_predict\":400}}")
  [ "$st" = 200 ] || fail "format schema -> $st $(cat "$tmp/body")"
  out=$(field response)
  validate "$SCHEMA" "$out"
  [ "$(field done_reason)" = stop ] || fail "format schema did not stop: $out"
  echo "seed $seed: $out"
done
# Same seed, same bytes.
post /api/generate "{\"model\":\"tiny\",\"prompt\":\"x\",\"raw\":true,\"stream\":false,\"format\":$SCHEMA,\"options\":{\"temperature\":1,\"seed\":7}}" >/dev/null
a=$(field response)
post /api/generate "{\"model\":\"tiny\",\"prompt\":\"x\",\"raw\":true,\"stream\":false,\"format\":$SCHEMA,\"options\":{\"temperature\":1,\"seed\":7}}" >/dev/null
[ "$a" = "$(field response)" ] || fail "same seed gave different outputs"

st=$(post /api/generate '{"model":"tiny","prompt":"x","raw":true,"stream":false,"format":"json","options":{"temperature":1,"seed":3,"num_predict":600}}')
[ "$st" = 200 ] || fail "format json -> $st"
# Unbounded strings from a random model may reach num_predict: then only the start is checked.
if [ "$(field done_reason)" = stop ]; then validate '{"type":"object"}' "$(field response)"
else case "$(field response)" in "{"*) ;; *) fail "format json: '$(field response)'";; esac; fi

st=$(post /api/generate '{"model":"tiny","prompt":"x","raw":true,"stream":false,"options":{"temperature":1,"seed":3,"grammar":"root ::= (\"yes\" | \"no\") \"!\""}}')
[ "$st" = 200 ] || fail "grammar option -> $st $(cat "$tmp/body")"
case "$(field response)" in "yes!"|"no!") ;; *) fail "grammar option gave '$(field response)'";; esac

# OpenAI completions with response_format.
st=$(post /v1/completions "{\"model\":\"tiny\",\"prompt\":\"x\",\"temperature\":1,\"seed\":5,\"max_tokens\":400,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"p\",\"strict\":true,\"schema\":$SCHEMA}}}")
[ "$st" = 200 ] || fail "response_format json_schema -> $st $(cat "$tmp/body")"
validate "$SCHEMA" "$(field choices.0.text)"
st=$(post /v1/completions '{"model":"tiny","prompt":"x","temperature":1,"seed":5,"max_tokens":600,"response_format":{"type":"json_object"}}')
[ "$st" = 200 ] || fail "response_format json_object -> $st"
if [ "$(field choices.0.finish_reason)" = stop ]; then validate '{"type":"object"}' "$(field choices.0.text)"
else case "$(field choices.0.text)" in "{"*) ;; *) fail "json_object: '$(field choices.0.text)'";; esac; fi

# Bad input: a 400 naming the problem.
st=$(post /api/generate '{"model":"tiny","prompt":"x","format":{"type":"number","multipleOf":3}}')
[ "$st" = 400 ] && grep -q multipleOf "$tmp/body" || fail "unsupported keyword -> $st $(cat "$tmp/body")"
st=$(post /api/generate '{"model":"tiny","prompt":"x","options":{"grammar":"root ::= (\"a\""}}')
[ "$st" = 400 ] && grep -q "line 1" "$tmp/body" || fail "bad grammar -> $st $(cat "$tmp/body")"
st=$(post /api/generate '{"model":"tiny","prompt":"x","format":"yaml"}')
[ "$st" = 400 ] || fail "format yaml -> $st"
st=$(post /v1/completions '{"model":"tiny","prompt":"x","response_format":{"type":"json_schema","json_schema":{"schema":{"type":"string","pattern":"(?<=a)b"}}}}')
[ "$st" = 400 ] && grep -q pattern "$tmp/body" || fail "bad pattern -> $st $(cat "$tmp/body")"
echo "grammar_api: ok"
