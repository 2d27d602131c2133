// llama, qwen2, qwen3 (and smollm3's layers): pre-norm attention and SwiGLU feed-forward. The
// differences are in the tensors (qwen2's q/k/v biases, qwen3's per-head q/k norms, both used
// when present) and in the RoPE pairing (family table).
#include "model/families/families.h"
#include "model/layer_pass.h"

namespace corral::families {

Status read_llama(const GgufFile&, HParams&) { return {}; }

void llama_layer(LayerPass& p, const LayerWeights& L, int64_t il) {
  p.norm(L.attn_norm);
  p.attention(L, il);
  p.add_to_residual();
  p.norm(L.ffn_norm);
  p.feed_forward(L, Activation::kSilu);
  p.add_to_residual();
}

}  // namespace corral::families
