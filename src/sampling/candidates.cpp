// The steps of the sampler chain on a candidate list. Semantics follow llama.cpp's samplers
// (penalties, top_k, typical, top_p, min_p, temp); probabilities are double and use portable
// exp/log so that every machine computes the same numbers.
#include "sampling/candidates.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

#include "sampling/portable_math.h"

namespace corral {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

inline float clean(float x) { return std::isnan(x) ? kNegInf : x; }
// The running max m stays when v is NaN; compiles to a vector max.
inline float max_ignoring_nan(float m, float v) { return v > m ? v : m; }

// Max of n floats (NaN ignored, -inf if none) with 8 independent lanes, which the compiler
// turns into vector max instructions even at -O2; max is exact, so lanes change no result.
float max_of(const float* p, int32_t n) {
  float lane[8];
  for (float& l : lane) l = kNegInf;
  int32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int32_t j = 0; j < 8; ++j) lane[j] = max_ignoring_nan(lane[j], p[i + j]);
  }
  float m = kNegInf;
  for (; i < n; ++i) m = max_ignoring_nan(m, p[i]);
  for (const float l : lane) m = max_ignoring_nan(m, l);
  return m;
}

}  // namespace

void candidates_from_logits(const float* logits, int32_t n_vocab, CandidateList& out) {
  out.items.resize(static_cast<size_t>(n_vocab));
  for (int32_t i = 0; i < n_vocab; ++i) out.items[static_cast<size_t>(i)] = {i, clean(logits[i])};
  out.sorted = false;
}

void select_top_k(const float* logits, int32_t n_vocab, int32_t k, CandidateList& out) {
  if (k <= 0 || k >= n_vocab) {
    candidates_from_logits(logits, n_vocab, out);
    return;
  }
  // Heap of the k best seen so far, worst at the front (candidate_before acts as "less").
  auto& h = out.items;
  h.clear();
  h.reserve(static_cast<size_t>(k));
  for (int32_t i = 0; i < k; ++i) h.push_back({i, clean(logits[i])});
  std::make_heap(h.begin(), h.end(), candidate_before);
  // Later ids lose ties, so only a strictly larger logit can enter (NaN never compares larger).
  // Whole blocks below the current k-th best are skipped with one vectorisable max.
  constexpr int32_t kBlock = 32;
  auto offer = [&](int32_t i) {
    const float v = logits[i];
    if (!(v > h.front().logit)) return;
    std::pop_heap(h.begin(), h.end(), candidate_before);
    h.back() = {i, v};
    std::push_heap(h.begin(), h.end(), candidate_before);
  };
  int32_t i = k;
  for (; i + kBlock <= n_vocab; i += kBlock) {
    if (!(max_of(logits + i, kBlock) > h.front().logit)) continue;
    for (int32_t j = 0; j < kBlock; ++j) offer(i + j);
  }
  for (; i < n_vocab; ++i) offer(i);
  std::sort_heap(h.begin(), h.end(), candidate_before);
  out.sorted = true;
}

void apply_penalties(float* logits, int32_t n_vocab, std::span<const int32_t> window,
                     const SamplingParams& params, std::vector<int32_t>& counts_scratch) {
  if (window.empty()) return;
  if (params.repeat_penalty == 1.0f && params.frequency_penalty == 0.0f &&
      params.presence_penalty == 0.0f) {
    return;
  }
  assert(counts_scratch.size() >= static_cast<size_t>(n_vocab));
  for (const int32_t t : window) {
    if (t >= 0 && t < n_vocab) ++counts_scratch[static_cast<size_t>(t)];
  }
  for (const int32_t t : window) {
    if (t < 0 || t >= n_vocab) continue;
    int32_t& count = counts_scratch[static_cast<size_t>(t)];
    if (count == 0) continue;  // already applied for an earlier occurrence
    float& l = logits[t];
    if (params.repeat_penalty != 1.0f) {
      l = l <= 0.0f ? l * params.repeat_penalty : l / params.repeat_penalty;
    }
    l -= static_cast<float>(count) * params.frequency_penalty + params.presence_penalty;
    count = 0;
  }
}

void sort_candidates(CandidateList& c) {
  if (c.sorted) return;
  std::sort(c.items.begin(), c.items.end(), candidate_before);
  c.sorted = true;
}

void apply_top_k(CandidateList& c, int32_t k) {
  if (k <= 0) return;
  const size_t kk = std::min(static_cast<size_t>(k), c.items.size());
  if (!c.sorted) {
    std::partial_sort(c.items.begin(), c.items.begin() + static_cast<ptrdiff_t>(kk), c.items.end(),
                      candidate_before);
  }
  c.items.resize(kk);
  c.sorted = true;
}

bool softmax_candidates(const CandidateList& c, std::vector<double>& probs, float temperature) {
  probs.assign(c.items.size(), 0.0);
  if (c.items.empty()) return false;
  float max_logit = kNegInf;
  for (const auto& it : c.items) max_logit = std::max(max_logit, it.logit);
  if (max_logit == kNegInf) return false;
  if (max_logit == -kNegInf) {  // +inf logits: certain, shared equally
    double n_inf = 0.0;
    for (size_t i = 0; i < c.items.size(); ++i) n_inf += c.items[i].logit == max_logit ? 1.0 : 0.0;
    for (size_t i = 0; i < c.items.size(); ++i) {
      probs[i] = c.items[i].logit == max_logit ? 1.0 / n_inf : 0.0;
    }
    return true;
  }
  // Temperature divides the shifted logits (<= 0) in double: a tiny temperature sends the
  // others to exp(-inf) = 0 instead of overflowing a float logit to +inf.
  const double t = temperature > 0.0f ? static_cast<double>(temperature) : 1.0;
  const double m = static_cast<double>(max_logit);
  double sum = 0.0;
  for (size_t i = 0; i < c.items.size(); ++i) {
    probs[i] = portable_exp((static_cast<double>(c.items[i].logit) - m) / t);
    sum += probs[i];
  }
  for (double& p : probs) p /= sum;
  return true;
}

void apply_typical_p(CandidateList& c, float p) {
  if (p >= 1.0f || c.items.size() <= 1) return;
  sort_candidates(c);
  std::vector<double> probs;
  if (!softmax_candidates(c, probs)) return;
  const size_t n = probs.size();
  std::vector<double> neg_log(n);
  double entropy = 0.0;
  for (size_t i = 0; i < n; ++i) {
    neg_log[i] = probs[i] > 0.0 ? -portable_log(probs[i]) : std::numeric_limits<double>::infinity();
    if (probs[i] > 0.0) entropy += probs[i] * neg_log[i];
  }
  // Locally typical: order by |(-log p) - H| and keep the shortest such prefix whose mass
  // exceeds p (strictly, as llama.cpp does), at least one token.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::vector<double> shifted(n);
  for (size_t i = 0; i < n; ++i) shifted[i] = std::fabs(neg_log[i] - entropy);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return shifted[a] < shifted[b]; });
  size_t keep = n;
  double cum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    cum += probs[order[i]];
    if (cum > static_cast<double>(p)) {
      keep = i + 1;
      break;
    }
  }
  std::vector<Candidate> kept;
  kept.reserve(keep);
  for (size_t i = 0; i < keep; ++i) kept.push_back(c.items[order[i]]);
  c.items = std::move(kept);
  c.sorted = false;
  sort_candidates(c);  // back to logit order; the kept set is what matters
}

void apply_top_p(CandidateList& c, float p) {
  if (p >= 1.0f || c.items.size() <= 1) return;
  // Large unsorted lists (top_k off): the kept prefix is usually tiny, so sort only a growing
  // prefix instead of the whole vocabulary. The normaliser is the sum over all items.
  constexpr size_t kFirstPrefix = 1024;
  if (!c.sorted && c.items.size() > 2 * kFirstPrefix) {
    float max_logit = kNegInf;
    for (const auto& it : c.items) max_logit = std::max(max_logit, it.logit);
    if (max_logit == kNegInf) return;
    const double m = static_cast<double>(max_logit);
    double sum = 0.0;
    for (const auto& it : c.items) sum += portable_exp(static_cast<double>(it.logit) - m);
    for (size_t len = kFirstPrefix; len < c.items.size(); len *= 8) {
      std::partial_sort(c.items.begin(), c.items.begin() + static_cast<ptrdiff_t>(len),
                        c.items.end(), candidate_before);
      double cum = 0.0;
      for (size_t i = 0; i < len; ++i) {
        cum += portable_exp(static_cast<double>(c.items[i].logit) - m) / sum;
        if (cum >= static_cast<double>(p)) {
          c.items.resize(i + 1);
          c.sorted = true;
          return;
        }
      }
    }
  }
  sort_candidates(c);
  std::vector<double> probs;
  if (!softmax_candidates(c, probs)) return;
  // The shortest prefix (by probability) whose mass reaches p, at least one token.
  double cum = 0.0;
  for (size_t i = 0; i < probs.size(); ++i) {
    cum += probs[i];
    if (cum >= static_cast<double>(p)) {
      c.items.resize(i + 1);
      return;
    }
  }
}

void apply_min_p(CandidateList& c, float p) {
  if (p <= 0.0f || c.items.empty()) return;
  float max_logit = kNegInf;
  for (const auto& it : c.items) max_logit = std::max(max_logit, it.logit);
  if (max_logit == kNegInf) return;
  // p_i >= p * p_max  <=>  logit_i - logit_max >= log p. Order is preserved.
  const double threshold = portable_log(static_cast<double>(p));
  const double m = static_cast<double>(max_logit);
  std::vector<Candidate> kept;
  kept.reserve(c.items.size());
  for (const auto& it : c.items) {
    if (static_cast<double>(it.logit) - m >= threshold) kept.push_back(it);
  }
  if (kept.empty()) {  // p > 1: keep the best token only
    for (const auto& it : c.items) {
      if (kept.empty() || candidate_before(it, kept[0])) kept.assign(1, it);
    }
  }
  c.items = std::move(kept);
}

size_t draw_index(const std::vector<double>& probs, double u) {
  assert(!probs.empty());
  double total = 0.0;
  for (const double q : probs) total += q;
  const double target = u * total;
  double cum = 0.0;
  size_t last_positive = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0.0) continue;
    last_positive = i;
    cum += probs[i];
    if (cum > target) return i;
  }
  return last_positive;  // rounding left target at the very top
}

int32_t argmax_token(const float* logits, int32_t n_vocab) {
  assert(n_vocab >= 1);
  // Two passes: a vectorisable max, then the first id holding it (ties to the lowest id).
  const float m = max_of(logits, n_vocab);
  if (m == kNegInf) return 0;  // everything masked
  for (int32_t i = 0; i < n_vocab; ++i) {
    if (logits[i] == m) return i;
  }
  return 0;  // unreachable
}

}  // namespace corral
