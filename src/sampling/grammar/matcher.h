// Pushdown matching of a Grammar over bytes, and the per-step mask of vocabulary tokens that keep
// the output inside the grammar.
//
// A matcher state is the set of grammar stacks reachable after the bytes so far (stacks are
// hash-consed linked lists, so a set is a sorted list of ids) plus any pending partial UTF-8
// sequence. States are interned and their byte transitions filled in lazily, so the matcher is a
// DFA built on demand: after warm-up a token costs one table load per byte. The token mask of a
// state is a walk over a byte trie of the vocabulary that skips every subtree whose prefix is
// dead, and masks are cached per state.
//
// Budgets: every state also knows an upper bound on the tokens still needed to reach an accepting
// state (CompletionCosts), so that with N tokens left the mask keeps only tokens after which a
// complete answer still fits in N-1 tokens, and a constrained answer closes instead of being cut.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sampling/grammar/grammar.h"
#include "tokenizer/tokenizer.h"

namespace corral::grammar {

// The grammar in the flat form the matcher walks: each alternative is a run of elements ended by
// an end marker; a position is an index into `elems`. Alternatives that can never complete
// (they use an unproductive rule or an empty character set) are dropped.
struct CompiledGrammar {
  enum class Kind : uint8_t { kChars, kRule, kEnd };
  struct Elem {
    Kind kind;
    uint32_t index;  // charset or rule
  };
  std::vector<Elem> elems;
  std::vector<std::vector<uint32_t>> alt_starts;  // per rule
  std::vector<CharSet> charsets;
  std::vector<std::array<uint64_t, 2>> ascii;     // per charset: bitmap of code points < 128
  uint32_t root = 0;

  static std::shared_ptr<const CompiledGrammar> compile(const Grammar& g);
  bool match(uint32_t charset, uint32_t cp) const {
    if (cp < 128) return (ascii[charset][cp >> 6] >> (cp & 63)) & 1;
    return charsets[charset].contains(cp);
  }
};

// The vocabulary as a byte trie in preorder: node i covers nodes [i, end[i]); its tokens are
// tokens[tok_begin[i] .. tok_begin[i+1]). Tokens with no bytes (control tokens) are left out;
// end-of-generation tokens are listed separately. Build once per tokenizer and share.
struct VocabTrie {
  int32_t n_vocab = 0;
  std::vector<uint8_t> byte;
  std::vector<uint16_t> depth;  // 1 for a child of the root
  std::vector<uint32_t> end;
  std::vector<uint32_t> tok_begin;  // n_nodes + 1 entries
  std::vector<int32_t> tokens;
  std::vector<std::string> pieces;  // bytes of every token (empty for control tokens)
  std::vector<int32_t> eog;

  static std::shared_ptr<const VocabTrie> build(const Tokenizer& tok);
  // From token bytes (empty for control tokens) and the end-of-generation ids (tests, tools).
  static std::shared_ptr<const VocabTrie> from_pieces(std::vector<std::string> pieces, std::vector<int32_t> eog);
  // Cached per tokenizer object (a few recent ones), since building a 128k trie takes ~50 ms.
  static std::shared_ptr<const VocabTrie> for_tokenizer(const Tokenizer& tok);
};

// Upper bounds, in tokens of one vocabulary, on the shortest completion from every position of a
// CompiledGrammar: a character costs the UTF-8 length of its set's smallest code point (every byte
// has a token in byte-level BPE and byte-fallback vocabularies), and a run of literal characters
// costs the fewest vocabulary tokens that spell it. The bounds are consistent: from a state of
// cost c > 0 some single token leads to a state of cost at most c - 1, which is what lets the
// budgeted mask always close the answer.
struct CompletionCosts {
  static constexpr uint32_t kInf = 1u << 30;
  std::vector<uint32_t> pos;   // per element position: cost from there to the end of its rule
  std::vector<uint32_t> rule;  // per rule: cheapest alternative
  // Work spent looking up literal runs in the trie, capped so a huge grammar stays cheap (then
  // the remaining runs cost one token per byte, still an upper bound).
  static constexpr size_t kMaxLiteralWork = size_t{1} << 22;

  static std::shared_ptr<const CompletionCosts> compute(const CompiledGrammar& g, const VocabTrie& vocab);
  // Cost of the whole grammar (the root rule): the fewest tokens of any complete answer.
  uint32_t root_cost(const CompiledGrammar& g) const { return rule[g.root]; }
};

struct MatcherLimits {
  size_t max_states = 8192;      // interned DFA states before the cache is rebuilt
  size_t max_stack_nodes = 1u << 20;
  size_t max_stacks_per_state = 4096;  // a grammar more ambiguous than this fails to match
  size_t max_cached_masks = 64;
};

class GrammarMatcher {
 public:
  GrammarMatcher(std::shared_ptr<const CompiledGrammar> g, std::shared_ptr<const VocabTrie> vocab,
                 MatcherLimits limits = {});
  // With costs computed once per (grammar, vocabulary) and shared between matchers.
  GrammarMatcher(std::shared_ptr<const CompiledGrammar> g, std::shared_ptr<const VocabTrie> vocab,
                 std::shared_ptr<const CompletionCosts> costs, MatcherLimits limits = {});

  // Feeds bytes; false (and the matcher is stuck) when they leave the grammar.
  bool accept_bytes(std::string_view bytes);
  // Feeds one token; an end-of-generation token finishes the match (false if not accepting).
  bool accept_token(int32_t token);
  // The grammar is complete here (end of generation allowed).
  bool accepting() const;
  // Nothing but the end can follow.
  bool finished() const;
  bool failed() const { return cur_ < 0; }

  // Bit i of the result is set when token i may come next. When no token at all is allowed the
  // end-of-generation tokens are, so that generation stops instead of producing garbage.
  // With tokens_left >= 0 (tokens that may still be generated, this one included) only tokens
  // after which an accepting state is reachable in tokens_left - 1 more tokens are allowed; should
  // none qualify (the budget was already too small), those closest to the end are.
  const std::vector<uint64_t>& allowed_tokens(int32_t tokens_left = -1);
  // Sets the logits of disallowed tokens to -infinity.
  void mask_logits(float* logits, int32_t n_vocab, int32_t tokens_left = -1);

  // Upper bound on the tokens needed from here to an accepting state (0 when accepting;
  // CompletionCosts::kInf when failed).
  uint32_t min_tokens_to_accept() const;
  // A budgeted mask so far removed tokens the grammar alone allowed: the budget shaped the end.
  bool budget_forced() const { return budget_forced_; }
  const CompletionCosts& costs() const { return *costs_; }

  size_t n_states() const { return states_.size(); }

 private:
  struct State {
    std::vector<uint32_t> stacks;  // sorted stack-node ids; 0 is the empty (accepted) stack
    uint32_t partial = 0;          // code point bits of a pending UTF-8 sequence
    uint8_t remaining = 0;         // continuation bytes still expected
    uint8_t length = 0;            // total length of the pending sequence
  };
  static constexpr int32_t kDead = -1;
  static constexpr int32_t kUnknown = -2;

  int32_t next(int32_t s, uint8_t b) {
    const size_t at = static_cast<size_t>(s) * 256 + b;
    int32_t t = trans_[at];
    if (t == kUnknown) {
      t = compute(s, b);  // may grow trans_
      trans_[at] = t;
    }
    return t;
  }
  int32_t compute(int32_t s, uint8_t b);
  int32_t intern(State st);
  uint32_t node(uint32_t pos, uint32_t parent);
  void expand(uint32_t pos, uint32_t parent, std::vector<uint32_t>& out);
  int32_t step_cp(const std::vector<uint32_t>& stacks, uint32_t cp);
  void maybe_reset();
  void reset_cache();
  // Fills bits with the tokens whose end state costs at most max_cost (all live ones when
  // max_cost is kInf); returns the largest end-state cost allowed, or when no token fits the
  // smallest cost over max_cost (any_token says which).
  uint32_t build_mask(std::vector<uint64_t>& bits, uint32_t max_cost, bool* any_token);
  uint32_t state_cost(const State& st) const;

  std::shared_ptr<const CompiledGrammar> g_;
  std::shared_ptr<const VocabTrie> vocab_;
  std::shared_ptr<const CompletionCosts> costs_;
  MatcherLimits lim_;
  std::vector<std::pair<uint32_t, uint32_t>> nodes_;  // (pos, parent)
  std::unordered_map<uint64_t, uint32_t> node_index_;
  std::vector<uint32_t> node_cost_;  // per stack node: cost of the whole stack
  std::vector<State> states_;
  std::vector<uint32_t> state_cost_;  // per state: min_tokens_to_accept
  std::unordered_map<std::string, int32_t> state_index_;
  std::vector<int32_t> trans_;
  int32_t cur_ = 0;
  bool overflow_ = false;
  // Mask cache: state id -> bits and the largest cost of a state they lead to; cleared with the
  // state cache. Budgeted masks are only needed in the last few tokens: one is kept.
  struct Mask {
    std::vector<uint64_t> bits;
    uint32_t max_cost = 0;
  };
  std::unordered_map<int32_t, Mask> masks_;
  std::vector<int32_t> mask_order_;
  std::vector<uint64_t> budget_bits_;
  int32_t budget_state_ = -1;
  uint32_t budget_limit_ = 0;
  bool budget_forced_ = false;
  std::vector<uint64_t> scratch_;
  std::vector<int32_t> walk_states_;
  std::vector<std::pair<uint32_t, uint32_t>> work_;
  std::vector<uint64_t> seen_;
};

}  // namespace corral::grammar
