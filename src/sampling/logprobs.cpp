// Logprobs: one pass for the max, one for the sum of exponentials, a k-heap for the top tokens.
#include "sampling/logprobs.h"

#include <cassert>
#include <cmath>
#include <limits>

#include "sampling/candidates.h"
#include "sampling/portable_math.h"

namespace corral {

double log_sum_exp(const float* logits, int32_t n_vocab) {
  const double ninf = -std::numeric_limits<double>::infinity();
  if (n_vocab <= 0) return ninf;
  const int32_t best = argmax_token(logits, n_vocab);
  const float mf = logits[best];
  if (std::isnan(mf) || mf == -std::numeric_limits<float>::infinity()) return ninf;
  if (mf == std::numeric_limits<float>::infinity()) return static_cast<double>(mf);
  const double m = static_cast<double>(mf);
  double sum = 0.0;
  for (int32_t i = 0; i < n_vocab; ++i) {
    const float l = logits[i];
    if (!std::isnan(l)) sum += portable_exp(static_cast<double>(l) - m);
  }
  return m + portable_log(sum);
}

void log_softmax(const float* logits, int32_t n_vocab, std::vector<float>& out) {
  const double lse = log_sum_exp(logits, n_vocab);
  out.resize(static_cast<size_t>(n_vocab));
  for (int32_t i = 0; i < n_vocab; ++i) {
    const float l = logits[i];
    out[static_cast<size_t>(i)] = std::isnan(l) ? -std::numeric_limits<float>::infinity()
                                                : static_cast<float>(static_cast<double>(l) - lse);
  }
}

Logprobs compute_logprobs(const float* logits, int32_t n_vocab, int32_t token, int32_t top_n) {
  assert(token >= 0 && token < n_vocab);
  const double lse = log_sum_exp(logits, n_vocab);
  auto lp = [&](float l) {
    return std::isnan(l) ? -std::numeric_limits<float>::infinity()
                         : static_cast<float>(static_cast<double>(l) - lse);
  };
  Logprobs out;
  out.token = {token, lp(logits[token])};
  if (top_n > 0) {
    CandidateList c;
    select_top_k(logits, n_vocab, top_n, c);
    sort_candidates(c);  // top_n >= n_vocab keeps all, unsorted
    out.top.reserve(c.items.size());
    for (const auto& it : c.items) out.top.push_back({it.id, lp(it.logit)});
  }
  return out;
}

}  // namespace corral
