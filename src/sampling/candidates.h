// The candidate list the sampler chain works on, and each step of the chain as a function, so
// every filter can be tested on its own. Probabilities are computed in double with the portable
// exp/log of portable_math.h, so a chain gives the same result on every machine.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sampling/sampling_params.h"

namespace corral {

struct Candidate {
  int32_t id;
  float logit;
};

// The total order used everywhere: higher logit first, equal logits by lower id.
inline bool candidate_before(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

struct CandidateList {
  std::vector<Candidate> items;
  bool sorted = false;  // items are in candidate_before order
};

// Fills `out` with every token of `logits` (NaN becomes -inf), unsorted, in id order.
void candidates_from_logits(const float* logits, int32_t n_vocab, CandidateList& out);

// Fills `out` with the k best tokens of `logits`, sorted; k <= 0 or k >= n_vocab keeps all
// (unsorted). One pass with a k-element heap, no full sort.
void select_top_k(const float* logits, int32_t n_vocab, int32_t k, CandidateList& out);

// Penalties on a mutable copy of the logits, from the tokens in `window` (the last
// repeat_last_n accepted tokens). `counts_scratch` has n_vocab zeros and is left all zero.
void apply_penalties(float* logits, int32_t n_vocab, std::span<const int32_t> window,
                     const SamplingParams& params, std::vector<int32_t>& counts_scratch);

void apply_top_k(CandidateList& c, int32_t k);        // k <= 0: no-op
void apply_typical_p(CandidateList& c, float p);      // p >= 1: no-op
void apply_top_p(CandidateList& c, float p);          // p >= 1: no-op
void apply_min_p(CandidateList& c, float p);          // p <= 0: no-op

// Sorts c (candidate_before) unless it already is.
void sort_candidates(CandidateList& c);

// Softmax of logit / temperature over the items, in item order, into `probs` (double): the
// temperature step of the chain. temperature <= 0 or NaN counts as 1. +inf logits share all the
// mass. Returns false when every logit is -inf (probs then all zero).
bool softmax_candidates(const CandidateList& c, std::vector<double>& probs,
                        float temperature = 1.0f);

// Index into c.items of the token a uniform u in [0, 1) selects: the first item where the
// running sum of probabilities exceeds u * total.
size_t draw_index(const std::vector<double>& probs, double u);

// Highest logit, ties to the lowest id. n_vocab >= 1.
int32_t argmax_token(const float* logits, int32_t n_vocab);

}  // namespace corral
