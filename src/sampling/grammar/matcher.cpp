// The lazily built grammar DFA, the vocabulary trie and the token mask walk.
#include "sampling/grammar/matcher.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

namespace corral::grammar {

std::shared_ptr<const CompiledGrammar> CompiledGrammar::compile(const Grammar& g) {
  auto cg = std::make_shared<CompiledGrammar>();
  const size_t n = g.rules.size();
  std::vector<char> productive(n, 0);
  auto alt_productive = [&](const std::vector<Element>& a) {
    for (const Element& e : a) {
      if (e.kind == Element::Kind::kChars ? g.charsets[e.index].empty() : !productive[e.index]) return false;
    }
    return true;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n; ++i) {
      if (productive[i]) continue;
      for (const auto& a : g.rules[i].alternatives)
        if (alt_productive(a)) { productive[i] = 1; changed = true; break; }
    }
  }
  cg->alt_starts.resize(n);
  for (size_t r = 0; r < n; ++r) {
    for (const auto& a : g.rules[r].alternatives) {
      if (!alt_productive(a)) continue;
      cg->alt_starts[r].push_back(static_cast<uint32_t>(cg->elems.size()));
      for (const Element& e : a)
        cg->elems.push_back({e.kind == Element::Kind::kChars ? Kind::kChars : Kind::kRule, e.index});
      cg->elems.push_back({Kind::kEnd, 0});
    }
  }
  cg->charsets = g.charsets;
  cg->ascii.resize(g.charsets.size());
  for (size_t c = 0; c < g.charsets.size(); ++c) {
    cg->ascii[c] = {0, 0};
    for (uint32_t cp = 0; cp < 128; ++cp)
      if (g.charsets[c].contains(cp)) cg->ascii[c][cp >> 6] |= uint64_t{1} << (cp & 63);
  }
  cg->root = g.root;
  return cg;
}

std::shared_ptr<const VocabTrie> VocabTrie::build(const Tokenizer& tok) {
  const int32_t n = tok.n_vocab();
  std::vector<std::string> pieces(static_cast<size_t>(n));
  std::vector<int32_t> eog;
  for (int32_t id = 0; id < n; ++id) {
    if (tok.is_eog(id)) eog.push_back(id);
    if (!tok.is_control(id)) pieces[static_cast<size_t>(id)] = tok.token_to_piece(id, false);
  }
  return from_pieces(std::move(pieces), std::move(eog));
}

std::shared_ptr<const VocabTrie> VocabTrie::from_pieces(std::vector<std::string> pieces, std::vector<int32_t> eog) {
  auto t = std::make_shared<VocabTrie>();
  const auto n = static_cast<int32_t>(pieces.size());
  t->n_vocab = n;
  t->eog = std::move(eog);
  t->pieces = std::move(pieces);
  std::vector<int32_t> order;
  order.reserve(static_cast<size_t>(n));
  constexpr size_t kMaxPieceBytes = 4096;  // depth is 16-bit; longer tokens are never allowed
  for (int32_t id = 0; id < n; ++id) {
    std::string& p = t->pieces[static_cast<size_t>(id)];
    if (p.size() > kMaxPieceBytes) p.clear();
    if (!p.empty()) order.push_back(id);
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    const auto& pa = t->pieces[static_cast<size_t>(a)];
    const auto& pb = t->pieces[static_cast<size_t>(b)];
    return pa != pb ? pa < pb : a < b;
  });
  std::vector<uint32_t> path;  // node ids along the current prefix
  const std::string* prev = nullptr;
  for (int32_t id : order) {
    const std::string& p = t->pieces[static_cast<size_t>(id)];
    size_t lcp = 0;
    if (prev) {
      const size_t m = std::min(prev->size(), p.size());
      while (lcp < m && (*prev)[lcp] == p[lcp]) ++lcp;
    }
    while (path.size() > lcp) {
      t->end[path.back()] = static_cast<uint32_t>(t->byte.size());
      path.pop_back();
    }
    for (size_t k = lcp; k < p.size(); ++k) {
      path.push_back(static_cast<uint32_t>(t->byte.size()));
      t->byte.push_back(static_cast<uint8_t>(p[k]));
      t->depth.push_back(static_cast<uint16_t>(k + 1));
      t->end.push_back(0);
      t->tok_begin.push_back(static_cast<uint32_t>(t->tokens.size()));
    }
    t->tokens.push_back(id);  // attaches to the last created node (the node for p)
    prev = &p;
  }
  while (!path.empty()) {
    t->end[path.back()] = static_cast<uint32_t>(t->byte.size());
    path.pop_back();
  }
  t->tok_begin.push_back(static_cast<uint32_t>(t->tokens.size()));
  return t;
}

std::shared_ptr<const VocabTrie> VocabTrie::for_tokenizer(const Tokenizer& tok) {
  // Keyed by address plus a fingerprint of the vocab, in case an address is reused.
  uint64_t fp = static_cast<uint64_t>(tok.n_vocab()) * 0x9E3779B97F4A7C15ull;
  for (int32_t id = 0; id < tok.n_vocab(); id += 61)
    fp = (fp ^ std::hash<std::string>{}(tok.token_text(id))) * 0x100000001B3ull;
  struct Entry {
    const Tokenizer* tok;
    uint64_t fp;
    std::shared_ptr<const VocabTrie> trie;
  };
  static std::mutex mu;
  static std::vector<Entry> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const Entry& e : cache)
      if (e.tok == &tok && e.fp == fp) return e.trie;
  }
  auto trie = build(tok);
  std::lock_guard<std::mutex> lock(mu);
  cache.insert(cache.begin(), Entry{&tok, fp, trie});
  if (cache.size() > 4) cache.pop_back();
  return trie;
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const CompiledGrammar> g, std::shared_ptr<const VocabTrie> vocab,
                               MatcherLimits limits)
    : GrammarMatcher(g, vocab, CompletionCosts::compute(*g, *vocab), limits) {}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const CompiledGrammar> g, std::shared_ptr<const VocabTrie> vocab,
                               std::shared_ptr<const CompletionCosts> costs, MatcherLimits limits)
    : g_(std::move(g)), vocab_(std::move(vocab)), costs_(std::move(costs)), lim_(limits) {
  reset_cache();
  State st;
  for (uint32_t a : g_->alt_starts[g_->root]) expand(a, 0, st.stacks);
  std::sort(st.stacks.begin(), st.stacks.end());
  st.stacks.erase(std::unique(st.stacks.begin(), st.stacks.end()), st.stacks.end());
  cur_ = st.stacks.empty() ? kDead : intern(std::move(st));
}

uint32_t GrammarMatcher::node(uint32_t pos, uint32_t parent) {
  const uint64_t key = (static_cast<uint64_t>(pos) << 32) | parent;
  auto [it, inserted] = node_index_.emplace(key, static_cast<uint32_t>(nodes_.size()));
  if (inserted) {
    nodes_.emplace_back(pos, parent);
    node_cost_.push_back(std::min(costs_->pos[pos] + node_cost_[parent], CompletionCosts::kInf));
  }
  return it->second;
}

// Collects the stacks whose top is a character element, reached from `pos` with `parent`
// below it without consuming anything. A stack that empties is the accepted stack, id 0.
void GrammarMatcher::expand(uint32_t pos, uint32_t parent, std::vector<uint32_t>& out) {
  work_.clear();
  seen_.clear();
  work_.emplace_back(pos, parent);
  size_t steps = 0;
  while (!work_.empty()) {
    auto [p, par] = work_.back();
    work_.pop_back();
    const uint64_t key = (static_cast<uint64_t>(p) << 32) | par;
    if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) continue;
    seen_.push_back(key);
    if (++steps > 100000) {  // cannot happen for a validated grammar; never loop forever
      overflow_ = true;
      return;
    }
    const CompiledGrammar::Elem e = g_->elems[p];
    if (e.kind == CompiledGrammar::Kind::kEnd) {
      if (par == 0) out.push_back(0);
      else work_.push_back(nodes_[par]);
    } else if (e.kind == CompiledGrammar::Kind::kChars) {
      out.push_back(node(p, par));
    } else {
      const uint32_t ret = p + 1;
      // Tail call: a reference at the end of an alternative leaves nothing to return to.
      const uint32_t np = g_->elems[ret].kind == CompiledGrammar::Kind::kEnd ? par : node(ret, par);
      for (uint32_t a : g_->alt_starts[e.index]) work_.emplace_back(a, np);
    }
  }
}

int32_t GrammarMatcher::intern(State st) {
  std::string key(st.stacks.size() * sizeof(uint32_t) + 6, '\0');
  if (!st.stacks.empty()) std::memcpy(key.data(), st.stacks.data(), st.stacks.size() * sizeof(uint32_t));
  char* tail = key.data() + st.stacks.size() * sizeof(uint32_t);
  std::memcpy(tail, &st.partial, 4);
  tail[4] = static_cast<char>(st.remaining);
  tail[5] = static_cast<char>(st.length);
  auto [it, inserted] = state_index_.emplace(std::move(key), static_cast<int32_t>(states_.size()));
  if (inserted) {
    state_cost_.push_back(state_cost(st));
    states_.push_back(std::move(st));
    trans_.resize(trans_.size() + 256, kUnknown);
  }
  return it->second;
}

// The cheapest stack; inside a UTF-8 sequence, the continuation bytes (one token each) and then
// the rest of each stack after its pending character.
uint32_t GrammarMatcher::state_cost(const State& st) const {
  uint32_t best = CompletionCosts::kInf;
  for (uint32_t id : st.stacks) {
    uint32_t c = 0;
    if (id != 0) {
      const auto [pos, parent] = nodes_[id];
      c = st.remaining == 0 ? node_cost_[id] : st.remaining + costs_->pos[pos + 1] + node_cost_[parent];
    }
    best = std::min(best, c);
  }
  return std::min(best, CompletionCosts::kInf);
}

uint32_t GrammarMatcher::min_tokens_to_accept() const {
  return cur_ < 0 ? CompletionCosts::kInf : state_cost_[static_cast<size_t>(cur_)];
}

int32_t GrammarMatcher::step_cp(const std::vector<uint32_t>& stacks, uint32_t cp) {
  State ns;
  for (uint32_t id : stacks) {
    if (id == 0) continue;
    const auto [pos, parent] = nodes_[id];
    if (g_->match(g_->elems[pos].index, cp)) expand(pos + 1, parent, ns.stacks);
  }
  if (ns.stacks.empty() || overflow_) return kDead;
  std::sort(ns.stacks.begin(), ns.stacks.end());
  ns.stacks.erase(std::unique(ns.stacks.begin(), ns.stacks.end()), ns.stacks.end());
  if (ns.stacks.size() > lim_.max_stacks_per_state) {
    overflow_ = true;
    return kDead;
  }
  return intern(std::move(ns));
}

int32_t GrammarMatcher::compute(int32_t s, uint8_t b) {
  const State st = states_[static_cast<size_t>(s)];  // copy: intern() may reallocate
  State ns;
  if (st.remaining == 0) {
    if (b < 0x80) return step_cp(st.stacks, b);
    if (b >= 0xC2 && b <= 0xDF) { ns.partial = b & 0x1Fu; ns.remaining = 1; ns.length = 2; }
    else if (b >= 0xE0 && b <= 0xEF) { ns.partial = b & 0x0Fu; ns.remaining = 2; ns.length = 3; }
    else if (b >= 0xF0 && b <= 0xF4) { ns.partial = b & 0x07u; ns.remaining = 3; ns.length = 4; }
    else return kDead;
  } else {
    if ((b & 0xC0) != 0x80) return kDead;
    ns.partial = (st.partial << 6) | (b & 0x3Fu);
    ns.remaining = static_cast<uint8_t>(st.remaining - 1);
    ns.length = st.length;
    if (ns.remaining == 0) {
      const uint32_t cp = ns.partial;
      const uint32_t min = st.length == 2 ? 0x80 : st.length == 3 ? 0x800 : 0x10000;
      if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kDead;
      return step_cp(st.stacks, cp);
    }
  }
  // Keep only the stacks whose next character can still start with these bytes.
  const unsigned shift = 6u * ns.remaining;
  const uint32_t min = ns.length == 2 ? 0x80 : ns.length == 3 ? 0x800 : 0x10000;
  const uint32_t lo = std::max(ns.partial << shift, min);
  const uint32_t hi = std::min((ns.partial << shift) | ((1u << shift) - 1), 0x10FFFFu);
  if (lo > hi) return kDead;
  for (uint32_t id : st.stacks) {
    if (id == 0) continue;
    // Surrogates (D800-DFFF) are not characters: a prefix that can only lead to one is dead.
    const CharSet& cs = g_->charsets[g_->elems[nodes_[id].first].index];
    const bool alive = (lo < 0xD800 && cs.intersects(lo, std::min(hi, 0xD7FFu))) ||
                       (hi > 0xDFFF && cs.intersects(std::max(lo, 0xE000u), hi));
    if (alive) ns.stacks.push_back(id);
  }
  if (ns.stacks.empty()) return kDead;
  return intern(std::move(ns));
}

void GrammarMatcher::reset_cache() {
  // Rebuilds the caches around the current state (its stacks as position lists).
  std::vector<std::vector<uint32_t>> stacks;
  State cur;
  if (!states_.empty() && cur_ >= 0) {
    cur = states_[static_cast<size_t>(cur_)];
    for (uint32_t id : cur.stacks) {
      std::vector<uint32_t> positions;
      for (uint32_t n = id; n != 0; n = nodes_[n].second) positions.push_back(nodes_[n].first);
      stacks.push_back(std::move(positions));
    }
  }
  nodes_.clear();
  node_index_.clear();
  node_cost_.clear();
  states_.clear();
  state_cost_.clear();
  state_index_.clear();
  trans_.clear();
  masks_.clear();
  mask_order_.clear();
  budget_state_ = -1;
  nodes_.emplace_back(UINT32_MAX, 0);  // id 0: the empty stack
  node_cost_.push_back(0);
  if (stacks.empty()) return;
  State st;
  st.partial = cur.partial;
  st.remaining = cur.remaining;
  st.length = cur.length;
  for (const auto& positions : stacks) {
    uint32_t n = 0;
    for (size_t k = positions.size(); k-- > 0;) n = node(positions[k], n);
    st.stacks.push_back(n);
  }
  std::sort(st.stacks.begin(), st.stacks.end());
  cur_ = intern(std::move(st));
}

void GrammarMatcher::maybe_reset() {
  if (cur_ >= 0 && (states_.size() > lim_.max_states || nodes_.size() > lim_.max_stack_nodes)) reset_cache();
}

bool GrammarMatcher::accept_bytes(std::string_view bytes) {
  maybe_reset();
  for (char c : bytes) {
    if (cur_ < 0) return false;
    cur_ = next(cur_, static_cast<uint8_t>(c));
  }
  return cur_ >= 0;
}

bool GrammarMatcher::accept_token(int32_t token) {
  if (cur_ < 0 || token < 0 || token >= vocab_->n_vocab) {
    cur_ = kDead;
    return false;
  }
  if (std::find(vocab_->eog.begin(), vocab_->eog.end(), token) != vocab_->eog.end()) {
    if (!accepting()) {
      cur_ = kDead;
      return false;
    }
    cur_ = intern(State{{0}, 0, 0, 0});
    return true;
  }
  const std::string& piece = vocab_->pieces[static_cast<size_t>(token)];
  if (piece.empty()) {
    cur_ = kDead;
    return false;
  }
  return accept_bytes(piece);
}

bool GrammarMatcher::accepting() const {
  if (cur_ < 0) return false;
  const State& st = states_[static_cast<size_t>(cur_)];
  return st.remaining == 0 && !st.stacks.empty() && st.stacks[0] == 0;
}

bool GrammarMatcher::finished() const {
  return accepting() && states_[static_cast<size_t>(cur_)].stacks.size() == 1;
}

uint32_t GrammarMatcher::build_mask(std::vector<uint64_t>& bits, uint32_t max_cost, bool* any_token) {
  const VocabTrie& v = *vocab_;
  bits.assign((static_cast<size_t>(v.n_vocab) + 63) / 64, 0);
  bool any = false;
  uint32_t max_seen = 0, min_over = CompletionCosts::kInf;
  if (cur_ >= 0) {
    const size_t n_nodes = v.byte.size();
    walk_states_.resize(4098);
    walk_states_[0] = cur_;
    size_t i = 0;
    while (i < n_nodes) {
      const uint16_t d = v.depth[i];
      const int32_t t = next(walk_states_[d - 1u], v.byte[i]);
      if (t < 0) {
        i = v.end[i];
        continue;
      }
      walk_states_[d] = t;
      if (v.tok_begin[i] < v.tok_begin[i + 1]) {
        // A longer token may end in a cheaper state, so a costly node never prunes its subtree.
        const uint32_t cost = state_cost_[static_cast<size_t>(t)];
        if (cost <= max_cost) {
          max_seen = std::max(max_seen, cost);
          for (uint32_t k = v.tok_begin[i]; k < v.tok_begin[i + 1]; ++k) {
            const auto id = static_cast<uint32_t>(v.tokens[k]);
            bits[id >> 6] |= uint64_t{1} << (id & 63);
          }
          any = true;
        } else {
          min_over = std::min(min_over, cost);
        }
      }
      ++i;
    }
  }
  if (accepting() || !any) {
    for (int32_t id : v.eog) bits[static_cast<uint32_t>(id) >> 6] |= uint64_t{1} << (static_cast<uint32_t>(id) & 63);
  }
  if (any_token) *any_token = any;
  return any ? max_seen : min_over;
}

const std::vector<uint64_t>& GrammarMatcher::allowed_tokens(int32_t tokens_left) {
  maybe_reset();
  auto it = masks_.find(cur_);
  if (it == masks_.end()) {
    Mask m;
    m.max_cost = build_mask(m.bits, CompletionCosts::kInf, nullptr);
    if (mask_order_.size() >= lim_.max_cached_masks) {
      masks_.erase(mask_order_.front());
      mask_order_.erase(mask_order_.begin());
    }
    mask_order_.push_back(cur_);
    it = masks_.emplace(cur_, std::move(m)).first;
  }
  // Every allowed token leaves a complete answer within the budget: nothing to check.
  if (tokens_left < 0 || cur_ < 0 || static_cast<int64_t>(it->second.max_cost) <= int64_t{tokens_left} - 1)
    return it->second.bits;
  budget_forced_ = true;
  if (tokens_left <= 0) {  // nothing more may be generated: only the end, if it is allowed here
    budget_state_ = -1;
    budget_bits_.assign(it->second.bits.size(), 0);
    if (accepting())
      for (int32_t id : vocab_->eog)
        budget_bits_[static_cast<uint32_t>(id) >> 6] |= uint64_t{1} << (static_cast<uint32_t>(id) & 63);
    return budget_bits_;
  }
  const auto limit = static_cast<uint32_t>(tokens_left - 1);
  if (budget_state_ == cur_ && budget_limit_ == limit) return budget_bits_;
  budget_state_ = cur_;
  budget_limit_ = limit;
  bool fit = false;
  const uint32_t closest = build_mask(budget_bits_, limit, &fit);
  // No token keeps the answer within the budget (it was too small from the start): fall back to
  // the tokens that come closest to the end.
  if (!fit && !accepting() && closest < CompletionCosts::kInf) build_mask(budget_bits_, closest, &fit);
  return budget_bits_;
}

void GrammarMatcher::mask_logits(float* logits, int32_t n_vocab, int32_t tokens_left) {
  const std::vector<uint64_t>& bits = allowed_tokens(tokens_left);
  const float neg = -std::numeric_limits<float>::infinity();
  const auto n = static_cast<size_t>(std::max(n_vocab, 0));
  const size_t n_known = std::min(n, static_cast<size_t>(vocab_->n_vocab));
  for (size_t w = 0; w * 64 < n_known; ++w) {
    const uint64_t word = bits[w];
    if (word == ~uint64_t{0}) continue;
    const size_t end = std::min(n_known, w * 64 + 64);
    for (size_t i = w * 64; i < end; ++i)
      if (!((word >> (i & 63)) & 1)) logits[i] = neg;
  }
  for (size_t i = n_known; i < n; ++i) logits[i] = neg;  // padded vocab rows
}

}  // namespace corral::grammar
