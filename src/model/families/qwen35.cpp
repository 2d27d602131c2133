// qwen35 (Qwen 3.5 / 3.6 dense): a hybrid of Gated DeltaNet layers (linear attention with a
// fixed-size recurrent state; model/delta_net.h) and, every full_attention_interval-th layer, a
// full-attention layer whose attn_q also carries a sigmoid output gate per head, with per-head
// q/k norms. Every layer then has a SwiGLU feed-forward whose norm the file calls
// post_attention_norm. Files may append multi-token-prediction layers (nextn_predict_layers):
// they are read past and not run.
// qwen35moe (Qwen 3.5 / 3.6 MoE, e.g. 35B-A3B): the same layers with a mixture of experts in
// place of the feed-forward: softmax over all experts, the k largest, renormalised (fixed by
// architecture in ik_llama.cpp, whatever expert_weights_norm says), experts of width
// expert_feed_forward_length, plus a shared expert of width expert_shared_feed_forward_length
// (feed_forward_length when absent) gated per token by sigmoid(ffn_gate_inp_shexp · x).
#include <array>

#include "model/families/families.h"
#include "model/layer_pass.h"

namespace corral::families {

namespace {

// The reference engines' default when the file has no full_attention_interval.
constexpr int64_t kDefaultFullAttentionInterval = 4;

Status need(const GgufFile& f, const std::string& key, int64_t& out) {
  auto v = f.get_int(key);
  if (!v || *v <= 0 || *v > (int64_t{1} << 24)) return make_error("{}: missing or bad metadata key {}", f.path(), key);
  out = *v;
  return {};
}

// Multi-section RoPE (rope.dimension_sections): pair i takes the position of its section's
// axis (time, height, width, interleaved as i % 3 within the first 3 * section pairs). Text
// gives every axis the same position, so a pair whose section is one of the three rotates as
// plain NEOX RoPE; a pair left to the fourth ("extra") axis would see position 0. Only
// layouts where every pair is in the first three (all Qwen 3.5 files) are accepted.
Status check_sections(const GgufFile& f, const std::string& p, const HParams& hp) {
  const GgufArray* a = f.get_array(p + "rope.dimension_sections");
  if (a == nullptr) return {};
  std::array<int64_t, 4> s{};
  for (size_t i = 0; i < 4 && i < a->ints.size(); ++i) s[i] = a->ints[i];
  const int64_t total = s[0] + s[1] + s[2] + s[3];
  if (total <= 0) return make_error("{}: bad qwen35.rope.dimension_sections", f.path());
  for (int64_t i = 0; i < hp.n_rot / 2; ++i) {
    const int64_t sector = i % total;
    const bool text_axis = (sector % 3 == 1 && sector < 3 * s[1]) || (sector % 3 == 2 && sector < 3 * s[2]) ||
                           (sector % 3 == 0 && sector < 3 * s[0]);
    if (!text_axis)
      return make_error("{}: rope.dimension_sections leave pair {} to the extra axis, which is not supported",
                        f.path(), i);
  }
  return {};
}

// The hybrid layout both variants share; `p` is the architecture's key prefix.
Status read_hybrid(const GgufFile& f, const std::string& p, HParams& hp) {
  CORRAL_TRY(need(f, p + "ssm.conv_kernel", hp.ssm_d_conv));
  CORRAL_TRY(need(f, p + "ssm.state_size", hp.ssm_d_state));
  CORRAL_TRY(need(f, p + "ssm.group_count", hp.ssm_n_group));
  CORRAL_TRY(need(f, p + "ssm.time_step_rank", hp.ssm_dt_rank));
  CORRAL_TRY(need(f, p + "ssm.inner_size", hp.ssm_d_inner));
  // The state is square per value head, as the reference engines require.
  if (hp.ssm_d_inner != hp.ssm_dt_rank * hp.ssm_d_state || hp.ssm_dt_rank % hp.ssm_n_group != 0)
    return make_error("{}: ssm.inner_size {} must be time_step_rank {} x state_size {}, and time_step_rank a "
                      "multiple of group_count {}", f.path(), hp.ssm_d_inner, hp.ssm_dt_rank, hp.ssm_d_state,
                      hp.ssm_n_group);
  if (hp.ssm_d_state > 512 || hp.ssm_d_conv > 64)
    return make_error("{}: ssm.state_size {} (at most 512) or ssm.conv_kernel {} (at most 64) is out of range",
                      f.path(), hp.ssm_d_state, hp.ssm_d_conv);
  const int64_t interval = f.get_int(p + "full_attention_interval").value_or(kDefaultFullAttentionInterval);
  const int64_t n_mtp = f.get_int(p + "nextn_predict_layers").value_or(0);
  if (interval <= 0 || n_mtp < 0 || n_mtp >= hp.n_layer)
    return make_error("{}: bad full_attention_interval {} or nextn_predict_layers {}", f.path(), interval, n_mtp);
  CORRAL_TRY(check_sections(f, p, hp));
  hp.n_layer -= n_mtp;  // the multi-token-prediction layers come last
  hp.layers.resize(static_cast<size_t>(hp.n_layer));
  for (int64_t il = 0; il < hp.n_layer; ++il) hp.layers[static_cast<size_t>(il)].recurrent = (il + 1) % interval != 0;
  hp.attn_output_gate = true;
  return {};
}

}  // namespace

Status read_qwen35(const GgufFile& f, HParams& hp) { return read_hybrid(f, "qwen35.", hp); }

Status read_qwen35moe(const GgufFile& f, HParams& hp) {
  const std::string p = "qwen35moe.";
  CORRAL_TRY(read_hybrid(f, p, hp));
  CORRAL_TRY(read_expert_hparams(f, hp, true));
  hp.expert_weights_norm = true;
  hp.n_ff_shexp = f.get_int(p + "expert_shared_feed_forward_length").value_or(hp.n_ff);
  if (hp.n_ff_shexp <= 0 || hp.n_ff_shexp > (int64_t{1} << 24))
    return make_error("{}: {}expert_shared_feed_forward_length = {} is out of range", f.path(), p, hp.n_ff_shexp);
  return {};
}

void qwen35_layer(LayerPass& p, const LayerWeights& L, int64_t il) {
  p.norm(L.attn_norm);
  if (L.delta_qkv.data != nullptr) p.delta_net(L, il);
  else p.attention(L, il);
  p.add_to_residual();
  p.norm(L.ffn_norm);
  if (L.ffn_gate_inp.data != nullptr) p.mixture_of_experts(L);  // qwen35moe: routed + shared experts
  else p.feed_forward(L, Activation::kSilu);
  p.add_to_residual();
}

}  // namespace corral::families
