// A regular-expression subset (JSON Schema `pattern`) as a GBNF expression over JSON string content.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace corral::grammar {

// Supports literals, `.`, classes with ranges/negation/escapes (\d \w \s and their negations,
// \n \t \xHH \uHHHH \u{H...}), groups `( )` and `(?: )`, `|`, `* + ? {n} {n,} {n,m}` (lazy `?`
// accepted), and `^`/`$` at the ends. The result matches whole strings (an unanchored pattern
// gives a subset of its matches). Characters a JSON string must escape are generated escaped.
// Lookarounds, backreferences, word boundaries and \p{..} are errors naming the construct. No
// backtracking is ever involved, so no pattern can make matching slow.
Result<std::string> regex_to_gbnf(std::string_view pattern, uint32_t max_count);

}  // namespace corral::grammar
