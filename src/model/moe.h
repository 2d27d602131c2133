// Mixture-of-experts routing: which experts a token's router picks and with what weights. The
// block that runs the experts is LayerPass::mixture_of_experts (moe.cpp).
#pragma once

#include <cstdint>

#include "tensor/tensor_view.h"

namespace corral {

// One token's choice, as llama.cpp's and ik_llama.cpp's qwen3moe and Mixtral graphs compute it:
// softmax over all n_expert router logits, the k largest probabilities (ties: the lower expert
// index first), those probabilities as weights, divided by their sum when `renormalise`.
// experts[r] and weights[r] are ordered by rank r (largest first); the block sums the experts'
// outputs in that order.
void route_experts(const float* logits, int64_t n_expert, int64_t k, bool renormalise, int32_t* experts,
                   float* weights);

// gpt-oss's routing (hp.expert_gating kSoftmaxTopK): the k largest logits (ties: the lower
// expert index first), ordered by rank, and a softmax over those k logits only as weights.
void route_experts_topk_softmax(const float* logits, int64_t n_expert, int64_t k, int32_t* experts, float* weights);

// Expert `e` of a 3-D expert tensor: its rows [e * ne[1], (e + 1) * ne[1]) as a 2-D view
// (interleaved groups never straddle experts: repacking requires ne[1] % 8 == 0), or n_rows of
// them from row0 on (the gate or up half of a merged gate/up tensor; repacking then requires
// row0 and n_rows to be whole groups too). The name is left empty so that a view costs no
// allocation.
TensorView expert_matrix(const TensorView& t, int64_t e, int64_t row0 = 0, int64_t n_rows = 0);

}  // namespace corral
