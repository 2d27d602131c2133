// Grammar-constrained decoding as a TokenConstraint: adapts sampling/grammar's matcher to the
// Runner's mask()/accept()/done() calls.
#pragma once

#include <memory>
#include <string_view>

#include "base/result.h"
#include "engine/request.h"
#include "sampling/grammar/grammar.h"
#include "tokenizer/tokenizer.h"

namespace corral {

// The vocabulary trie is built once per tokenizer and cached (see grammar::VocabTrie).
std::shared_ptr<TokenConstraint> make_grammar_constraint(const grammar::Grammar& g, const Tokenizer& tok);
// GBNF text (the `grammar` option); errors name the line and column.
Result<std::shared_ptr<TokenConstraint>> make_gbnf_constraint(std::string_view gbnf, const Tokenizer& tok);
// A JSON Schema's text (key order matters: properties are generated in schema order).
Result<std::shared_ptr<TokenConstraint>> make_schema_constraint(std::string_view schema_json, const Tokenizer& tok);
// Any JSON object (`format: "json"`, `response_format: {type: json_object}`).
std::shared_ptr<TokenConstraint> make_json_object_constraint(const Tokenizer& tok);

}  // namespace corral

namespace corral {

// The constraint an API request body asks for, or nullptr when none: Ollama `format` ("json" or
// a JSON Schema object), OpenAI `response_format` ({"type": "json_object"} or {"type":
// "json_schema", "json_schema": {"schema": {...}, "strict": ...}}), and `grammar` (GBNF text, at
// the top level or under "options"). The body is re-read from its text so that the schema's
// property order (the order of the generated keys) is kept. Errors name the problem (a 400).
Result<std::shared_ptr<TokenConstraint>> constraint_from_request_body(std::string_view body, const Tokenizer& tok);

}  // namespace corral
