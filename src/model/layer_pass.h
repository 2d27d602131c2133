// The blocks a family's layer recipe is written in (families/*.cpp), over one micro-batch of a
// Context's forward pass. Two streams per token: the residual stream, and the branch that a norm
// starts, a block transforms and add_to_residual ends.
#pragma once

#include <cstdint>

#include "model/context.h"
#include "model/model.h"

namespace corral {

enum class Activation { kSilu, kGeluTanh };

class LayerPass {
 public:
  LayerPass(Context& ctx, const Batch& batch) : c_(ctx), batch_(batch) {}

  // branch = rmsnorm(residual) * w
  void norm(const TensorView& w);
  // branch = rmsnorm(branch) * w (Gemma's post-attention and post-feed-forward norms)
  void norm_branch(const TensorView& w);
  // branch = self-attention of the branch: q/k/v projections (with biases and per-head q/k
  // norms when the layer has them), RoPE as the layer's shape says, the KV cache (windowed or
  // full), the family's query scale, score soft-capping or sinks, the output gate where the
  // family has one (HParams::attn_output_gate), the output projection (and its bias when the
  // layer has one).
  void attention(const LayerWeights& w, int64_t il);
  // branch = a Gated DeltaNet layer of the branch (delta_net.h): projections, short causal
  // convolution, the gated delta rule over the sequence's recurrent state, gated output norm,
  // output projection.
  void delta_net(const LayerWeights& w, int64_t il);
  // branch = down(act(gate · branch) * (up · branch))
  void feed_forward(const LayerWeights& w, Activation act);
  // branch = the weighted sum of the branch's k picked experts, each a SwiGLU feed-forward
  // (plain or clamped, with biases where the layer has them; moe.cpp; routing in moe.h), plus
  // the gated shared expert where the layer has one (qwen35moe)
  void mixture_of_experts(const LayerWeights& w);
  // Gemma 4's feed-forward where a layer has experts (moe.cpp): branch =
  // post_norm_1(the GELU-gated feed-forward of ffn_norm(residual)) +
  // post_norm_2(the experts of pre_norm_2(residual)), the router reading rmsnorm(residual) times
  // its own weight (ffn_gate_inp.scale).
  void feed_forward_and_experts(const LayerWeights& w);
  // residual += branch
  void add_to_residual();
  // Gemma 4's per-layer embedding: residual += post_norm(proj(gelu(gate · residual) * the
  // token's input for layer il)); nothing when the layer has none.
  void per_layer_embedding(const LayerWeights& w, int64_t il);
  // residual *= s (a one-value tensor; nothing when absent)
  void scale_residual(const TensorView& s);

 private:
  // moe.cpp: the shared expert's gated output per token, into Context::moe_shared_
  void shared_expert(const LayerWeights& w);

  Context& c_;
  const Batch& batch_;
};

}  // namespace corral
