// gemma2 and gemma3 (text): embeddings scaled by sqrt(n_embd), RMS norms before and after both
// the attention and the feed-forward branch (the GGUF stores Gemma's norm weights with the +1
// already added, so they are used as they are), a GELU-gated feed-forward, tied embeddings, and
// sliding-window layers interleaved with global ones. Gemma 3 adds per-head q/k norms; Gemma 2
// soft-caps attention scores and the output logits.
#include <cmath>

#include "model/families/families.h"
#include "model/layer_pass.h"

namespace corral::families {

namespace {

// Rules the file does not record, as the reference engines fix them by architecture:
// Gemma 2 alternates windowed (even) and global (odd) layers; its window is 4096 unless given.
constexpr int64_t kGemma2DefaultWindow = 4096;
// Gemma 3 runs five windowed layers, then one global layer ("5-to-1 interleaved attention");
// the windowed layers use RoPE base 10,000 without scaling, the global ones the file's base and
// scaling.
constexpr int64_t kGemma3Pattern = 6;
constexpr double kGemma3LocalRopeBase = 10000.0;

// Both families scale queries by 1/sqrt(head size), except the 27B models, which use
// 1/sqrt(n_embd / n_head) (Gemma's query_pre_attn_scalar). No key records it: the reference
// engines recognise the 27B by its layer count (Gemma 2: 46, Gemma 3: 62).
float query_scale(const HParams& hp, int64_t n_layer_27b) {
  const int64_t d = hp.n_layer == n_layer_27b ? hp.n_embd / hp.n_head : hp.head_dim;
  return 1.0f / std::sqrt(static_cast<float>(d));
}

Status read_window(const GgufFile& f, const std::string& prefix, HParams& hp, bool required, int64_t fallback) {
  auto w = f.get_int(prefix + "attention.sliding_window");
  if (!w && required) return make_error("{}: missing metadata key {}attention.sliding_window", f.path(), prefix);
  hp.n_swa = w.value_or(fallback);
  if (hp.n_swa <= 0 || hp.n_swa > (int64_t{1} << 24))
    return make_error("{}: bad sliding window {}", f.path(), hp.n_swa);
  return {};
}

}  // namespace

Status read_gemma2(const GgufFile& f, HParams& hp) {
  const std::string p = "gemma2.";
  CORRAL_TRY(read_window(f, p, hp, false, kGemma2DefaultWindow));
  hp.embd_scale = std::sqrt(static_cast<float>(hp.n_embd));
  hp.attn_scale = query_scale(hp, 46);
  hp.attn_softcap = static_cast<float>(f.get_float(p + "attn_logit_softcapping").value_or(50.0));
  hp.final_softcap = static_cast<float>(f.get_float(p + "final_logit_softcapping").value_or(30.0));
  if (!(hp.attn_softcap >= 0.0f) || !(hp.final_softcap >= 0.0f))
    return make_error("{}: negative soft-capping value", f.path());
  for (int64_t il = 0; il < hp.n_layer; ++il)
    hp.layers[static_cast<size_t>(il)].window = il % 2 == 0 ? hp.n_swa : 0;
  return {};
}

Status read_gemma3(const GgufFile& f, HParams& hp) {
  CORRAL_TRY(read_window(f, "gemma3.", hp, true, 0));
  hp.embd_scale = std::sqrt(static_cast<float>(hp.n_embd));
  hp.attn_scale = query_scale(hp, 62);
  hp.rope_sets.push_back(RopeSet{kGemma3LocalRopeBase, 1.0});
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    LayerShape& l = hp.layers[static_cast<size_t>(il)];
    const bool global = (il + 1) % kGemma3Pattern == 0;
    l.window = global ? 0 : hp.n_swa;
    l.rope_set = global ? 0 : 1;
  }
  return {};
}

void gemma_attention(LayerPass& p, const LayerWeights& L, int64_t il) {
  p.norm(L.attn_norm);
  p.attention(L, il);
  p.norm_branch(L.attn_post_norm);
  p.add_to_residual();
}

void gemma_layer(LayerPass& p, const LayerWeights& L, int64_t il) {
  gemma_attention(p, L, il);
  p.norm(L.ffn_norm);
  p.feed_forward(L, Activation::kGeluTanh);
  p.norm_branch(L.ffn_post_norm);
  p.add_to_residual();
}

}  // namespace corral::families
