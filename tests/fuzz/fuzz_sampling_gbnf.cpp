// libFuzzer target: the GBNF parser on arbitrary text, then the matcher on the same bytes (must
// never hang or crash; a valid grammar is printed and parsed again).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
  // Budgeted masks over a vocabulary of every single byte plus a few longer pieces: walk the
  // cheapest allowed token a few steps with the budget at the bound itself.
  static const auto vocab = [] {
    std::vector<std::string> pieces(1);  // token 0: end of generation
    for (int b = 0; b < 256; ++b) pieces.emplace_back(1, static_cast<char>(b));
    for (const char* p : {"ab", "{\"", "\":", "\"}", "]}", "  ", "\xC3\xA9"}) pieces.emplace_back(p);
    return corral::grammar::VocabTrie::from_pieces(std::move(pieces), {0});
  }();
  auto cg = corral::grammar::CompiledGrammar::compile(*g);
  corral::grammar::GrammarMatcher b(cg, vocab);
  for (int step = 0; step < 8; ++step) {
    const uint32_t need = b.min_tokens_to_accept();
    if (need == 0 || need >= corral::grammar::CompletionCosts::kInf) break;
    const auto& bits = b.allowed_tokens(static_cast<int32_t>(need));
    int32_t pick = -1;
    for (size_t w = 0; w < bits.size() && pick < 0; ++w)
      if (bits[w] & (w == 0 ? ~uint64_t{1} : ~uint64_t{0}))
        pick = static_cast<int32_t>(w * 64) + __builtin_ctzll(bits[w] & (w == 0 ? ~uint64_t{1} : ~uint64_t{0}));
    if (pick < 0 || !b.accept_token(pick)) break;
  }
  return 0;
}
