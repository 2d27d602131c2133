// JSON Schema -> GBNF: a grammar whose every sentence is a JSON text valid against the schema.
//
// Supported: type (and type arrays, OpenAPI `nullable`), properties/required (emitted in schema
// order; optional properties may be left out), additionalProperties (as llama.cpp: when absent on
// an object with properties, no other keys are generated; `true` or a schema allows extra keys,
// which never repeat a declared key), items/prefixItems, minItems/maxItems, enum, const,
// anyOf/oneOf (as alternatives), allOf (object schemas, merged), $ref into the same document
// ($defs, definitions, any JSON pointer), string minLength/maxLength/pattern/format (date, time,
// date-time, uuid, email), integer and number minimum/maximum/exclusive*. Annotations (title,
// description, examples, default, $comment, ...) are ignored. Every other keyword is an error
// naming it, so a constraint is never silently dropped. The grammar may generate a subset of the
// valid documents (e.g. no exponent in bounded numbers, whitespace limited to one space or a
// newline plus up to four spaces or tabs between tokens).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "sampling/grammar/grammar.h"

namespace corral::grammar {

struct SchemaLimits {
  size_t max_schema_bytes = 256 * 1024;
  size_t max_nodes = 5000;         // subschemas visited (after $ref expansion)
  uint32_t max_depth = 64;         // nesting of subschemas
  uint32_t max_count = 1000;       // maxItems, maxLength, {n,m} in patterns
};

// `schema_json` is the schema's text (parsed with key order kept).
Result<std::string> json_schema_to_gbnf(std::string_view schema_json, const SchemaLimits& limits = {});
Result<std::string> json_value_schema_to_gbnf(const nlohmann::ordered_json& schema, const SchemaLimits& limits = {});
// Converts and parses in one go.
Result<Grammar> json_schema_to_grammar(std::string_view schema_json, const SchemaLimits& limits = {});

// Any JSON object (Ollama's `format: "json"`, OpenAI's `json_object`).
std::string json_object_gbnf();

}  // namespace corral::grammar
