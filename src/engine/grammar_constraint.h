// Grammar-constrained decoding as a TokenConstraint: adapts sampling/grammar's matcher to the
// Runner's mask()/accept()/done() calls.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

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

// GBNF text in which each rule named in `slots` is a placeholder: its definition is replaced by
// the grammar of the slot's JSON Schema (the tool-call wrapper of chat/tool_calls.h with each
// tool's parameters). Errors name the slot and the schema problem.
Result<grammar::Grammar> compose_grammar(
    std::string_view gbnf, const std::vector<std::pair<std::string, nlohmann::ordered_json>>& slots);

// Where a deferred constraint starts: after `trigger` appears in the generated text.
struct ConstraintStart {
  std::string trigger;
  bool allow_end = true;  // end of generation allowed before the trigger
};

// `inner` applies only once every trigger of `starts` has appeared, in order (e.g. "</think>":
// a format applies to the answer after the thinking part; "<tool_call>": a tool-call grammar
// applies once the model starts a call). Text of the triggering token after the trigger is fed
// to `inner` when it is a grammar (whitespace it rejects is skipped).
std::shared_ptr<TokenConstraint> defer_constraint(std::shared_ptr<TokenConstraint> inner, const Tokenizer& tok,
                                                  std::vector<ConstraintStart> starts);

}  // namespace corral

namespace corral {

// The constraint an API request body asks for, or nullptr when none: Ollama `format` ("json" or
// a JSON Schema object), OpenAI `response_format` ({"type": "json_object"} or {"type":
// "json_schema", "json_schema": {"schema": {...}, "strict": ...}}), and `grammar` (GBNF text, at
// the top level or under "options"). The body is re-read from its text so that the schema's
// property order (the order of the generated keys) is kept. Errors name the problem (a 400).
Result<std::shared_ptr<TokenConstraint>> constraint_from_request_body(std::string_view body, const Tokenizer& tok);

}  // namespace corral
