// Model hyper-parameters read from GGUF metadata, with llama.cpp's defaults where keys are absent,
// and the per-layer shape a family gives each layer (families/*.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_file.h"

namespace corral {

enum class Arch { kLlama, kQwen2, kQwen3, kQwen3Moe, kGemma2, kGemma3, kSmolLM3, kPhi3, kBert, kNomicBert, kGptOss, kQwen35, kGemma4,
                  kQwen35Moe };

// How an embedding is made from a sequence's output rows (`<arch>.pooling_type`, numbered as
// llama.cpp numbers it): none (every token's row), mean, the first ([CLS]) or the last token's.
enum class Pooling { kNone = 0, kMean = 1, kCls = 2, kLast = 3, kRank = 4 };

const char* arch_name(Arch a);

// One set of RoPE frequencies: theta_i = position * freq_scale * base^(-2i/n_rot) (freq_scale
// is linear scaling's 1/factor).
// YaRN context extension (rope.scaling.type yarn): frequencies interpolated by the scaling factor
// below a band, kept above it, blended across it; cos/sin scaled by the attention factor
// (kernels/ops.h rope_yarn_factors). factor 0: no YaRN.
struct Yarn {
  double factor = 0;         // rope.scaling.factor
  int64_t orig_ctx = 0;      // rope.scaling.original_context_length (default: context_length)
  double beta_fast = 32.0;   // rope.scaling.yarn_beta_fast
  double beta_slow = 1.0;    // rope.scaling.yarn_beta_slow
  double attn_factor = 1.0;  // rope.scaling.attn_factor, times YaRN's own 1 + 0.1 ln(factor)
};

// How a router's logits become the k picked experts' weights.
enum class ExpertGating {
  kSoftmax,        // softmax over all experts, the k largest (optionally renormalised)
  kSoftmaxTopK,    // the k largest logits, then a softmax over those k only (gpt-oss)
};

// The feed-forward activation of the experts.
enum class ExpertActivation {
  kSwiglu,         // silu(gate) * up
  kSwigluClamped,  // gpt-oss: gate clamped above at limit, up to [-limit, limit];
                   // gate * sigmoid(alpha * gate) * (up + 1)
  kGeglu,          // Gemma 4: gelu(gate) * up (tanh approximation)
};

struct RopeSet {
  double base = 10000.0;
  double freq_scale = 1.0;
  int64_t n_rot = 0;         // dimensions rotated by the layers of this set (0: HParams::n_rot)
  bool factors = true;       // the file's frequency factors apply (Gemma 4: global layers only)
};

// What differs between the layers of one model.
struct LayerShape {
  bool rope = true;     // false: no positional rotation (SmolLM3's NoPE layers)
  int rope_set = 0;     // index into HParams::rope_sets
  int64_t window = 0;   // > 0: attends only to the last `window` positions (itself included)
  bool recurrent = false;  // a Gated DeltaNet layer (qwen35): a recurrent state, no KV cache
  int64_t head_dim = 0;    // this layer's q/k/v head size (0: HParams::head_dim; Gemma 4's windowed layers)
  // >= 0: the layer computes only queries and attends over layer kv_from's cache (Gemma 4's
  // shared-KV layers); it holds no cache of its own. -1: its own K/V.
  int64_t kv_from = -1;
  // This layer's feed-forward width and head counts where the file gives them per layer and
  // they differ (Gemma 4); 0: HParams' n_ff, n_head, n_head_kv.
  int64_t n_ff = 0, n_head = 0, n_head_kv = 0;
};

struct HParams {
  Arch arch = Arch::kLlama;
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  // The largest over the layers where the file gives them per layer (then LayerShape has each
  // layer's; the *_of(il) accessors read them).
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t n_ff = 0;
  int64_t head_dim = 0;   // key_length; n_embd / n_head unless the file says otherwise
  int64_t n_rot = 0;      // rope dimension count; head_dim unless given
  float rms_eps = 1e-5f;
  double rope_freq_base = 10000.0;
  double rope_freq_scale = 1.0;  // linear RoPE scaling: 1 / rope.scaling.factor
  bool rope_neox = false;  // qwen2/qwen3/gemma rotate (i, i + d/2) pairs; llama (2i, 2i+1)

  float embd_scale = 1.0f;     // token embeddings are multiplied by it (Gemma: sqrt(n_embd))
  float attn_scale = 0.0f;     // query scale; 0: 1/sqrt(head_dim)
  float attn_softcap = 0.0f;   // > 0: scores become cap * tanh(score / cap) (Gemma 2)
  float final_softcap = 0.0f;  // > 0: the same on the output logits
  int64_t n_swa = 0;           // sliding-window size of the windowed layers (0: none)
  // LongRoPE (Phi-3/Phi-4): the context length the short factors are for; a context longer
  // than it uses the long factors. 0: no LongRoPE.
  int64_t rope_orig_ctx = 0;
  float rope_attn_factor = 1.0f;  // multiplies RoPE's cos and sin (LongRoPE's attention scaling)

  // Mixture of experts (0 experts: a dense feed-forward). Each token's router picks
  // n_expert_used of n_expert experts, each a gated feed-forward of width n_ff_exp.
  int64_t n_expert = 0;
  int64_t n_expert_used = 0;
  int64_t n_ff_exp = 0;
  bool expert_weights_norm = true;  // the k routing weights are divided by their sum
  // A shared expert beside the routed ones (qwen35moe; 0: none): a SwiGLU feed-forward of this
  // width that every token runs, its output scaled by sigmoid(ffn_gate_inp_shexp · x).
  int64_t n_ff_shexp = 0;
  ExpertGating expert_gating = ExpertGating::kSoftmax;
  ExpertActivation expert_act = ExpertActivation::kSwiglu;
  // Gemma 4: the router reads rmsnorm(residual) * ffn_gate_inp.scale times this (its fixed
  // 1/sqrt(n_embd), which ik_llama.cpp folds into the scale tensor at load).
  float router_input_scale = 1.0f;
  float swiglu_alpha = 1.702f;      // kSwigluClamped's constants (gpt-oss fixes them)
  float swiglu_limit = 7.0f;

  Yarn yarn;  // rope.scaling.type yarn (factor > 0), for every layer's RoPE

  // Embedding models: the file's pooling (kMean when it names none), the encoders' LayerNorm
  // epsilon, and whether attention is bidirectional (an encoder: one pass over a whole sequence,
  // no KV cache; model/encoder.h).
  Pooling pooling = Pooling::kMean;
  bool has_pooling = false;  // the file carries pooling_type
  float norm_eps = 1e-12f;
  bool encoder = false;

  // Gated DeltaNet (qwen35's linear-attention layers; LayerShape::recurrent): q/k heads of
  // ssm_d_state, ssm_n_group of them; ssm_dt_rank value heads of ssm_d_inner / ssm_dt_rank; a
  // causal convolution of ssm_d_conv taps over q, k and v together.
  int64_t ssm_d_conv = 0;
  int64_t ssm_d_state = 0;
  int64_t ssm_n_group = 0;
  int64_t ssm_dt_rank = 0;
  int64_t ssm_d_inner = 0;
  // attn_q holds, per head, the query and then a gate: the attention output is multiplied by
  // sigmoid(gate) before the output projection (qwen35's full-attention layers).
  bool attn_output_gate = false;

  // Gemma 4: values are RMS-normalised per head (no weight) before the cache; the layer adds
  // the per-layer embeddings (n_embd_per_layer wide per layer; 0: none) after its feed-forward.
  bool attn_v_norm = false;
  int64_t n_embd_per_layer = 0;

  std::vector<RopeSet> rope_sets;   // [0] is the file's (rope_freq_base, rope_freq_scale)
  std::vector<LayerShape> layers;   // n_layer entries

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
  // Per layer (layers may differ in head size): head size, q and kv widths, rotated dimensions.
  int64_t head_dim_of(int64_t il) const {
    const int64_t d = layers[static_cast<size_t>(il)].head_dim;
    return d > 0 ? d : head_dim;
  }
  int64_t n_head_of(int64_t il) const {
    const int64_t v = layers[static_cast<size_t>(il)].n_head;
    return v > 0 ? v : n_head;
  }
  int64_t n_head_kv_of(int64_t il) const {
    const int64_t v = layers[static_cast<size_t>(il)].n_head_kv;
    return v > 0 ? v : n_head_kv;
  }
  int64_t n_ff_of(int64_t il) const {
    const int64_t v = layers[static_cast<size_t>(il)].n_ff;
    return v > 0 ? v : n_ff;
  }
  int64_t q_dim_of(int64_t il) const { return n_head_of(il) * head_dim_of(il); }
  int64_t kv_dim_of(int64_t il) const { return n_head_kv_of(il) * head_dim_of(il); }
  int64_t n_rot_of(const RopeSet& s) const { return s.n_rot > 0 ? s.n_rot : n_rot; }
  int64_t max_head_dim() const;
  int64_t max_n_rot() const;
  // The layer whose cache layer il reads and writes (itself unless it shares another's).
  int64_t kv_layer(int64_t il) const {
    const int64_t src = layers[static_cast<size_t>(il)].kv_from;
    return src >= 0 ? src : il;
  }
  float query_scale() const;
  bool has_windows() const;
  bool has_recurrent() const;
  int64_t n_recurrent_layers() const;
  int64_t delta_conv_dim() const { return 2 * ssm_n_group * ssm_d_state + ssm_d_inner; }
  int64_t delta_head_v() const { return ssm_dt_rank > 0 ? ssm_d_inner / ssm_dt_rank : 0; }
  // The Gated DeltaNet's chunk (model/delta_net.h): its state advances once per
  // kDeltaChunk tokens, chunks aligned to absolute positions.
  static constexpr int64_t kDeltaChunk = 64;
  // Floats of one recurrent layer's state for one sequence: the convolution's last
  // ssm_d_conv - 1 inputs per channel, then per value head a [ssm_d_state x head_v] matrix
  // and the current chunk's tokens so far (key, corrected value, cumulative log decay each).
  size_t recurrent_state_floats() const {
    const int64_t dk = ssm_d_state, dv = delta_head_v();
    return static_cast<size_t>((ssm_d_conv - 1) * delta_conv_dim() +
                               ssm_dt_rank * (dk * dv + kDeltaChunk * (dk + dv + 1)));
  }
};

// Reads <arch>.expert_count, expert_used_count and expert_feed_forward_length (default: n_ff,
// as llama.cpp's Mixtral). `required`: a family that cannot run without experts.
Status read_expert_hparams(const GgufFile& file, HParams& hp, bool required);

// Reads and validates hyper-parameters; errors name the file and the missing/bad key.
Result<HParams> read_hparams(const GgufFile& file);

}  // namespace corral
