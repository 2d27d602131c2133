// libFuzzer target: the GBNF parser on arbitrary text, then the matcher on the same bytes (must
// never hang or crash; a valid grammar is printed and parsed again).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sampling/grammar/grammar.h"
#include "sampling/grammar/matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  corral::grammar::GrammarLimits lim;
  lim.max_rules = 2000;
  lim.max_elements = 20000;
  lim.max_repeat = 200;
  auto g = corral::grammar::parse_gbnf(text, lim);
  if (!g.ok()) return 0;
  auto again = corral::grammar::parse_gbnf(corral::grammar::to_gbnf(*g));
  if (!again.ok()) __builtin_trap();
  corral::grammar::GrammarMatcher m(corral::grammar::CompiledGrammar::compile(*g),
                                    std::make_shared<corral::grammar::VocabTrie>());
  (void)m.accept_bytes(text.substr(0, 256));
  (void)m.accepting();
  return 0;
}
