// llama, qwen2, qwen3, qwen3moe (and smollm3's layers): pre-norm attention and a SwiGLU
// feed-forward, or a mixture of SwiGLU experts where the file has experts (Mixtral as llama with
// llama.expert_count > 0; qwen3moe always). The differences are in the tensors (qwen2's q/k/v
// biases, qwen3's per-head q/k norms, both used when present) and in the RoPE pairing (family
// table).
#include "model/families/families.h"
#include "model/layer_pass.h"

namespace corral::families {

// Mixtral: experts when llama.expert_count says so; the reference engines renormalise the k
// routing weights for llama whatever the file says (expert_weights_norm is not read).
Status read_llama(const GgufFile& f, HParams& hp) {
  CORRAL_TRY(read_expert_hparams(f, hp, false));
  hp.expert_weights_norm = true;
  return {};
}

// Qwen3-30B-A3B, Qwen3-Coder-30B-A3B: qwen3's layers with experts of width
// qwen3moe.expert_feed_forward_length; softmax, top-k, then the k weights renormalised (fixed by
// architecture in the reference engines, as Hugging Face's norm_topk_prob is for these models).
Status read_qwen3moe(const GgufFile& f, HParams& hp) {
  CORRAL_TRY(read_expert_hparams(f, hp, true));
  hp.expert_weights_norm = true;
  return {};
}

void llama_layer(LayerPass& p, const LayerWeights& L, int64_t il) {
  p.norm(L.attn_norm);
  p.attention(L, il);
  p.add_to_residual();
  p.norm(L.ffn_norm);
  if (L.ffn_gate_inp.data != nullptr) p.mixture_of_experts(L);
  else p.feed_forward(L, Activation::kSilu);
  p.add_to_residual();
}

}  // namespace corral::families
