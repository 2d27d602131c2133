// Sampler: history-based penalties, then the filter chain and one RNG draw per sampled token.
#include "sampling/sampler.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <span>

namespace corral {

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab)
    : params_(params),
      n_vocab_(n_vocab),
      seed_(params.has_seed ? params.seed : Rng::random_seed()),
      rng_(seed_) {
  assert(n_vocab >= 1);
  logits_.resize(static_cast<size_t>(n_vocab));
  counts_.assign(static_cast<size_t>(n_vocab), 0);
}

void Sampler::accept(int32_t token) {
  history_.push_back(token);
  // Only the last repeat_last_n tokens matter; trim now and then so memory stays bounded.
  if (params_.repeat_last_n >= 0) {
    const size_t n = static_cast<size_t>(params_.repeat_last_n);
    if (history_.size() > 2 * std::max<size_t>(n, 512)) {
      history_.erase(history_.begin(), history_.end() - static_cast<ptrdiff_t>(n));
    }
  }
}

void Sampler::reset() {
  history_.clear();
  if (!params_.has_seed) seed_ = Rng::random_seed();
  rng_ = Rng(seed_);
}

int32_t Sampler::sample(const float* logits) {
  // Penalties work on a copy; without them the caller's logits are read directly.
  const float* src = logits;
  const bool penalize = params_.repeat_last_n != 0 && !history_.empty() &&
                        (params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
                         params_.presence_penalty != 0.0f);
  if (penalize) {
    std::memcpy(logits_.data(), logits, logits_.size() * sizeof(float));
    size_t n = history_.size();
    if (params_.repeat_last_n > 0) n = std::min(n, static_cast<size_t>(params_.repeat_last_n));
    const std::span<const int32_t> window(history_.data() + (history_.size() - n), n);
    apply_penalties(logits_.data(), n_vocab_, window, params_, counts_);
    src = logits_.data();
  }

  if (params_.temperature <= 0.0f) return argmax_token(src, n_vocab_);

  // Exactly one draw per non-greedy token, whatever the filters do: the RNG stream position
  // depends only on how many tokens were sampled.
  const double u = rng_.next_double();

  select_top_k(src, n_vocab_, params_.top_k, cand_);
  apply_typical_p(cand_, params_.typical_p);
  apply_top_p(cand_, params_.top_p);
  apply_min_p(cand_, params_.min_p);
  if (!softmax_candidates(cand_, probs_, params_.temperature)) return argmax_token(src, n_vocab_);
  return cand_.items[draw_index(probs_, u)].id;
}

}  // namespace corral
