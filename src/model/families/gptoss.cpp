// gpt-oss (gpt-oss-20b, gpt-oss-120b): pre-norm attention with biases on q/k/v and the output,
// a learned sink logit per head, windowed and full layers alternating; a mixture of experts
// with router and expert biases, gpt-oss's routing and its clamped SwiGLU; NEOX RoPE with
// YaRN (read from the file by the common code: rope.scaling.type yarn). The experts are MXFP4
// in the released files. The norm before the feed-forward is stored as post_attention_norm
// (model_loader.cpp).
#include <cmath>

#include "model/families/families.h"
#include "model/layer_pass.h"

namespace corral::families {

namespace {

// Rules the file does not record, fixed by the architecture as the reference engines fix them:
// - the even layers (0, 2, ...) attend within attention.sliding_window positions, the odd ones
//   to the whole context ("alternating banded attention");
constexpr int64_t kSlidingPattern = 2;
// - the experts' SwiGLU clamps the gate above at 7 and the up projection to [-7, 7], and uses
//   gate * sigmoid(1.702 * gate) * (up + 1);
constexpr float kSwigluAlpha = 1.702f;
constexpr float kSwigluLimit = 7.0f;
// - YaRN's ramp runs from beta_fast 32 to beta_slow 1 (the defaults hparams.cpp uses when the
//   file has no yarn_beta keys, which gpt-oss files do not).

}  // namespace

Status read_gptoss(const GgufFile& f, HParams& hp) {
  const std::string p = "gpt-oss.";
  if (!f.get_int(p + "expert_feed_forward_length"))
    return make_error("{}: missing metadata key {}expert_feed_forward_length", f.path(), p);
  CORRAL_TRY(read_expert_hparams(f, hp, true));
  // Routing: the k largest router logits, then a softmax over those k (not over all experts).
  hp.expert_gating = ExpertGating::kSoftmaxTopK;
  hp.expert_act = ExpertActivation::kSwigluClamped;
  hp.swiglu_alpha = kSwigluAlpha;
  hp.swiglu_limit = kSwigluLimit;
  auto window = f.get_int(p + "attention.sliding_window");
  if (!window) return make_error("{}: missing metadata key {}attention.sliding_window", f.path(), p);
  if (*window <= 0 || *window > (int64_t{1} << 24)) return make_error("{}: bad sliding window {}", f.path(), *window);
  hp.n_swa = *window;
  for (int64_t il = 0; il < hp.n_layer; ++il)
    hp.layers[static_cast<size_t>(il)].window = il % kSlidingPattern == 0 ? hp.n_swa : 0;
  // Queries are scaled by 1/sqrt(the rotary dimensions), which is the head size in gpt-oss.
  hp.attn_scale = 1.0f / std::sqrt(static_cast<float>(hp.n_rot));
  return {};
}

void gptoss_layer(LayerPass& p, const LayerWeights& L, int64_t il) {
  p.norm(L.attn_norm);
  p.attention(L, il);  // q/k/v/output biases, sinks, the layer's window
  p.add_to_residual();
  p.norm(L.ffn_norm);
  p.mixture_of_experts(L);  // router bias, top-k softmax, expert biases, clamped SwiGLU
  p.add_to_residual();
}

}  // namespace corral::families
