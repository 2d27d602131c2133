// Jinja lexer: splits template source into text and tag tokens, applying whitespace control
// ({%- -%}), trim_blocks, lstrip_blocks and {% raw %}. Internal to the Jinja parser.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "chat/jinja.h"
#include "chat/jinja_ast.h"

namespace corral::jinja {

struct Token {
  enum class K { kText, kBlockBegin, kBlockEnd, kVarBegin, kVarEnd, kName, kString, kInt, kFloat, kOp, kEof };
  K k = K::kEof;
  std::string text;
  SrcPos pos;
};

// Tokens of `src` (already CRLF-normalised), ending with one kEof token. `name` prefixes errors.
Result<std::vector<Token>> lex_template(std::string src, const std::string& name, const Options& options);

}  // namespace corral::jinja
