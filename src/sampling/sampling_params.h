// The sampling options of one request, with Ollama's defaults.
#pragma once

#include <cstdint>

namespace corral {

struct SamplingParams {
  float temperature = 0.8f;       // <= 0: greedy (argmax, ties to the lowest id), no RNG use
  int32_t top_k = 40;             // <= 0: whole vocabulary
  float top_p = 0.9f;             // >= 1: off
  float min_p = 0.0f;             // <= 0: off; keeps p >= min_p * max p
  float typical_p = 1.0f;         // >= 1: off
  float repeat_penalty = 1.1f;    // 1: off; logit > 0 ? logit / p : logit * p
  int32_t repeat_last_n = 64;     // window of history for all penalties; 0: off; < 0: all history
  float presence_penalty = 0.0f;  // OpenAI: logit -= (count > 0) * presence
  float frequency_penalty = 0.0f; // OpenAI: logit -= count * frequency
  uint64_t seed = 0;
  bool has_seed = false;          // false: seeded from std::random_device
};

}  // namespace corral
