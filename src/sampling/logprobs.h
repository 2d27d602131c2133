// Log-probabilities of the model's distribution (raw logits, before penalties and filters) for
// the API's logprobs / top_logprobs, and the log-sum-exp the logits tool prints.
#pragma once

#include <cstdint>
#include <vector>

namespace corral {

struct TokenLogprob {
  int32_t id;
  float logprob;  // natural log, <= 0
};

// log(sum_i exp(logits[i])) in double (portable exp/log, the same on every machine). NaN logits
// count as -inf; -inf if every logit is -inf.
double log_sum_exp(const float* logits, int32_t n_vocab);

// log_softmax: out[i] = logits[i] - log_sum_exp(logits). out is resized to n_vocab.
void log_softmax(const float* logits, int32_t n_vocab, std::vector<float>& out);

struct Logprobs {
  TokenLogprob token;             // the chosen token
  std::vector<TokenLogprob> top;  // the top_n most likely, most likely first, ties lowest id
};

// Logprobs of `token` (0 <= token < n_vocab) and the top_n best tokens (top_n <= 0: none),
// without materialising the whole log_softmax.
Logprobs compute_logprobs(const float* logits, int32_t n_vocab, int32_t token, int32_t top_n);

}  // namespace corral
