// An independent float64 forward pass, written here from the architecture definitions (not from
// corral's model/ code): exact math on the weights as dequantized from the file, a float64 KV
// cache, one token at a time. It reads the layer rules of each family from the metadata and the
// architecture's published fixed values itself, so a wrong rule in model/families shows up as a
// disagreement.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace corral::f64ref {

using Vec = std::vector<double>;

// Logits (n_vocab doubles) after each token of `tokens`, then `n_greedy` more tokens chosen by
// largest logit (appended to `greedy` when given). `n_ctx` is the context size an engine would
// run with (LongRoPE chooses its factors by it).
std::vector<Vec> forward(const Model& m, const std::vector<int32_t>& tokens, size_t n_greedy = 0,
                         std::vector<int32_t>* greedy = nullptr, int64_t n_ctx = 256);

// qwen35 and qwen35moe (f64_qwen35.cpp), which forward() hands over to.
std::vector<Vec> forward_qwen35(const Model& m, const std::vector<int32_t>& tokens, size_t n_greedy,
                                std::vector<int32_t>* greedy);
// gemma4 (f64_gemma4.cpp), likewise.
std::vector<Vec> forward_gemma4(const Model& m, const std::vector<int32_t>& tokens, size_t n_greedy,
                                std::vector<int32_t>* greedy);

}  // namespace corral::f64ref
