// Upper bounds on the tokens from each grammar position to the end of its rule (CompletionCosts).
#include <algorithm>

#include "base/utf8.h"
#include "sampling/grammar/matcher.h"

namespace corral::grammar {

namespace {

uint32_t utf8_length(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// The smallest code point of a set that is a character (surrogates are not), or UINT32_MAX.
uint32_t smallest_char(const CharSet& cs) {
  for (const auto& [lo, hi] : cs.ranges) {
    if (lo > 0x10FFFF) break;
    if (lo < 0xD800 || lo > 0xDFFF) return lo;
    if (hi > 0xDFFF) return 0xE000;
  }
  return UINT32_MAX;
}

uint32_t add(uint32_t a, uint32_t b) { return std::min(a + b, CompletionCosts::kInf); }  // both <= kInf

// For each position that starts a run of single-character elements, the positions one
// vocabulary token can jump to (just past the last element it spells).
struct LiteralJumps {
  std::vector<uint32_t> begin;  // per position + 1 sentinel
  std::vector<uint32_t> to;
};

LiteralJumps literal_jumps(const CompiledGrammar& g, const VocabTrie& v) {
  constexpr size_t kMaxRunBytes = 64;  // longer tokens are rare; the rest of a run costs bytes
  const size_t n_pos = g.elems.size();
  const auto n_nodes = static_cast<uint32_t>(v.byte.size());
  LiteralJumps j;
  j.begin.assign(n_pos + 1, 0);
  auto single = [&](size_t p) -> uint32_t {
    const CompiledGrammar::Elem e = g.elems[p];
    if (e.kind != CompiledGrammar::Kind::kChars) return UINT32_MAX;
    const auto& r = g.charsets[e.index].ranges;
    if (r.size() != 1 || r[0].first != r[0].second || smallest_char(g.charsets[e.index]) == UINT32_MAX) return UINT32_MAX;
    return r[0].first;
  };
  size_t work = 0;
  std::string run;
  std::vector<std::pair<size_t, uint32_t>> ends;  // (bytes of run so far, position after it)
  for (size_t p = 0; p < n_pos; ++p) {
    j.begin[p] = static_cast<uint32_t>(j.to.size());
    if (work > CompletionCosts::kMaxLiteralWork || single(p) == UINT32_MAX) continue;
    run.clear();
    ends.clear();
    for (size_t q = p; q < n_pos && run.size() < kMaxRunBytes; ++q) {
      const uint32_t cp = single(q);
      if (cp == UINT32_MAX) break;
      append_utf8(run, cp);
      ends.emplace_back(run.size(), static_cast<uint32_t>(q + 1));
    }
    // Walk the trie along the run; a node at a character boundary with tokens is a jump.
    uint32_t parent_end = n_nodes, child = 0;
    size_t e = 0;
    for (size_t k = 0; k < run.size(); ++k) {
      const auto b = static_cast<uint8_t>(run[k]);
      while (child < parent_end && v.byte[child] != b) {
        child = v.end[child];
        ++work;
      }
      if (child >= parent_end) break;
      while (e < ends.size() && ends[e].first < k + 1) ++e;
      if (e < ends.size() && ends[e].first == k + 1 && v.tok_begin[child] < v.tok_begin[child + 1])
        j.to.push_back(ends[e].second);
      parent_end = v.end[child];
      child = child + 1;
    }
  }
  j.begin[n_pos] = static_cast<uint32_t>(j.to.size());
  return j;
}

}  // namespace

std::shared_ptr<const CompletionCosts> CompletionCosts::compute(const CompiledGrammar& g, const VocabTrie& vocab) {
  auto c = std::make_shared<CompletionCosts>();
  const size_t n_pos = g.elems.size();
  c->pos.assign(n_pos + 1, kInf);
  c->rule.assign(g.alt_starts.size(), kInf);
  std::vector<uint32_t> char_cost(g.charsets.size());
  for (size_t i = 0; i < g.charsets.size(); ++i) {
    const uint32_t cp = smallest_char(g.charsets[i]);
    char_cost[i] = cp == UINT32_MAX ? kInf : utf8_length(cp);
  }
  for (size_t p = 0; p < n_pos; ++p)
    if (g.elems[p].kind == CompiledGrammar::Kind::kEnd) c->pos[p] = 0;
  const LiteralJumps jumps = literal_jumps(g, vocab);
  // Costs only decrease, and every value is the cost of some real completion, so each pass
  // leaves consistent upper bounds; the passes stop when nothing changes (Bellman-Ford over the
  // rules), or after a cap that only a pathological grammar reaches.
  constexpr int kMaxPasses = 1000;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    bool changed = false;
    for (size_t r = 0; r < g.alt_starts.size(); ++r) {
      for (uint32_t a : g.alt_starts[r]) {
        uint32_t end = a;
        while (g.elems[end].kind != CompiledGrammar::Kind::kEnd) ++end;
        for (uint32_t p = end; p-- > a;) {
          const CompiledGrammar::Elem e = g.elems[p];
          uint32_t cost = add(e.kind == CompiledGrammar::Kind::kChars ? char_cost[e.index] : c->rule[e.index], c->pos[p + 1]);
          for (uint32_t k = jumps.begin[p]; k < jumps.begin[p + 1]; ++k) cost = std::min(cost, add(1, c->pos[jumps.to[k]]));
          c->pos[p] = std::min(c->pos[p], cost);
        }
        if (c->pos[a] < c->rule[r]) {
          c->rule[r] = c->pos[a];
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return c;
}

}  // namespace corral::grammar
