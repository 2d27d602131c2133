// The sampler of one generation: penalties from its own token history, then the chain
// top_k -> typical_p -> top_p -> min_p -> temperature -> softmax -> draw (llama.cpp's order).
// Deterministic: the same seed and logits give the same tokens on any machine.
#pragma once

#include <cstdint>
#include <vector>

#include "sampling/candidates.h"
#include "sampling/rng.h"
#include "sampling/sampling_params.h"

namespace corral {

class Sampler {
 public:
  Sampler(const SamplingParams& params, int32_t n_vocab);

  // Picks the next token from n_vocab logits. Does not add it to the history: call accept().
  int32_t sample(const float* logits);
  // Appends a token to the history the penalties look at (prompt tokens are accepted too).
  void accept(int32_t token);
  // Clears the history and restarts the RNG from the seed (a fresh random seed if none given).
  void reset();

  const SamplingParams& params() const { return params_; }
  const std::vector<int32_t>& history() const { return history_; }

 private:
  SamplingParams params_;
  int32_t n_vocab_;
  uint64_t seed_;
  Rng rng_;
  std::vector<int32_t> history_;
  // Per-call scratch, kept to avoid allocation per token.
  std::vector<float> logits_;
  std::vector<int32_t> counts_;
  CandidateList cand_;
  std::vector<double> probs_;
};

}  // namespace corral
