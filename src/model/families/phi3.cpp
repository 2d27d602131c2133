// phi3 (Phi-3, Phi-3.5-mini, Phi-4-mini, Phi-4): llama layers over fused tensors (attn_qkv and a
// gate+up ffn_up, bound as row views by the loader), partial rotary embeddings (n_rot may be
// less than the head size) and LongRoPE: per-frequency factors, a short set for contexts up to
// rope.scaling.original_context_length and a long set beyond it (the context chooses, see
// Context::create), with RoPE's cos and sin scaled by rope.scaling.attn_factor.
#include "model/families/families.h"

namespace corral::families {

namespace {

// Files written before the converter recorded the window get the reference engines' values,
// which they pick from the layer count and the training context: Phi-3-mini-4k and
// Phi-3-medium-4k slide a window of 2047 positions.
int64_t default_window(const HParams& hp) {
  if ((hp.n_layer == 32 || hp.n_layer == 40) && hp.n_ctx_train == 4096) return 2047;
  return 0;
}

}  // namespace

Status read_phi3(const GgufFile& f, HParams& hp) {
  const std::string p = "phi3.";
  hp.rope_orig_ctx = f.get_int(p + "rope.scaling.original_context_length").value_or(0);
  hp.rope_attn_factor = static_cast<float>(f.get_float(p + "rope.scaling.attn_factor").value_or(1.0));
  if (hp.rope_orig_ctx < 0 || !(hp.rope_attn_factor > 0.0f && hp.rope_attn_factor < 16.0f))
    return make_error("{}: bad LongRoPE metadata (original context {}, attention factor {})", f.path(),
                      hp.rope_orig_ctx, hp.rope_attn_factor);
  hp.n_swa = f.get_int(p + "attention.sliding_window").value_or(default_window(hp));
  if (hp.n_swa < 0) return make_error("{}: bad sliding window {}", f.path(), hp.n_swa);
  // A window as long as the training context changes nothing: keep those layers full.
  if (hp.n_swa >= hp.n_ctx_train) hp.n_swa = 0;
  for (LayerShape& l : hp.layers) l.window = hp.n_swa;
  return {};
}

}  // namespace corral::families
