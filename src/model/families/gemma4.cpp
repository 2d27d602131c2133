// gemma4 (text): Gemma 3's layer (embeddings scaled by sqrt(n_embd), RMS norms before and after
// the attention and the GELU-gated feed-forward, per-head q/k norms, tied embeddings) with:
// - the windowed layers named per layer by the file (attention.sliding_window_pattern), with
//   their own head size (key_length_swa), rotated dimensions (rope.dimension_count_swa) and
//   RoPE base (rope.freq_base_swa); the file's rope_freqs divide the global layers' frequencies
//   only;
// - values RMS-normalised per head without a weight, and queries not scaled (scale 1: the q/k
//   norms set the scores' size);
// - the last attention.shared_kv_layers layers computing no K/V: each attends over the cache of
//   the last earlier layer of its own kind (windowed or global) that has one;
// - per-layer embeddings (embedding_length_per_layer_input): each token gets, per layer, its
//   row of per_layer_token_embd (times sqrt of its width) plus a normalised projection of its
//   scaled embedding, the sum times 1/sqrt(2); after the feed-forward each layer adds
//   post_norm(proj(gelu(inp_gate · x) * that row)) to the residual;
// - a learned scalar on each layer's output (layer_output_scale, where present);
// - final logit soft-capping (30 unless the file says otherwise).
// - experts (the 26B-A4B) where a layer has a router: the dense feed-forward and a GELU-gated
//   mixture of experts side by side, each with its own norms (moe.cpp,
//   LayerPass::feed_forward_and_experts), their sum post-normed into the residual.
// As ik_llama.cpp computes it.
#include <cmath>

#include "model/families/families.h"
#include "model/layer_pass.h"

namespace corral::families {

namespace {

constexpr double kGemma4DefaultFinalSoftcap = 30.0;

}  // namespace

Status read_gemma4(const GgufFile& f, HParams& hp) {
  const std::string p = "gemma4.";
  auto window = f.get_int(p + "attention.sliding_window");
  if (!window) return make_error("{}: missing metadata key {}attention.sliding_window", f.path(), p);
  hp.n_swa = *window;
  if (hp.n_swa <= 0 || hp.n_swa > (int64_t{1} << 24)) return make_error("{}: bad sliding window {}", f.path(), hp.n_swa);

  // Which layers are windowed: an array of one flag per layer (a single value applies to all).
  std::vector<bool> windowed(static_cast<size_t>(hp.n_layer), false);
  if (const GgufArray* a = f.get_array(p + "attention.sliding_window_pattern")) {
    if (a->ints.size() != static_cast<size_t>(hp.n_layer))
      return make_error("{}: {}attention.sliding_window_pattern has {} entries for {} layers", f.path(), p,
                        a->ints.size(), hp.n_layer);
    for (size_t i = 0; i < windowed.size(); ++i) windowed[i] = a->ints[i] != 0;
  } else if (auto v = f.get_int(p + "attention.sliding_window_pattern")) {
    windowed.assign(windowed.size(), *v != 0);
  } else {
    return make_error("{}: missing metadata key {}attention.sliding_window_pattern", f.path(), p);
  }

  const int64_t hd_swa = f.get_int(p + "attention.key_length_swa").value_or(hp.head_dim);
  const int64_t hd_swa_v = f.get_int(p + "attention.value_length_swa").value_or(hd_swa);
  if (hd_swa != hd_swa_v)
    return make_error("{}: key_length_swa {} != value_length_swa {} is not supported", f.path(), hd_swa, hd_swa_v);
  if (hd_swa <= 0 || hd_swa % 2 != 0 || hd_swa > 1024) return make_error("{}: bad windowed head size {}", f.path(), hd_swa);
  const int64_t rot_swa = f.get_int(p + "rope.dimension_count_swa").value_or(hp.n_rot);
  if (rot_swa <= 0 || rot_swa % 2 != 0 || rot_swa > hd_swa)
    return make_error("{}: bad rope.dimension_count_swa {} (windowed head size {})", f.path(), rot_swa, hd_swa);
  const double base_swa = f.get_float(p + "rope.freq_base_swa").value_or(hp.rope_freq_base);
  if (!(base_swa > 0.0)) return make_error("{}: bad rope.freq_base_swa {}", f.path(), base_swa);
  // Set 1: the windowed layers' RoPE (its base, the file's scaling, no frequency factors).
  hp.rope_sets.push_back(RopeSet{base_swa, hp.rope_freq_scale, rot_swa, false});

  const int64_t n_shared = f.get_int(p + "attention.shared_kv_layers").value_or(0);
  if (n_shared < 0 || n_shared >= hp.n_layer)
    return make_error("{}: {}attention.shared_kv_layers = {} must be below the {} layers", f.path(), p, n_shared,
                      hp.n_layer);
  const int64_t n_own_kv = hp.n_layer - n_shared;

  for (int64_t il = 0; il < hp.n_layer; ++il) {
    LayerShape& l = hp.layers[static_cast<size_t>(il)];
    const bool w = windowed[static_cast<size_t>(il)];
    l.window = w ? hp.n_swa : 0;
    l.rope_set = w ? 1 : 0;
    l.head_dim = w ? hd_swa : hp.head_dim;
    if (il < n_own_kv) continue;
    // A shared-KV layer reads the last layer with a cache of its own kind.
    for (int64_t src = n_own_kv - 1; src >= 0; --src)
      if (windowed[static_cast<size_t>(src)] == w) {
        l.kv_from = src;
        break;
      }
    if (l.kv_from < 0)
      return make_error("{}: layer {} shares the KV cache of a {} layer, but no earlier layer is one", f.path(), il,
                        w ? "windowed" : "global");
  }

  hp.embd_scale = std::sqrt(static_cast<float>(hp.n_embd));
  hp.attn_scale = 1.0f;
  hp.attn_v_norm = true;
  hp.final_softcap =
      static_cast<float>(f.get_float(p + "final_logit_softcapping").value_or(kGemma4DefaultFinalSoftcap));
  if (!(hp.final_softcap >= 0.0f)) return make_error("{}: negative soft-capping value", f.path());
  // Experts (the 26B-A4B): a GELU-gated mixture beside the dense feed-forward, in the layers
  // whose file has a router; softmax over all experts, the k largest, renormalised (fixed by
  // architecture in ik_llama.cpp), each weight times its expert's scale where the file has one.
  CORRAL_TRY(read_expert_hparams(f, hp, false));
  hp.expert_act = ExpertActivation::kGeglu;
  hp.expert_gating = ExpertGating::kSoftmax;
  hp.expert_weights_norm = true;
  hp.router_input_scale = 1.0f / std::sqrt(static_cast<float>(hp.n_embd));
  hp.n_embd_per_layer = f.get_int(p + "embedding_length_per_layer_input").value_or(0);
  if (hp.n_embd_per_layer < 0 || hp.n_embd_per_layer > hp.n_embd * 16)
    return make_error("{}: bad {}embedding_length_per_layer_input {}", f.path(), p, hp.n_embd_per_layer);
  return {};
}

// Gemma 3's layer (gemma.cpp), or where the layer has experts its attention half and then both
// feed-forward branches under the one post-norm; then the per-layer embedding and the scalar.
void gemma4_layer(LayerPass& p, const LayerWeights& L, int64_t il) {
  if (L.ffn_gate_inp.data == nullptr) {
    gemma_layer(p, L, il);
  } else {
    gemma_attention(p, L, il);
    p.feed_forward_and_experts(L);
    p.norm_branch(L.ffn_post_norm);
    p.add_to_residual();
  }
  p.per_layer_embedding(L, il);
  p.scale_residual(L.out_scale);
}

}  // namespace corral::families
