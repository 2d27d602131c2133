// A context-free grammar over Unicode code points and its GBNF (llama.cpp grammar syntax) parser.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace corral::grammar {

// A set of code points: sorted, merged, inclusive ranges (negation is applied at parse time).
struct CharSet {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  bool contains(uint32_t cp) const;
  bool intersects(uint32_t lo, uint32_t hi) const;  // any code point in [lo, hi]
  bool empty() const { return ranges.empty(); }
};

// One element of an alternative: a character from a set, or a reference to a rule.
struct Element {
  enum class Kind : uint8_t { kChars, kRule };
  Kind kind = Kind::kChars;
  uint32_t index = 0;  // into Grammar::charsets (kChars) or Grammar::rules (kRule)
};

struct Rule {
  std::string name;
  std::vector<std::vector<Element>> alternatives;  // an empty alternative matches ""
};

// A validated grammar: every reference resolves, no rule is left-recursive, and the root rule
// derives at least one finite string.
struct Grammar {
  std::vector<Rule> rules;
  std::vector<CharSet> charsets;
  uint32_t root = 0;

  size_t n_elements() const;
};

// Bounds on what a parse may produce, so that no input makes the parser or matcher blow up.
struct GrammarLimits {
  size_t max_source_bytes = 1u << 20;
  size_t max_rules = 20000;          // including rules generated for groups and repetitions
  size_t max_elements = 1u << 20;    // total elements over all alternatives
  uint32_t max_nesting = 64;         // parenthesis depth
  uint32_t max_repeat = 10000;       // m and n of {m,n}
};

// Parses GBNF text: `name ::= alternatives` rules, `|`, `( )`, `* + ? {m} {m,} {m,n}`,
// "literals", [classes] with ranges and ^ negation, `.`, escapes (\n \r \t \\ \" \' \[ \] \xHH
// \uHHHH \UHHHHHHHH), UTF-8 text and # comments. The start rule is `root`. Errors name the line
// and column.
Result<Grammar> parse_gbnf(std::string_view text, const GrammarLimits& limits = {});

// Checks references, left recursion and that `root` derives a finite string.
Status validate_grammar(const Grammar& g);

// Writes the grammar back as GBNF (generated rules included); for debugging and tests.
std::string to_gbnf(const Grammar& g);


}  // namespace corral::grammar
