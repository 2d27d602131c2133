// A loaded model: hyper-parameters and tensor views bound by name over the mmapped GGUF.
#pragma once

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_file.h"
#include "model/hparams.h"
#include "tensor/tensor_view.h"

namespace corral {

struct LayerWeights {
  TensorView attn_norm;            // [n_embd]
  // [n_embd -> q_dim], [n_embd -> kv_dim] x2, [q_dim -> n_embd]. A fused attn_qkv tensor is
  // bound as three views of its row ranges, as a fused ffn_up (gate rows, then up rows) is.
  TensorView wq, wk, wv, wo;
  TensorView bq, bk, bv;           // qwen2 biases (data == nullptr when absent)
  TensorView q_norm, k_norm;       // qwen3/gemma3 per-head norms [head_dim] (data == nullptr when absent)
  TensorView attn_post_norm;       // Gemma: norm of the attention output [n_embd] (else absent)
  TensorView ffn_norm;             // [n_embd]
  TensorView ffn_gate, ffn_up;     // [n_embd -> n_ff]
  TensorView ffn_down;             // [n_ff -> n_embd]
  TensorView ffn_post_norm;        // Gemma: norm of the feed-forward output [n_embd] (else absent)
  // Mixture of experts (hp.n_expert > 0; then the dense ffn_gate/up/down are absent): the router
  // [n_embd -> n_expert] and the experts, n_expert matrices one after another in each tensor
  // (expert e is rows [e * n_ff_exp, (e + 1) * n_ff_exp) of gate and up, [e * n_embd, ...) of
  // down; moe.cpp takes row views of them).
  TensorView ffn_gate_inp;
  TensorView ffn_gate_exps, ffn_up_exps;  // [n_embd -> n_ff_exp] x n_expert
  TensorView ffn_down_exps;               // [n_ff_exp -> n_embd] x n_expert
  // gpt-oss (data == nullptr when absent): the attention output's bias [n_embd], one learned
  // sink logit per query head [n_head], the router's bias [n_expert] and the experts' biases
  // ([n_ff_exp] x n_expert for gate and up, [n_embd] x n_expert for down).
  TensorView bo;
  TensorView attn_sinks;
  TensorView ffn_gate_inp_b;
  TensorView ffn_gate_exps_b, ffn_up_exps_b, ffn_down_exps_b;
  // The shared expert (hp.n_ff_shexp > 0, qwen35moe; else absent): gate and up [n_embd ->
  // n_ff_shexp], down [n_ff_shexp -> n_embd], and its gate's weights [n_embd] (one logit).
  TensorView ffn_gate_shexp, ffn_up_shexp, ffn_down_shexp, ffn_gate_inp_shexp;
  // Gemma 4's experts (data == nullptr when absent): gate and up merged per expert
  // (ffn_gate_up_exps: expert e's n_ff_exp gate rows, then its n_ff_exp up rows; used in place of
  // ffn_gate_exps / ffn_up_exps, which are then absent), the router's input norm weight [n_embd]
  // (the router reads rmsnorm(residual) * it), one scale per expert on its routing weight
  // [n_expert], and the norms of the two feed-forward branches: before the experts
  // (pre_ffw_norm_2), after the dense feed-forward (post_ffw_norm_1) and after the experts
  // (post_ffw_norm_2), all [n_embd].
  TensorView ffn_gate_up_exps, ffn_gate_inp_s, ffn_down_exps_s;
  TensorView ffn_pre_norm_2, ffn_post_norm_1, ffn_post_norm_2;
  // Gated DeltaNet (qwen35's recurrent layers, which have no wq/wk/wv/wo; model/delta_net.h):
  // q, k and v in one projection [n_embd -> conv_dim], the output gate z [n_embd -> d_inner],
  // beta and alpha [n_embd -> value heads], the convolution's taps [d_conv] per channel, the
  // decay's bias (ssm_dt) and scale (ssm_a) per value head, the output norm [head_v] and
  // projection [d_inner -> n_embd].
  TensorView delta_qkv, delta_z, delta_beta, delta_alpha;
  TensorView delta_conv, delta_dt, delta_a, delta_norm, delta_out;
  // Gemma 4 (data == nullptr when absent): the per-layer embedding's gate [n_embd -> P] and
  // projection [P -> n_embd] with its norm [n_embd] (P = hp.n_embd_per_layer), and the scalar
  // the layer's output is multiplied by [1].
  TensorView ple_gate, ple_proj, ple_post_norm;
  TensorView out_scale;
};

// What an encoder layer (bert, nomic-bert; model/encoder.h) has beyond LayerWeights' matrices
// and q/k/v biases: post-LayerNorms with biases, and the output and feed-forward biases (bert).
struct EncoderLayerWeights {
  TensorView bo;                              // [n_embd] (bert; else absent)
  TensorView attn_out_norm, attn_out_norm_b;  // [n_embd]
  TensorView ffn_up_b, ffn_down_b;            // [n_ff], [n_embd] (bert; else absent)
  TensorView out_norm, out_norm_b;            // [n_embd]
};

struct Model {
  std::shared_ptr<GgufFile> file;
  HParams hp;
  TensorView token_embd;           // [n_embd] x n_vocab rows
  TensorView output_norm;          // [n_embd]
  TensorView output;               // [n_embd] x n_vocab rows (token_embd when tied)
  bool tied_embeddings = false;
  std::vector<float> rope_freqs;   // Llama 3 frequency factors (empty when absent)
  // LongRoPE frequency factors (n_rot/2 each; empty when absent): a context chooses one set.
  std::vector<float> rope_factors_long, rope_factors_short;
  std::vector<LayerWeights> layers;
  // Gemma 4's per-layer embeddings (hp.n_embd_per_layer > 0): per token one row of
  // n_layer * P values, the projection of the scaled embedding to the same width, and the norm
  // [P] applied to each layer's part of that projection.
  TensorView per_layer_token_embd, per_layer_model_proj, per_layer_proj_norm;
  // Encoders only (hp.encoder): token-type row 0 and absolute positions (bert) are added to the
  // token embedding, which a LayerNorm then normalises; per-layer extras beside `layers`.
  TensorView token_types, pos_embd, embd_norm, embd_norm_b;
  std::vector<EncoderLayerWeights> encoder_layers;
  // Cross-encoder rerankers (pooling_type rank): classification head over the [CLS] row,
  // cls [n_embd -> C] with bias (C = n_embd, or 1 without cls.output), cls.output [C -> 1] with bias.
  TensorView cls, cls_b, cls_out, cls_out_b;
  // The one arena of weights repacked for the kernels in use (repack_weights.cpp); the views
  // point into it and the file pages they came from are released. The small tensors every pass
  // reads (norms, biases) are copied there too, so no pass touches the mapping near them.
  std::unique_ptr<uint8_t, void (*)(void*)> repacked{nullptr, std::free};
  size_t repacked_bytes = 0;  // the repacked matrices' bytes
  size_t arena_bytes = 0;     // the arena's size (repacked matrices, small tensors, padding)
  // Bytes the repack may copy out of the file mapping; -1: 80% of the machine's free memory
  // (MemAvailable) when it runs. A model larger than that still runs: what does not fit stays
  // mapped from the file, expert tensors first (a token reads only k of them), so the page
  // cache holds what it can and the active weights are read from the file as needed.
  int64_t repack_memory_limit = -1;
  size_t weights_left_mapped = 0;  // matrix bytes left in the file layout for lack of memory

  // Opens `path`, reads hyper-parameters and binds every tensor, checking shapes and types.
  static Result<std::shared_ptr<Model>> load(const std::string& path);
  static Result<std::shared_ptr<Model>> from_gguf(std::shared_ptr<GgufFile> file);

  // Repacks every matrix the active kernel table computes faster interleaved (kernels/repack.h);
  // a no-op with CORRAL_REPACK=0 or for the scalar table.
  void repack_for_kernels();

  // Repacks once, before the first forward pass of any context uses the weights (so loading
  // stays a map and bind, and the first pass pays the copy where it would otherwise pay the
  // page faults). Thread-safe; the views change only inside the once-call, before any
  // forward pass reads them. Models are always created non-const (load/from_gguf), which is
  // what lets a const Model repack itself here.
  void prepare_for_kernels() const;

 private:
  void fit_to_free_memory(std::vector<TensorView*>& todo);
  mutable std::once_flag repack_once_;
};

}  // namespace corral
