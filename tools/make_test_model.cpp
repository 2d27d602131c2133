// make_test_model: writes a GGUF with seeded random weights at any shape, for llama (optionally
// Llama-3 rope_freqs and tied embeddings), qwen2 (q/k/v biases), qwen3 (q/k norms, key_length),
// smollm3, gemma2 (post norms, soft-capping, sliding window) and gemma3 (q/k and post norms,
// sliding window, linear RoPE scaling) and phi3 (fused attn_qkv and gate+up, partial rotary,
// LongRoPE factors), mixtures of experts (qwen3moe; llama with --experts, as Mixtral; gpt-oss
// with its biases, sinks, alternating windows, YaRN and the MXFP4 expert mix), and qwen35
// (Gated DeltaNet layers with a full-attention layer every --full-attn-interval; qwen35moe: with
// routed experts and a gated shared expert for the feed-forward), gemma4 (windowed layers with
// their own head size and RoPE, shared-KV layers, per-layer embeddings, layers whose values are
// their keys, rope_freqs on the global layers; with --experts, the 26B-A4B's experts beside the
// dense feed-forward, gate and up merged per expert unless --split-gate-up), with
// tensor names and metadata keys as llama.cpp's
// converter writes them. Streams tensors to
// disk, so a 3B model needs only a few MiB of memory. Non-goal: meaningful weights.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/file_util.h"
#include "base/thread_pool.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tensor/quant.h"
#include "tokenizer/tokenizer_json.h"

namespace corral {
namespace {

struct Spec {
  std::string arch = "llama";
  std::string type_name = "f32";
  int64_t n_embd = 256;
  int64_t n_ff = 768;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t n_vocab = 512;
  int64_t n_ctx = 2048;
  int64_t head_dim = 0;     // 0: n_embd / n_head (qwen3: 128)
  double rope_theta = 0;    // 0: the architecture's usual value
  double rms_eps = 0;       // 0: the architecture's usual value
  int tied = -1;            // -1: the architecture's usual choice
  bool llama3_rope = false;
  double rope_scale_factor = 32.0;  // Llama 3.2; Llama 3.1 uses 8
  double rope_scale_linear = 0;     // > 0: rope.scaling.type linear with this factor
  int64_t window = 0;               // gemma: attention.sliding_window (0: the family's default)
  double attn_softcap = 50.0;       // gemma2: attn_logit_softcapping
  double final_softcap = 30.0;      // gemma2: final_logit_softcapping
  int64_t n_rot = 0;                // rope.dimension_count (0: the head size)
  int64_t rope_orig_ctx = 4096;     // phi3: rope.scaling.original_context_length
  bool factors_of_rot = false;      // phi3: LongRoPE factors of n_rot/2 (Phi-4-mini) not head_dim/2
  int64_t n_expert = 0;             // > 0: a mixture of experts (qwen3moe needs it)
  int64_t n_expert_used = 2;
  int64_t n_ff_exp = 0;             // qwen3moe: expert width (0: n_ff); llama experts are n_ff wide
  int64_t n_ff_shexp = 0;           // qwen35moe: the shared expert's width (0: the experts')
  double router_scale = 2.0;        // the router's weight on each routing dimension (see route_code)
  double expert_gain = 1.0;         // gate/up experts' weights times this, down's divided by its square
  double yarn_factor = 32.0;        // gpt-oss: rope.scaling.factor (YaRN)
  int64_t yarn_orig_ctx = 4096;     // gpt-oss: rope.scaling.original_context_length
  uint64_t seed = 1;
  std::string name;
  std::string vocab_path;
  std::string tokenizer_json_path;
  std::string tokenizer_config_path;  // empty: tokenizer_config.json beside tokenizer.json, if any
  std::string out;
  bool n_vocab_given = false;
  int64_t pooling = 1;              // encoders: pooling_type (1 mean, 2 cls, 3 last, 4 rank)
  int64_t n_token_types = 2;        // encoders: rows of token_types (1: XLM-RoBERTa rerankers)
  // qwen35: a full-attention layer every full_attn_interval layers, Gated DeltaNet layers
  // between, with ssm_groups q/k heads and ssm_heads value heads, all ssm_state wide, and a
  // convolution of ssm_conv taps.
  int64_t full_attn_interval = 4;
  int64_t ssm_conv = 4;
  int64_t ssm_state = 64;
  int64_t ssm_groups = 2;
  int64_t ssm_heads = 4;
  // gemma4: every swa_period-th layer global, the others windowed (their heads head_dim_swa
  // wide, RoPE base rope_theta_swa); the last shared_kv layers read earlier layers' caches;
  // per-layer embeddings n_embd_per_layer wide; k_eq_v: global layers without attn_v.
  int64_t swa_period = 3;
  int64_t head_dim_swa = 0;     // 0: half the head size
  double rope_theta_swa = 10000.0;
  int64_t shared_kv = 0;
  int64_t n_embd_per_layer = 32;
  bool k_eq_v = false;
  bool split_gate_up = false;   // gemma4 experts: ffn_gate_exps and ffn_up_exps, not ffn_gate_up_exps
  // gemma4 per-layer arrays: the global layers' KV heads (0: --n-head-kv), and the shared-KV
  // layers' feed-forward twice as wide (E2B's double-wide MLP). Either writes feed_forward_length,
  // head_count and head_count_kv as one value per layer.
  int64_t n_head_kv_global = 0;
  bool double_wide_ff = false;
};

// ---- deterministic random numbers: one independent stream per (seed, tensor, row) ----

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Uniform in [-1, 1).
float next_signed_unit(uint64_t& state) {
  return static_cast<float>(splitmix64(state) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

// ---- the tensor plan ----

enum class Init {
  // Uniform with std 1/sqrt(row length): keeps activations near unit scale. token_embd uses it
  // too, so the residual stream is not dominated by the input embedding; with tied embeddings a
  // larger scale makes every position predict its own input token.
  kMatrix,
  kNorm,       // 1 +- 0.1
  kBias,       // +- 0.1
  kRopeFreqs,  // Llama 3 frequency factors, not random
  kLongFactors,   // LongRoPE long factors: 1..16
  kShortFactors,  // LongRoPE short factors: 1..1.5
  kRouter,  // expert router: reads routing dimension e for expert e (see route_code)
  kRouterBias,  // +- 0.02: small next to the routing margins
  kSink,        // gpt-oss attention sinks: -1..3
  kDecayScale,  // qwen35 ssm_a: -exp(u) / 2, in [-1.36, -0.18] (the decay's negative scale)
  kProportionalRope,  // gemma4 rope_freqs: 1 for the first quarter of the pairs, 1e30 after (unrotated)
  kLayerScale,  // gemma4 layer_output_scale: 0.5..1
  kExpertScale,  // gemma4 ffn_down_exps.scale (one per expert): 0.5..1.5
  // gemma4 q/k norms: 0.4 +- 0.04. Its attention is not scaled, so with weights near 1 the
  // scores of random heads (std ~ head size) make every softmax one-hot, and a cache's F16
  // rounding moves logits by more than the conformance bounds; near 0.4 the scores are of
  // order 1, as a trained model's are.
  kQkNorm,
};

struct PlannedTensor {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;
  Init init;
};

int64_t head_dim_of(const Spec& s) {
  if (s.head_dim > 0) return s.head_dim;
  if (s.arch == "qwen3" || s.arch == "qwen3moe") return 128;
  return s.n_embd / s.n_head;
}

bool is_gptoss(const Spec& s) { return s.arch == "gpt-oss"; }
bool is_tied(const Spec& s) {
  return s.tied >= 0 ? s.tied == 1 : s.arch != "llama" && s.arch != "phi3" && s.arch != "qwen3moe" && !is_gptoss(s);
}
// qwen35 and its MoE variant qwen35moe (the same hybrid layers, experts for the feed-forward).
bool is_qwen35(const Spec& s) { return s.arch == "qwen35" || s.arch == "qwen35moe"; }
bool is_qwen35moe(const Spec& s) { return s.arch == "qwen35moe"; }
bool is_gemma(const Spec& s) { return s.arch == "gemma2" || s.arch == "gemma3" || s.arch == "gemma4"; }
bool has_qk_norms(const Spec& s) { return s.arch == "qwen3" || s.arch == "qwen3moe" || s.arch == "gemma3"; }
int64_t n_ff_exp_of(const Spec& s) {
  return (s.arch == "qwen3moe" || is_gptoss(s) || is_qwen35moe(s) || s.arch == "gemma4") && s.n_ff_exp > 0 ? s.n_ff_exp : s.n_ff;
}
int64_t n_ff_shexp_of(const Spec& s) { return s.n_ff_shexp > 0 ? s.n_ff_shexp : n_ff_exp_of(s); }
bool is_phi3(const Spec& s) { return s.arch == "phi3"; }
bool is_encoder(const Spec& s) { return s.arch == "bert" || s.arch == "nomic-bert"; }

bool is_delta_layer(const Spec& s, int64_t il) { return is_qwen35(s) && (il + 1) % s.full_attn_interval != 0; }
bool is_gemma4(const Spec& s) { return s.arch == "gemma4"; }
bool is_swa_layer(const Spec& s, int64_t il) { return is_gemma4(s) && (il + 1) % s.swa_period != 0; }
int64_t head_dim_swa_of(const Spec& s) { return s.head_dim_swa > 0 ? s.head_dim_swa : head_dim_of(s) / 2; }
int64_t n_rot_of(const Spec& s) { return s.n_rot > 0 ? s.n_rot : head_dim_of(s); }
// gemma4's per-layer KV heads and feed-forward width (the same in every layer unless
// --n-head-kv-global or --double-wide-ff).
bool has_layer_arrays(const Spec& s) { return is_gemma4(s) && (s.n_head_kv_global > 0 || s.double_wide_ff); }
int64_t n_head_kv_at(const Spec& s, int64_t il) {
  return is_gemma4(s) && s.n_head_kv_global > 0 && !is_swa_layer(s, il) ? s.n_head_kv_global : s.n_head_kv;
}
int64_t n_ff_at(const Spec& s, int64_t il) {
  return is_gemma4(s) && s.double_wide_ff && il >= s.n_layer - s.shared_kv ? 2 * s.n_ff : s.n_ff;
}

// The weight-matrix types: one type for all, or one of llama-quantize's K_M mixes, which keep
// more bits where quantization hurts most.
struct WeightTypes {
  GgmlType base = GgmlType::kF32;
  int k_mix = 0;  // 3, 4, 5: Q3_K_M, Q4_K_M, Q5_K_M; 0: every matrix in `base`
  uint32_t file_type = 0;
  // "mxfp4": llama-quantize's MXFP4_MOE, as gpt-oss files are quantized: the 3-D expert tensors
  // MXFP4, every other matrix Q8_0 (`base`); the router stays F32.
  bool mxfp4_experts = false;
};

// llama-quantize's layer choice for the extra bits of Q4_K_M/Q5_K_M: the first and last eighth
// of the layers, and every third layer between.
bool use_more_bits(int64_t il, int64_t n_layer) {
  return il < n_layer / 8 || il >= 7 * n_layer / 8 || (il - n_layer / 8) % 3 == 2;
}

// The type of one matrix; `role` is the name without "blk.N." and ".weight".
GgmlType matrix_type(const WeightTypes& wt, const std::string& role, int64_t il, int64_t n_layer) {
  if (wt.mxfp4_experts && role.size() > 5 && role.compare(role.size() - 5, 5, "_exps") == 0) return GgmlType::kMXFP4;
  if (wt.k_mix == 0) return wt.base;
  if (role == "output") return GgmlType::kQ6_K;  // also token_embd when it is tied to the output
  if (role == "attn_v") {
    if (wt.k_mix == 3) return il < 2 ? GgmlType::kQ5_K : GgmlType::kQ4_K;
    return use_more_bits(il, n_layer) ? GgmlType::kQ6_K : wt.base;
  }
  if (role == "ffn_down" || role == "ffn_down_exps" || role == "ffn_down_shexp") {
    if (wt.k_mix == 3) return il < n_layer / 16 ? GgmlType::kQ5_K : GgmlType::kQ4_K;
    return use_more_bits(il, n_layer) ? GgmlType::kQ6_K : wt.base;
  }
  if (role == "attn_output" && wt.k_mix == 3) return GgmlType::kQ4_K;
  return wt.base;
}

std::vector<PlannedTensor> plan_encoder_tensors(const Spec& s, const WeightTypes& wt);

// qwen35 after attn_norm: a Gated DeltaNet layer (q/k/v in attn_qkv, the output gate attn_gate,
// the convolution's taps, the decay's bias and scale, beta and alpha, the output norm and
// projection; the small ones F32, as llama-quantize leaves them) or a full-attention layer with
// a gate per head in attn_q and q/k norms; then the feed-forward, whose norm is named
// post_attention_norm.
void plan_qwen35_layer(const Spec& s, const WeightTypes& wt, int64_t il, std::vector<PlannedTensor>& out) {
  const std::string p = "blk." + std::to_string(il) + ".";
  const int64_t E = s.n_embd, hd = head_dim_of(s), key_dim = s.ssm_groups * s.ssm_state;
  const int64_t value_dim = s.ssm_heads * s.ssm_state, conv_dim = 2 * key_dim + value_dim;
  auto add = [&](std::string name, GgmlType t, std::vector<int64_t> ne, Init init) {
    out.push_back({std::move(name), t, std::move(ne), init});
  };
  auto mat = [&](const std::string& role) { return matrix_type(wt, role, il, s.n_layer); };
  add(p + "post_attention_norm.weight", GgmlType::kF32, {E}, Init::kNorm);
  if (is_delta_layer(s, il)) {
    add(p + "attn_qkv.weight", mat("attn_qkv"), {E, conv_dim}, Init::kMatrix);
    add(p + "attn_gate.weight", mat("attn_gate"), {E, value_dim}, Init::kMatrix);
    add(p + "ssm_conv1d.weight", GgmlType::kF32, {s.ssm_conv, conv_dim}, Init::kMatrix);
    add(p + "ssm_dt.bias", GgmlType::kF32, {s.ssm_heads}, Init::kBias);
    add(p + "ssm_a", GgmlType::kF32, {s.ssm_heads}, Init::kDecayScale);
    add(p + "ssm_beta.weight", mat("ssm_beta"), {E, s.ssm_heads}, Init::kMatrix);
    add(p + "ssm_alpha.weight", mat("ssm_alpha"), {E, s.ssm_heads}, Init::kMatrix);
    add(p + "ssm_norm.weight", GgmlType::kF32, {s.ssm_state}, Init::kNorm);
    add(p + "ssm_out.weight", mat("ssm_out"), {value_dim, E}, Init::kMatrix);
  } else {
    add(p + "attn_q.weight", mat("attn_q"), {E, 2 * s.n_head * hd}, Init::kMatrix);
    add(p + "attn_k.weight", mat("attn_k"), {E, s.n_head_kv * hd}, Init::kMatrix);
    add(p + "attn_v.weight", mat("attn_v"), {E, s.n_head_kv * hd}, Init::kMatrix);
    add(p + "attn_q_norm.weight", GgmlType::kF32, {hd}, Init::kNorm);
    add(p + "attn_k_norm.weight", GgmlType::kF32, {hd}, Init::kNorm);
    add(p + "attn_output.weight", mat("attn_output"), {s.n_head * hd, E}, Init::kMatrix);
  }
  if (is_qwen35moe(s)) {
    // Routed experts (the router F32, as llama-quantize leaves it), then the shared expert and
    // its gate, a vector of n_embd (F32: one row).
    const int64_t f = n_ff_exp_of(s), sh = n_ff_shexp_of(s);
    add(p + "ffn_gate_inp.weight", GgmlType::kF32, {E, s.n_expert}, Init::kRouter);
    add(p + "ffn_gate_exps.weight", mat("ffn_gate_exps"), {E, f, s.n_expert}, Init::kMatrix);
    add(p + "ffn_down_exps.weight", mat("ffn_down_exps"), {f, E, s.n_expert}, Init::kMatrix);
    add(p + "ffn_up_exps.weight", mat("ffn_up_exps"), {E, f, s.n_expert}, Init::kMatrix);
    add(p + "ffn_gate_inp_shexp.weight", GgmlType::kF32, {E}, Init::kMatrix);
    add(p + "ffn_gate_shexp.weight", mat("ffn_gate_shexp"), {E, sh}, Init::kMatrix);
    add(p + "ffn_down_shexp.weight", mat("ffn_down_shexp"), {sh, E}, Init::kMatrix);
    add(p + "ffn_up_shexp.weight", mat("ffn_up_shexp"), {E, sh}, Init::kMatrix);
    return;
  }
  add(p + "ffn_gate.weight", mat("ffn_gate"), {E, s.n_ff}, Init::kMatrix);
  add(p + "ffn_up.weight", mat("ffn_up"), {E, s.n_ff}, Init::kMatrix);
  add(p + "ffn_down.weight", mat("ffn_down"), {s.n_ff, E}, Init::kMatrix);
}

// gemma4 after attn_norm: queries (and, unless the layer shares another's cache, keys and
// values, or keys only on global layers with --k-eq-v) with q/k norms of the layer's head size,
// the output projection and post-norm, the GELU feed-forward with its norms, the per-layer
// embedding's gate, projection and norm, and the output scalar. Matrices whose rows the type's
// blocks do not divide (the per-layer embedding's, narrow heads' output) are Q8_0, as
// llama-quantize falls back to another type for them.
void plan_gemma4_layer(const Spec& s, const WeightTypes& wt, int64_t il, std::vector<PlannedTensor>& out) {
  const std::string p = "blk." + std::to_string(il) + ".";
  const int64_t E = s.n_embd, hd = is_swa_layer(s, il) ? head_dim_swa_of(s) : head_dim_of(s);
  const bool own_kv = il < s.n_layer - s.shared_kv;
  auto add = [&](std::string name, GgmlType t, std::vector<int64_t> ne, Init init) {
    out.push_back({std::move(name), t, std::move(ne), init});
  };
  auto mat = [&](const std::string& role, int64_t row) {
    const GgmlType t = matrix_type(wt, role, il, s.n_layer);
    return row % ggml_type_info(t).block_elems == 0 ? t : GgmlType::kQ8_0;
  };
  add(p + "attn_q.weight", mat("attn_q", E), {E, s.n_head * hd}, Init::kMatrix);
  if (own_kv) {
    add(p + "attn_k.weight", mat("attn_k", E), {E, n_head_kv_at(s, il) * hd}, Init::kMatrix);
    if (!(s.k_eq_v && !is_swa_layer(s, il)))
      add(p + "attn_v.weight", mat("attn_v", E), {E, n_head_kv_at(s, il) * hd}, Init::kMatrix);
  }
  add(p + "attn_q_norm.weight", GgmlType::kF32, {hd}, Init::kQkNorm);
  if (own_kv) add(p + "attn_k_norm.weight", GgmlType::kF32, {hd}, Init::kQkNorm);
  add(p + "attn_output.weight", mat("attn_output", s.n_head * hd), {s.n_head * hd, E}, Init::kMatrix);
  add(p + "post_attention_norm.weight", GgmlType::kF32, {E}, Init::kNorm);
  add(p + "ffn_norm.weight", GgmlType::kF32, {E}, Init::kNorm);
  const int64_t F = n_ff_at(s, il);
  add(p + "ffn_gate.weight", mat("ffn_gate", E), {E, F}, Init::kMatrix);
  add(p + "ffn_up.weight", mat("ffn_up", E), {E, F}, Init::kMatrix);
  add(p + "ffn_down.weight", mat("ffn_down", F), {F, E}, Init::kMatrix);
  add(p + "post_ffw_norm.weight", GgmlType::kF32, {E}, Init::kNorm);
  if (s.n_expert > 0) {
    // Experts beside the dense feed-forward: the router (F32) with its input norm weight, the two
    // branches' norms, gate and up merged per expert (as the converter writes them: an expert's
    // gate rows, then its up rows) or split, down, and one scale per expert.
    const int64_t f = n_ff_exp_of(s), X = s.n_expert;
    add(p + "ffn_gate_inp.weight", GgmlType::kF32, {E, X}, Init::kRouter);
    add(p + "ffn_gate_inp.scale", GgmlType::kF32, {E}, Init::kNorm);
    add(p + "pre_ffw_norm_2.weight", GgmlType::kF32, {E}, Init::kNorm);
    add(p + "post_ffw_norm_1.weight", GgmlType::kF32, {E}, Init::kNorm);
    add(p + "post_ffw_norm_2.weight", GgmlType::kF32, {E}, Init::kNorm);
    if (s.split_gate_up) {
      add(p + "ffn_gate_exps.weight", mat("ffn_gate_exps", E), {E, f, X}, Init::kMatrix);
      add(p + "ffn_up_exps.weight", mat("ffn_up_exps", E), {E, f, X}, Init::kMatrix);
    } else {
      add(p + "ffn_gate_up_exps.weight", mat("ffn_gate_up_exps", E), {E, 2 * f, X}, Init::kMatrix);
    }
    add(p + "ffn_down_exps.weight", mat("ffn_down_exps", f), {f, E, X}, Init::kMatrix);
    add(p + "ffn_down_exps.scale", GgmlType::kF32, {X}, Init::kExpertScale);
  }
  if (s.n_embd_per_layer > 0) {
    add(p + "inp_gate.weight", mat("inp_gate", E), {E, s.n_embd_per_layer}, Init::kMatrix);
    add(p + "proj.weight", mat("proj", s.n_embd_per_layer), {s.n_embd_per_layer, E}, Init::kMatrix);
    add(p + "post_norm.weight", GgmlType::kF32, {E}, Init::kNorm);
  }
  add(p + "layer_output_scale.weight", GgmlType::kF32, {1}, Init::kLayerScale);
}

std::vector<PlannedTensor> plan_tensors(const Spec& s, const WeightTypes& wt) {
  if (is_encoder(s)) return plan_encoder_tensors(s, wt);
  const int64_t hd = head_dim_of(s);
  const int64_t q_dim = s.n_head * hd;
  const int64_t kv_dim = s.n_head_kv * hd;
  std::vector<PlannedTensor> out;
  auto add = [&](std::string name, GgmlType t, std::vector<int64_t> ne, Init init) {
    out.push_back({std::move(name), t, std::move(ne), init});
  };
  auto mat = [&](const std::string& role, int64_t il) { return matrix_type(wt, role, il, s.n_layer); };
  add("token_embd.weight", mat(is_tied(s) ? "output" : "token_embd", 0), {s.n_embd, s.n_vocab}, Init::kMatrix);
  if (s.llama3_rope) add("rope_freqs.weight", GgmlType::kF32, {hd / 2}, Init::kRopeFreqs);
  if (is_gemma4(s)) {
    add("rope_freqs.weight", GgmlType::kF32, {hd / 2}, Init::kProportionalRope);
    if (s.n_embd_per_layer > 0) {
      const int64_t width = s.n_embd_per_layer * s.n_layer;
      const GgmlType t = mat("per_layer_token_embd", 0);
      add("per_layer_token_embd.weight", width % ggml_type_info(t).block_elems == 0 ? t : GgmlType::kQ8_0,
          {width, s.n_vocab}, Init::kMatrix);
      add("per_layer_model_proj.weight", mat("per_layer_model_proj", 0), {s.n_embd, width}, Init::kMatrix);
      add("per_layer_proj_norm.weight", GgmlType::kF32, {s.n_embd_per_layer}, Init::kNorm);
    }
  }
  if (is_phi3(s)) {
    const int64_t n = (s.factors_of_rot ? n_rot_of(s) : hd) / 2;
    add("rope_factors_long.weight", GgmlType::kF32, {n}, Init::kLongFactors);
    add("rope_factors_short.weight", GgmlType::kF32, {n}, Init::kShortFactors);
  }
  for (int64_t il = 0; il < s.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    add(p + "attn_norm.weight", GgmlType::kF32, {s.n_embd}, Init::kNorm);
    if (is_qwen35(s)) {
      plan_qwen35_layer(s, wt, il, out);
      continue;
    }
    if (is_gemma4(s)) {
      plan_gemma4_layer(s, wt, il, out);
      continue;
    }
    if (is_phi3(s)) {
      add(p + "attn_qkv.weight", mat("attn_qkv", il), {s.n_embd, q_dim + 2 * kv_dim}, Init::kMatrix);
    } else {
      add(p + "attn_q.weight", mat("attn_q", il), {s.n_embd, q_dim}, Init::kMatrix);
      add(p + "attn_k.weight", mat("attn_k", il), {s.n_embd, kv_dim}, Init::kMatrix);
      add(p + "attn_v.weight", mat("attn_v", il), {s.n_embd, kv_dim}, Init::kMatrix);
    }
    if (s.arch == "qwen2" || is_gptoss(s)) {
      add(p + "attn_q.bias", GgmlType::kF32, {q_dim}, Init::kBias);
      add(p + "attn_k.bias", GgmlType::kF32, {kv_dim}, Init::kBias);
      add(p + "attn_v.bias", GgmlType::kF32, {kv_dim}, Init::kBias);
    }
    if (has_qk_norms(s)) {
      add(p + "attn_q_norm.weight", GgmlType::kF32, {hd}, Init::kNorm);
      add(p + "attn_k_norm.weight", GgmlType::kF32, {hd}, Init::kNorm);
    }
    add(p + "attn_output.weight", mat("attn_output", il), {q_dim, s.n_embd}, Init::kMatrix);
    if (is_gptoss(s)) {
      // gpt-oss: output bias, a sink per head; its feed-forward norm is named post_attention_norm.
      add(p + "attn_output.bias", GgmlType::kF32, {s.n_embd}, Init::kBias);
      add(p + "attn_sinks.weight", GgmlType::kF32, {s.n_head}, Init::kSink);
      add(p + "post_attention_norm.weight", GgmlType::kF32, {s.n_embd}, Init::kNorm);
    } else {
      if (is_gemma(s)) add(p + "post_attention_norm.weight", GgmlType::kF32, {s.n_embd}, Init::kNorm);
      add(p + "ffn_norm.weight", GgmlType::kF32, {s.n_embd}, Init::kNorm);
    }
    if (s.n_expert > 0) {
      // The router stays F32, as llama-quantize leaves it.
      const int64_t f = n_ff_exp_of(s);
      add(p + "ffn_gate_inp.weight", GgmlType::kF32, {s.n_embd, s.n_expert}, Init::kRouter);
      add(p + "ffn_gate_exps.weight", mat("ffn_gate_exps", il), {s.n_embd, f, s.n_expert}, Init::kMatrix);
      add(p + "ffn_down_exps.weight", mat("ffn_down_exps", il), {f, s.n_embd, s.n_expert}, Init::kMatrix);
      add(p + "ffn_up_exps.weight", mat("ffn_up_exps", il), {s.n_embd, f, s.n_expert}, Init::kMatrix);
      if (is_gptoss(s)) {
        add(p + "ffn_gate_inp.bias", GgmlType::kF32, {s.n_expert}, Init::kRouterBias);
        add(p + "ffn_gate_exps.bias", GgmlType::kF32, {f, s.n_expert}, Init::kBias);
        add(p + "ffn_down_exps.bias", GgmlType::kF32, {s.n_embd, s.n_expert}, Init::kBias);
        add(p + "ffn_up_exps.bias", GgmlType::kF32, {f, s.n_expert}, Init::kBias);
      }
    } else if (is_phi3(s)) {
      add(p + "ffn_up.weight", mat("ffn_up", il), {s.n_embd, 2 * s.n_ff}, Init::kMatrix);
    } else {
      add(p + "ffn_gate.weight", mat("ffn_gate", il), {s.n_embd, s.n_ff}, Init::kMatrix);
      add(p + "ffn_up.weight", mat("ffn_up", il), {s.n_embd, s.n_ff}, Init::kMatrix);
    }
    if (s.n_expert == 0) add(p + "ffn_down.weight", mat("ffn_down", il), {s.n_ff, s.n_embd}, Init::kMatrix);
    if (is_gemma(s)) add(p + "post_ffw_norm.weight", GgmlType::kF32, {s.n_embd}, Init::kNorm);
  }
  add("output_norm.weight", GgmlType::kF32, {s.n_embd}, Init::kNorm);
  if (!is_tied(s)) add("output.weight", mat("output", 0), {s.n_embd, s.n_vocab}, Init::kMatrix);
  return out;
}

// bert and nomic-bert, in the converter's tensor names: token, token-type (2) and (bert)
// position embeddings with their LayerNorm; per layer q/k/v with biases (bert) or a fused qkv
// (nomic-bert), the output projection, post-LayerNorms, and a biased GELU (bert) or SwiGLU
// (nomic-bert) feed-forward.
std::vector<PlannedTensor> plan_encoder_tensors(const Spec& s, const WeightTypes& wt) {
  const bool bert = s.arch == "bert";
  const int64_t E = s.n_embd, F = s.n_ff;
  std::vector<PlannedTensor> out;
  auto add = [&](std::string name, GgmlType t, std::vector<int64_t> ne, Init init) {
    out.push_back({std::move(name), t, std::move(ne), init});
  };
  auto mat = [&](const std::string& role, int64_t il) { return matrix_type(wt, role, il, s.n_layer); };
  add("token_embd.weight", mat("token_embd", 0), {E, s.n_vocab}, Init::kMatrix);
  add("token_types.weight", GgmlType::kF32, {E, s.n_token_types}, Init::kMatrix);
  if (bert) add("position_embd.weight", GgmlType::kF32, {E, s.n_ctx}, Init::kMatrix);
  add("token_embd_norm.weight", GgmlType::kF32, {E}, Init::kNorm);
  add("token_embd_norm.bias", GgmlType::kF32, {E}, Init::kBias);
  for (int64_t il = 0; il < s.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    if (bert) {
      for (const char* r : {"attn_q", "attn_k", "attn_v"}) {
        add(p + r + ".weight", mat(r, il), {E, E}, Init::kMatrix);
        add(p + r + ".bias", GgmlType::kF32, {E}, Init::kBias);
      }
    } else {
      add(p + "attn_qkv.weight", mat("attn_qkv", il), {E, 3 * E}, Init::kMatrix);
    }
    add(p + "attn_output.weight", mat("attn_output", il), {E, E}, Init::kMatrix);
    if (bert) add(p + "attn_output.bias", GgmlType::kF32, {E}, Init::kBias);
    add(p + "attn_output_norm.weight", GgmlType::kF32, {E}, Init::kNorm);
    add(p + "attn_output_norm.bias", GgmlType::kF32, {E}, Init::kBias);
    if (!bert) add(p + "ffn_gate.weight", mat("ffn_gate", il), {E, F}, Init::kMatrix);
    add(p + "ffn_up.weight", mat("ffn_up", il), {E, F}, Init::kMatrix);
    if (bert) add(p + "ffn_up.bias", GgmlType::kF32, {F}, Init::kBias);
    add(p + "ffn_down.weight", mat("ffn_down", il), {F, E}, Init::kMatrix);
    if (bert) add(p + "ffn_down.bias", GgmlType::kF32, {E}, Init::kBias);
    add(p + "layer_output_norm.weight", GgmlType::kF32, {E}, Init::kNorm);
    add(p + "layer_output_norm.bias", GgmlType::kF32, {E}, Init::kBias);
  }
  if (s.pooling == 4) {  // a cross-encoder's classification head (RoBERTa's: dense, tanh, out_proj)
    add("cls.weight", GgmlType::kF32, {E, E}, Init::kMatrix);
    add("cls.bias", GgmlType::kF32, {E}, Init::kBias);
    add("cls.output.weight", GgmlType::kF32, {E, 1}, Init::kMatrix);
    add("cls.output.bias", GgmlType::kF32, {1}, Init::kBias);
  }
  return out;
}

// Llama 3 RoPE frequency factors (the converter's rope_freqs): wavelengths shorter than
// original_ctx / high_freq_factor keep their frequency, longer than original_ctx /
// low_freq_factor are divided by `factor`, and the band between is interpolated smoothly.
std::vector<float> llama3_rope_factors(const Spec& s) {
  const int64_t hd = head_dim_of(s);
  const double factor = s.rope_scale_factor, low = 1.0, high = 4.0, original_ctx = 8192.0;
  const double pi = 3.14159265358979323846;
  std::vector<float> out;
  for (int64_t i = 0; i < hd; i += 2) {
    const double freq = 1.0 / std::pow(s.rope_theta, static_cast<double>(i) / static_cast<double>(hd));
    const double wavelen = 2.0 * pi / freq;
    double f;
    if (wavelen < original_ctx / high) {
      f = 1.0;
    } else if (wavelen > original_ctx / low) {
      f = factor;
    } else {
      const double smooth = (original_ctx / wavelen - low) / (high - low);
      f = 1.0 / ((1.0 - smooth) / factor + smooth);
    }
    out.push_back(static_cast<float>(f));
  }
  return out;
}

// Routers with clear margins. A random router gives near-ties between the k-th and the next
// expert, which equally correct engines break differently (a different expert, a different
// output). Here the first n_expert dimensions of the residual stream are routing dimensions:
// each token's embedding holds there a level per expert, evenly spaced in the order of a
// per-token random permutation of the experts; no attention output or expert output writes
// to them (those rows are zero, exactly zero in every type), the feed-forward norm keeps them
// at weight 1, and router row e reads dimension e only. So a token's router logits are its
// levels times one positive factor (the norm's 1/rms): every engine picks the same experts,
// the margins are a level step apart, and over the vocabulary every expert is picked.
constexpr float kRouteStep = 0.05f;

float route_code(const Spec& s, int64_t token, int64_t expert) {
  std::vector<int64_t> perm(static_cast<size_t>(s.n_expert));
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
  uint64_t state = s.seed * 0x9e3779b97f4a7c15ull ^ fnv1a("route") ^ (static_cast<uint64_t>(token) << 1);
  for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[splitmix64(state) % i]);
  int64_t rank = 0;
  while (perm[static_cast<size_t>(rank)] != expert) ++rank;
  return kRouteStep * (static_cast<float>(s.n_expert - 1) / 2.0f - static_cast<float>(rank));
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

void apply_routing(const Spec& s, const PlannedTensor& t, int64_t row, float* dst) {
  const int64_t X = s.n_expert;
  if (t.name == "token_embd.weight") {
    for (int64_t e = 0; e < X; ++e) dst[e] = route_code(s, row, e);
  } else if (ends_with(t.name, "attn_output.weight") || ends_with(t.name, "ffn_down_exps.weight") ||
             ends_with(t.name, "ssm_out.weight") || ends_with(t.name, "ffn_down_shexp.weight") ||
             // gemma4: its dense feed-forward and per-layer embedding write to the residual too
             (is_gemma4(s) && (ends_with(t.name, "ffn_down.weight") || ends_with(t.name, ".proj.weight")))) {
    if (row % s.n_embd < X) std::fill(dst, dst + t.ne[0], 0.0f);
  } else if (ends_with(t.name, "attn_output.bias") || ends_with(t.name, "ffn_down_exps.bias")) {
    std::fill(dst, dst + X, 0.0f);  // gpt-oss: the output biases leave the routing dimensions alone
  } else if (ends_with(t.name, "ffn_norm.weight") || ends_with(t.name, "ffn_gate_inp.scale") ||
             ((is_gptoss(s) || is_qwen35moe(s)) && ends_with(t.name, "post_attention_norm.weight"))) {
    std::fill(dst, dst + X, 1.0f);
  } else if (t.init == Init::kRouter) {
    std::fill(dst, dst + t.ne[0], 0.0f);
    dst[row] = static_cast<float>(s.router_scale);
  }
}

void fill_row(const Spec& s, const PlannedTensor& t, int64_t row, float* dst) {
  const int64_t n = t.ne[0];
  uint64_t state = s.seed * 0x9e3779b97f4a7c15ull ^ fnv1a(t.name) ^ (static_cast<uint64_t>(row) << 1);
  splitmix64(state);
  const float matrix_amp = std::sqrt(3.0f / static_cast<float>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float u = next_signed_unit(state);
    switch (t.init) {
      case Init::kMatrix: dst[i] = u * matrix_amp; break;
      case Init::kRouter: break;
      case Init::kRouterBias: dst[i] = 0.02f * u; break;
      case Init::kSink: dst[i] = 1.0f + 2.0f * u; break;
      case Init::kNorm: dst[i] = 1.0f + 0.1f * u; break;
      case Init::kBias: dst[i] = 0.1f * u; break;
      case Init::kRopeFreqs: break;
      case Init::kLongFactors: dst[i] = 1.0f + 7.5f * (u + 1.0f); break;
      case Init::kShortFactors: dst[i] = 1.0f + 0.25f * (u + 1.0f); break;
      case Init::kDecayScale: dst[i] = -0.5f * std::exp(u); break;
      case Init::kProportionalRope: dst[i] = i < n / 4 ? 1.0f : 1e30f; break;
      case Init::kLayerScale: dst[i] = 0.75f + 0.25f * u; break;
      case Init::kExpertScale: dst[i] = 1.0f + 0.5f * u; break;
      case Init::kQkNorm: dst[i] = 0.4f + 0.04f * u; break;
    }
  }
  if (t.init == Init::kRopeFreqs) {
    const auto f = llama3_rope_factors(s);
    std::copy(f.begin(), f.end(), dst);
  }
  if (s.expert_gain != 1.0 && t.init == Init::kMatrix) {
    // Wider expert activations (gpt-oss: enough to reach its SwiGLU clamp), the same scale out.
    const auto gain = static_cast<float>(s.expert_gain);
    const float k = ends_with(t.name, "ffn_down_exps.weight") ? 1.0f / (gain * gain)
                    : ends_with(t.name, "ffn_gate_exps.weight") || ends_with(t.name, "ffn_up_exps.weight") ||
                              ends_with(t.name, "ffn_gate_up_exps.weight")
                          ? gain
                          : 1.0f;
    for (int64_t i = 0; i < n; ++i) dst[i] *= k;
  }
  if (s.n_expert > 0) apply_routing(s, t, row, dst);
}

// Streams one tensor: rows are generated and converted in parallel, a chunk at a time, and each
// row has its own random stream, so the bytes do not depend on the thread count.
Status stream_tensor(const Spec& s, const PlannedTensor& t, GgufByteSink& out) {
  const int64_t row_len = t.ne[0];
  int64_t n_rows = 1;
  for (size_t d = 1; d < t.ne.size(); ++d) n_rows *= t.ne[d];
  const size_t row_bytes = ggml_row_bytes(t.type, row_len);
  const int64_t chunk_rows = std::max<int64_t>(1, static_cast<int64_t>((8u << 20) / row_bytes));
  ThreadPool& pool = ThreadPool::global();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()),
                                          std::vector<float>(static_cast<size_t>(row_len)));
  std::vector<uint8_t> chunk;
  for (int64_t r0 = 0; r0 < n_rows; r0 += chunk_rows) {
    const int64_t n = std::min(chunk_rows, n_rows - r0);
    chunk.resize(static_cast<size_t>(n) * row_bytes);
    pool.parallel_for(static_cast<size_t>(n), [&](size_t begin, size_t end, int thread) {
      float* row = scratch[static_cast<size_t>(thread)].data();
      for (size_t r = begin; r < end; ++r) {
        fill_row(s, t, r0 + static_cast<int64_t>(r), row);
        quantize_row(t.type, row, chunk.data() + r * row_bytes, row_len);
      }
    });
    CORRAL_TRY(out.write(chunk.data(), chunk.size()));
  }
  return {};
}

// ---- metadata ----

// llama.cpp's LLAMA_FTYPE for a file whose matrices all have one type.
uint32_t file_type_of(GgmlType t) {
  switch (t) {
    case GgmlType::kF32: return 0;
    case GgmlType::kF16: return 1;
    case GgmlType::kQ4_0: return 2;
    case GgmlType::kQ4_1: return 3;
    case GgmlType::kQ8_0: return 7;
    case GgmlType::kQ5_0: return 8;
    case GgmlType::kQ5_1: return 9;
    case GgmlType::kQ2_K: return 10;
    case GgmlType::kQ3_K: return 11;  // Q3_K_S
    case GgmlType::kQ4_K: return 14;  // Q4_K_S
    case GgmlType::kQ5_K: return 16;  // Q5_K_S
    case GgmlType::kQ6_K: return 18;
    case GgmlType::kBF16: return 32;
    default: return 0;
  }
}

Result<WeightTypes> parse_type(const std::string& name) {
  std::string want = name;
  std::transform(want.begin(), want.end(), want.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (want == "q3_k_m") return WeightTypes{GgmlType::kQ3_K, 3, 12};
  if (want == "q4_k_m") return WeightTypes{GgmlType::kQ4_K, 4, 15};
  if (want == "q5_k_m") return WeightTypes{GgmlType::kQ5_K, 5, 17};
  if (want == "mxfp4") return WeightTypes{GgmlType::kQ8_0, 0, 38, true};  // LLAMA_FTYPE_MOSTLY_MXFP4_MOE
  std::string known;
  for (uint32_t id = 0; id < 64; ++id) {
    const GgmlTypeInfo* info = ggml_type_info(id);
    if (info == nullptr || quant_traits(info->type) == nullptr || quant_traits(info->type)->quantize == nullptr) continue;
    std::string n(info->name);
    known += (known.empty() ? "" : ", ") + n;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (n == want) return WeightTypes{info->type, 0, file_type_of(info->type)};
  }
  return make_error("unknown or unsupported tensor type '{}' (supported: {}, q3_K_M, q4_K_M, q5_K_M)",
                    name, known);
}

// A SentencePiece-style vocabulary with unique made-up pieces: <unk>, <s>, </s>, the 256 byte
// tokens when there is room, then "▁" + a base-26 word per id.
void write_synthetic_vocab(const Spec& s, GgufWriter& w) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  if (s.n_vocab >= 3 + 256 + 1) {
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      tokens.push_back(buf);
      types.push_back(6);
    }
  }
  for (int64_t i = static_cast<int64_t>(tokens.size()); i < s.n_vocab; ++i) {
    std::string word;
    for (int64_t v = i; v > 0; v /= 26) word.insert(word.begin(), static_cast<char>('a' + v % 26));
    tokens.push_back("\xe2\x96\x81" + word);
    types.push_back(1);
  }
  tokens.resize(static_cast<size_t>(s.n_vocab));
  types.resize(static_cast<size_t>(s.n_vocab));
  std::vector<float> scores(tokens.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = types[i] == 1 ? -static_cast<float>(i) : 0.0f;
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
}

using KeyValues = std::vector<std::pair<std::string, GgufValue>>;

// Reads every tokenizer.* key of a vocab GGUF, in file order; its token count decides n_vocab.
Status read_vocab(Spec& s, KeyValues& out) {
  auto vocab = GgufFile::open(s.vocab_path);
  if (!vocab) return vocab.error();
  const GgufArray* tokens = (*vocab)->get_array("tokenizer.ggml.tokens");
  if (tokens == nullptr) return make_error("{}: no tokenizer.ggml.tokens array", s.vocab_path);
  const auto n = static_cast<int64_t>(tokens->size());
  if (s.n_vocab_given && n != s.n_vocab)
    return make_error("{}: has {} tokens but --n-vocab is {}", s.vocab_path, n, s.n_vocab);
  s.n_vocab = n;
  for (const auto& key : (*vocab)->key_order())
    if (key.rfind("tokenizer.", 0) == 0) out.emplace_back(key, *(*vocab)->find(key));
  return {};
}

// Converts a Hugging Face tokenizer.json (with its tokenizer_config.json) into tokenizer.* keys
// through the tokenizer layer's converter; the token count decides n_vocab.
Status read_tokenizer_json(Spec& s, KeyValues& out) {
  auto tj = read_file(s.tokenizer_json_path);
  if (!tj) return tj.error();
  std::string config_path = s.tokenizer_config_path;
  if (config_path.empty()) {
    const auto beside = std::filesystem::path(s.tokenizer_json_path).parent_path() / "tokenizer_config.json";
    if (std::filesystem::exists(beside)) config_path = beside.string();
  }
  std::string config;
  if (!config_path.empty()) {
    auto c = read_file(config_path);
    if (!c) return c.error();
    config = std::move(*c);
  }
  GgufWriter scratch;
  if (Status st = tokenizer_json_to_gguf_metadata(*tj, config, scratch); !st.ok())
    return make_error("{}: {}", s.tokenizer_json_path, st.error().message);
  // GgufWriter has no getters: read the keys back through the parser.
  const std::string bytes = scratch.serialize();
  auto parsed = GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), s.tokenizer_json_path);
  if (!parsed) return parsed.error();
  const GgufArray* tokens = (*parsed)->get_array("tokenizer.ggml.tokens");
  if (tokens == nullptr) return make_error("{}: the converter wrote no tokens", s.tokenizer_json_path);
  const auto n = static_cast<int64_t>(tokens->size());
  if (s.n_vocab_given && n != s.n_vocab)
    return make_error("{}: has {} tokens but --n-vocab is {}", s.tokenizer_json_path, n, s.n_vocab);
  s.n_vocab = n;
  for (const auto& key : (*parsed)->key_order()) out.emplace_back(key, *(*parsed)->find(key));
  return {};
}

Status check_spec(const Spec& s, GgmlType wtype) {  // wtype: the base matrix type
  if (s.arch != "llama" && s.arch != "qwen2" && s.arch != "qwen3" && s.arch != "qwen3moe" && s.arch != "smollm3" &&
      !is_gemma(s) && !is_phi3(s) && !is_encoder(s) && !is_gptoss(s) && !is_qwen35(s))
    return make_error("unknown architecture '{}' (llama, qwen2, qwen3, qwen3moe, smollm3, gemma2, gemma3, gemma4, phi3, "
                      "bert, nomic-bert, gpt-oss, qwen35, qwen35moe)", s.arch);
  if (is_gemma4(s)) {
    if (s.swa_period < 2 || s.shared_kv < 0 || s.shared_kv >= s.n_layer || s.n_embd_per_layer < 0 ||
        head_dim_swa_of(s) % 2 != 0 || head_dim_swa_of(s) <= 0)
      return make_error("gemma4: --swa-period >= 2, --shared-kv below --n-layer, --n-embd-per-layer >= 0, and an even "
                        "--head-dim-swa");
    // Each shared layer reads the last earlier layer of its kind that has a cache.
    const int64_t own = s.n_layer - s.shared_kv;
    for (int64_t il = own; il < s.n_layer; ++il) {
      bool found = false;
      for (int64_t src = 0; src < own; ++src) found = found || is_swa_layer(s, src) == is_swa_layer(s, il);
      if (!found) return make_error("gemma4: shared layer {} has no earlier layer of its kind", il);
    }
  }
  if (is_qwen35(s)) {
    if (s.full_attn_interval < 1 || s.ssm_conv < 2 || s.ssm_state < 2 || s.ssm_groups < 1 || s.ssm_heads % s.ssm_groups != 0)
      return make_error("qwen35: --full-attn-interval >= 1, --ssm-conv >= 2, --ssm-state >= 2, and --ssm-heads a "
                        "multiple of --ssm-groups");
    if ((s.ssm_heads * s.ssm_state) % ggml_type_info(wtype).block_elems != 0)
      return make_error("qwen35: --ssm-heads x --ssm-state must be a multiple of the type's block");
  }
  if ((s.arch == "qwen3moe" || is_gptoss(s) || is_qwen35moe(s)) && s.n_expert <= 0) return make_error("{} needs --experts", s.arch);
  if (s.n_expert > 0 && s.arch != "llama" && s.arch != "qwen3moe" && !is_gptoss(s) && !is_qwen35moe(s) && !is_gemma4(s))
    return make_error("--experts is for llama, qwen3moe, gpt-oss, qwen35moe and gemma4");
  if (is_gptoss(s) && !(s.yarn_factor > 1.0 && s.yarn_orig_ctx > 0)) return make_error("bad --yarn-factor or --yarn-orig-ctx");
  if (s.n_expert >= s.n_embd) return make_error("--experts must be less than --n-embd (routing dimensions)");
  if (s.n_expert < 0 || s.n_expert > 4096 || (s.n_expert > 0 && (s.n_expert_used < 1 || s.n_expert_used > s.n_expert)))
    return make_error("--experts-used must be between 1 and --experts");
  if (is_encoder(s) && s.n_head_kv != s.n_head) return make_error("an encoder has as many KV heads as query heads");
  if (s.pooling < 0 || s.pooling > 4) return make_error("--pooling must be 0 (none), 1 (mean), 2 (cls), 3 (last) or 4 (rank)");
  if (s.pooling == 4 && s.arch != "bert") return make_error("--pooling 4 (rank, a classification head) is for bert");
  if (s.n_token_types < 1 || s.n_token_types > 2) return make_error("--token-types must be 1 or 2");
  if (s.window < 0 || (s.window > 0 && !is_gemma(s) && !is_phi3(s) && !is_gptoss(s)))
    return make_error("--window is for gemma2, gemma3, phi3 and gpt-oss");
  if (n_rot_of(s) <= 0 || n_rot_of(s) > head_dim_of(s) || n_rot_of(s) % 2 != 0)
    return make_error("--n-rot {} must be even and at most the head size {}", n_rot_of(s), head_dim_of(s));
  if (s.llama3_rope && s.arch != "llama") return make_error("--llama3-rope is for --arch llama");
  for (int64_t v : {s.n_embd, s.n_ff, s.n_layer, s.n_head, s.n_head_kv, s.n_vocab, s.n_ctx})
    if (v <= 0 || v > (int64_t{1} << 31)) return make_error("every size must be between 1 and 2^31");
  if (s.n_head % s.n_head_kv != 0)
    return make_error("--n-head {} is not a multiple of --n-head-kv {}", s.n_head, s.n_head_kv);
  if (s.n_head_kv_global < 0 || (s.n_head_kv_global > 0 && s.n_head % s.n_head_kv_global != 0))
    return make_error("--n-head {} is not a multiple of --n-head-kv-global {}", s.n_head, s.n_head_kv_global);
  if ((s.n_head_kv_global > 0 || s.double_wide_ff) && !is_gemma4(s))
    return make_error("--n-head-kv-global and --double-wide-ff are for gemma4");
  if (s.head_dim == 0 && s.arch != "qwen3" && s.n_embd % s.n_head != 0)
    return make_error("--n-embd {} is not a multiple of --n-head {}", s.n_embd, s.n_head);
  if (head_dim_of(s) % 2 != 0) return make_error("the head size {} must be even", head_dim_of(s));
  const int64_t block = ggml_type_info(wtype).block_elems;
  // (gemma4 writes matrices whose rows the type's blocks do not divide as Q8_0, as llama-quantize falls back)
  for (int64_t row : {s.n_embd, s.n_ff, is_gemma4(s) ? s.n_embd : n_ff_exp_of(s), is_gemma4(s) ? s.n_embd : n_ff_shexp_of(s), s.n_head * head_dim_of(s)})
    if (row % block != 0)
      return make_error("type {} needs row lengths that are multiples of {}, but a matrix has rows of {}",
                        ggml_type_name(wtype), block, row);
  return {};
}

Status run(Spec s) {
  auto wt = parse_type(s.type_name);
  if (!wt) return wt.error();
  const GgmlType wtype = wt->base;
  if (s.rope_theta == 0) {
    if (s.arch == "llama") s.rope_theta = s.llama3_rope ? 500000.0 : 10000.0;
    else if (s.arch == "gemma2" || s.arch == "phi3") s.rope_theta = 10000.0;
    else if (s.arch == "smollm3") s.rope_theta = 5000000.0;
    else if (s.arch == "nomic-bert") s.rope_theta = 1000.0;
    else if (is_gptoss(s)) s.rope_theta = 150000.0;
    else s.rope_theta = 1000000.0;
  }
  if (is_encoder(s)) s.n_head_kv = s.n_head;
  if (is_gemma4(s) && s.tied < 0) s.tied = 1;
  if (s.rms_eps == 0) s.rms_eps = s.arch == "llama" || is_gptoss(s) ? 1e-5 : 1e-6;
  if (s.name.empty()) s.name = "corral-test-" + s.arch + "-" + s.type_name;

  GgufWriter w;
  const std::string a = s.arch + ".";
  w.set_string("general.architecture", s.arch);
  w.set_string("general.name", s.name);
  w.set_string("general.description", "RANDOM weights from corral make_test_model (seed " +
                                          std::to_string(s.seed) + "); for tests and benchmarks only");
  // The vocabulary may decide n_vocab, so it is read before the hyper-parameters are written;
  // its keys are still written after them, in the converter's order.
  KeyValues vocab_keys;
  if (!s.vocab_path.empty() && !s.tokenizer_json_path.empty())
    return make_error("--vocab and --tokenizer-json are exclusive");
  if (!s.vocab_path.empty()) CORRAL_TRY(read_vocab(s, vocab_keys));
  if (!s.tokenizer_json_path.empty()) CORRAL_TRY(read_tokenizer_json(s, vocab_keys));
  CORRAL_TRY(check_spec(s, wtype));
  const int64_t hd = head_dim_of(s);
  w.set_u32(a + "context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32(a + "embedding_length", static_cast<uint32_t>(s.n_embd));
  w.set_u32(a + "block_count", static_cast<uint32_t>(s.n_layer));
  if (has_layer_arrays(s)) {
    // One value per layer, as Gemma 4's converter may write them.
    GgufArray ff, heads, kv;
    ff.elem_type = heads.elem_type = kv.elem_type = GgufValueType::kI32;
    for (int64_t il = 0; il < s.n_layer; ++il) {
      ff.ints.push_back(n_ff_at(s, il));
      heads.ints.push_back(s.n_head);
      kv.ints.push_back(n_head_kv_at(s, il));
    }
    w.set_value(a + "feed_forward_length", GgufValue{GgufValueType::kArray, ff});
    w.set_value(a + "attention.head_count", GgufValue{GgufValueType::kArray, heads});
    w.set_value(a + "attention.head_count_kv", GgufValue{GgufValueType::kArray, kv});
  } else {
    w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(s.n_ff));
    w.set_u32(a + "attention.head_count", static_cast<uint32_t>(s.n_head));
    w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  }
  w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(n_rot_of(s)));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(s.rms_eps));
  w.set_f32(a + "rope.freq_base", static_cast<float>(s.rope_theta));
  w.set_u32(a + "vocab_size", static_cast<uint32_t>(s.n_vocab));
  if (s.rope_scale_linear > 0) {
    w.set_string(a + "rope.scaling.type", "linear");
    w.set_f32(a + "rope.scaling.factor", static_cast<float>(s.rope_scale_linear));
  }
  if (is_gemma(s)) w.set_u32(a + "attention.sliding_window", static_cast<uint32_t>(s.window > 0 ? s.window : 4096));
  if (is_gemma4(s)) {
    // The converter's keys: one windowed flag per layer, the windowed layers' head size, rotated
    // dimensions and RoPE base, the shared-KV layer count, the per-layer embedding width and
    // the final soft-capping.
    GgufArray pattern;
    pattern.elem_type = GgufValueType::kBool;
    for (int64_t il = 0; il < s.n_layer; ++il) pattern.ints.push_back(is_swa_layer(s, il) ? 1 : 0);
    w.set_value(a + "attention.sliding_window_pattern", GgufValue{GgufValueType::kArray, pattern});
    w.set_u32(a + "attention.key_length_swa", static_cast<uint32_t>(head_dim_swa_of(s)));
    w.set_u32(a + "attention.value_length_swa", static_cast<uint32_t>(head_dim_swa_of(s)));
    w.set_u32(a + "rope.dimension_count_swa", static_cast<uint32_t>(head_dim_swa_of(s)));
    w.set_f32(a + "rope.freq_base_swa", static_cast<float>(s.rope_theta_swa));
    w.set_u32(a + "attention.shared_kv_layers", static_cast<uint32_t>(s.shared_kv));
    w.set_u32(a + "embedding_length_per_layer_input", static_cast<uint32_t>(s.n_embd_per_layer));
    w.set_f32(a + "final_logit_softcapping", static_cast<float>(s.final_softcap));
  }
  if (is_phi3(s)) {
    // The converter's LongRoPE attention factor: sqrt(1 + ln(context / original) / ln(original)).
    const double scale = static_cast<double>(s.n_ctx) / static_cast<double>(s.rope_orig_ctx);
    const double attn_factor = scale <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(scale) / std::log(static_cast<double>(s.rope_orig_ctx)));
    w.set_u32(a + "rope.scaling.original_context_length", static_cast<uint32_t>(s.rope_orig_ctx));
    w.set_f32(a + "rope.scaling.attn_factor", static_cast<float>(attn_factor));
    w.set_u32(a + "attention.sliding_window", static_cast<uint32_t>(s.window > 0 ? s.window : s.n_ctx));
  }
  if (s.arch == "gemma2") {
    w.set_f32(a + "attn_logit_softcapping", static_cast<float>(s.attn_softcap));
    w.set_f32(a + "final_logit_softcapping", static_cast<float>(s.final_softcap));
  }
  if (s.n_expert > 0) {
    w.set_u32(a + "expert_count", static_cast<uint32_t>(s.n_expert));
    w.set_u32(a + "expert_used_count", static_cast<uint32_t>(s.n_expert_used));
    if (s.arch == "qwen3moe" || is_gptoss(s) || is_qwen35moe(s) || is_gemma4(s))
      w.set_u32(a + "expert_feed_forward_length", static_cast<uint32_t>(n_ff_exp_of(s)));
    if (is_qwen35moe(s)) w.set_u32(a + "expert_shared_feed_forward_length", static_cast<uint32_t>(n_ff_shexp_of(s)));
  }
  if (is_gptoss(s)) {
    // The converter's keys: the window (on alternate layers, by architecture) and YaRN.
    w.set_u32(a + "attention.sliding_window", static_cast<uint32_t>(s.window > 0 ? s.window : 128));
    w.set_string(a + "rope.scaling.type", "yarn");
    w.set_f32(a + "rope.scaling.factor", static_cast<float>(s.yarn_factor));
    w.set_u32(a + "rope.scaling.original_context_length", static_cast<uint32_t>(s.yarn_orig_ctx));
  }
  if (s.arch == "qwen3" || s.arch == "qwen3moe" || s.head_dim > 0 || is_gptoss(s) || is_gemma4(s)) {
    w.set_u32(a + "attention.key_length", static_cast<uint32_t>(hd));
    w.set_u32(a + "attention.value_length", static_cast<uint32_t>(hd));
  }
  if (is_encoder(s) || s.pooling != 1) w.set_u32(a + "pooling_type", static_cast<uint32_t>(s.pooling));
  if (is_qwen35(s)) {
    w.set_u32(a + "ssm.conv_kernel", static_cast<uint32_t>(s.ssm_conv));
    w.set_u32(a + "ssm.state_size", static_cast<uint32_t>(s.ssm_state));
    w.set_u32(a + "ssm.group_count", static_cast<uint32_t>(s.ssm_groups));
    w.set_u32(a + "ssm.time_step_rank", static_cast<uint32_t>(s.ssm_heads));
    w.set_u32(a + "ssm.inner_size", static_cast<uint32_t>(s.ssm_heads * s.ssm_state));
    w.set_u32(a + "full_attention_interval", static_cast<uint32_t>(s.full_attn_interval));
    // The RoPE pairs split over three axes (text: all the same position), as Qwen 3.5's
    // [11, 11, 10, 0] splits its 32 pairs.
    const int32_t half = static_cast<int32_t>(n_rot_of(s) / 2);
    w.set_i32_array(a + "rope.dimension_sections", {(half + 2) / 3, (half + 1) / 3, half / 3, 0});
  }
  if (is_encoder(s)) {
    w.set_f32(a + "attention.layer_norm_epsilon", 1e-12f);
    w.set_bool(a + "attention.causal", false);
    // The rows of token_types, which the reference engine reads from here (a vocabulary's own
    // count is replaced below when --token-types differs).
    if (vocab_keys.empty()) w.set_u32("tokenizer.ggml.token_type_count", static_cast<uint32_t>(s.n_token_types));
  }
  w.set_u32("general.file_type", wt->file_type);
  if (ggml_type_info(wtype).block_elems > 1) w.set_u32("general.quantization_version", 2);
  if (vocab_keys.empty()) write_synthetic_vocab(s, w);
  for (const auto& [key, value] : vocab_keys) {
    if (is_encoder(s) && s.n_token_types != 2 && key == "tokenizer.ggml.token_type_count")
      w.set_u32(key, static_cast<uint32_t>(s.n_token_types));
    else
      w.set_value(key, value);
  }

  const auto plan = plan_tensors(s, *wt);
  int64_t n_params = 0;
  for (const auto& t : plan) {
    CORRAL_TRY(w.add_tensor_info(t.name, t.type, t.ne));
    int64_t n = 1;
    for (int64_t d : t.ne) n *= d;
    n_params += n;
  }
  CORRAL_TRY(w.write_streaming(s.out, [&](size_t i, GgufByteSink& sink) {
    return stream_tensor(s, plan[i], sink);
  }));
  std::printf("%s: %s %s, %zu tensors, %lld parameters, %lld layers, n_embd %lld, n_vocab %lld\n",
              s.out.c_str(), s.arch.c_str(), s.type_name.c_str(), plan.size(),
              static_cast<long long>(n_params), static_cast<long long>(s.n_layer),
              static_cast<long long>(s.n_embd), static_cast<long long>(s.n_vocab));
  return {};
}

void apply_preset(const std::string& preset, Spec& s) {
  if (preset == "tinyllama-1.1b") {
    s.arch = "llama";
    s.n_embd = 2048, s.n_ff = 5632, s.n_layer = 22, s.n_head = 32, s.n_head_kv = 4;
    s.n_vocab = 32000, s.n_ctx = 2048, s.rope_theta = 10000.0, s.rms_eps = 1e-5, s.tied = 0;
  } else if (preset == "llama3.2-3b") {
    s.arch = "llama";
    s.n_embd = 3072, s.n_ff = 8192, s.n_layer = 28, s.n_head = 24, s.n_head_kv = 8;
    s.n_vocab = 128256, s.n_ctx = 131072, s.rope_theta = 500000.0, s.rms_eps = 1e-5;
    s.llama3_rope = true, s.rope_scale_factor = 32.0, s.tied = 1;
  }
}

}  // namespace
}  // namespace corral

int main(int argc, char** argv) {
  corral::Spec s;
  std::string preset;
  CLI::App app{"Writes a GGUF model with seeded random weights (for tests and benchmarks)."};
  app.add_option("--preset", preset, "Shape preset; explicit flags override its values")
      ->check(CLI::IsMember({"tinyllama-1.1b", "llama3.2-3b"}));
  app.add_option("--arch", s.arch, "llama, qwen2, qwen3, qwen3moe, smollm3, gemma2, gemma3, gemma4, phi3, bert, nomic-bert, "
                                   "gpt-oss, qwen35 or qwen35moe")
      ->check(CLI::IsMember({"llama", "qwen2", "qwen3", "qwen3moe", "smollm3", "gemma2", "gemma3", "gemma4", "phi3", "bert",
                             "nomic-bert", "gpt-oss", "qwen35", "qwen35moe"}));
  app.add_option("--swa-period", s.swa_period, "gemma4: every N-th layer global, the others windowed (default 3)");
  app.add_option("--head-dim-swa", s.head_dim_swa, "gemma4: the windowed layers' head size (default half the head size)");
  app.add_option("--rope-theta-swa", s.rope_theta_swa, "gemma4: the windowed layers' RoPE base (default 10000)");
  app.add_option("--shared-kv", s.shared_kv, "gemma4: the last N layers share earlier layers' KV caches (default 0)");
  app.add_option("--n-embd-per-layer", s.n_embd_per_layer, "gemma4: per-layer embedding width (default 32; 0: none)");
  app.add_flag("--k-eq-v", s.k_eq_v, "gemma4: global layers without attn_v (values are the keys)");
  app.add_flag("--split-gate-up", s.split_gate_up, "gemma4 experts: ffn_gate_exps and ffn_up_exps, not ffn_gate_up_exps");
  app.add_option("--n-head-kv-global", s.n_head_kv_global,
                 "gemma4: the global layers' KV heads (head_count_kv written per layer)");
  app.add_flag("--double-wide-ff", s.double_wide_ff,
               "gemma4: the shared-KV layers' feed-forward twice as wide (feed_forward_length per layer)");
  app.add_option("--full-attn-interval", s.full_attn_interval, "qwen35: a full-attention layer every N layers (default 4)");
  app.add_option("--ssm-conv", s.ssm_conv, "qwen35: convolution taps (default 4)");
  app.add_option("--ssm-state", s.ssm_state, "qwen35: DeltaNet head size (default 64)");
  app.add_option("--ssm-groups", s.ssm_groups, "qwen35: DeltaNet q/k heads (default 2)");
  app.add_option("--ssm-heads", s.ssm_heads, "qwen35: DeltaNet value heads (default 4)");
  app.add_option("--experts", s.n_expert, "Mixture of experts: expert_count (qwen3moe; llama as Mixtral)");
  app.add_option("--experts-used", s.n_expert_used, "expert_used_count (default 2)");
  app.add_option("--n-ff-exp", s.n_ff_exp, "qwen3moe, gpt-oss, qwen35moe: expert_feed_forward_length (default --n-ff)");
  app.add_option("--n-ff-shexp", s.n_ff_shexp, "qwen35moe: expert_shared_feed_forward_length (default --n-ff-exp)");
  app.add_option("--router-scale", s.router_scale, "Router weight on the routing dimensions (default 2)");
  app.add_option("--expert-gain", s.expert_gain, "Gate/up expert weights times this, down's divided by its square");
  app.add_option("--yarn-factor", s.yarn_factor, "gpt-oss: YaRN rope.scaling.factor (default 32)");
  app.add_option("--yarn-orig-ctx", s.yarn_orig_ctx, "gpt-oss: rope.scaling.original_context_length (default 4096)");
  app.add_option("--pooling", s.pooling,
                 "pooling_type: 1 mean (encoders' default), 2 cls, 3 last (qwen3: Qwen3-Embedding), 4 rank (bert: "
                 "a classification head, as BGE-reranker)");
  app.add_option("--token-types", s.n_token_types, "encoders: token type rows (default 2; 1 as XLM-RoBERTa)");
  app.add_option("--window", s.window, "gemma2/gemma3/phi3/gpt-oss: sliding window (gemma default 4096; phi3: the context; gpt-oss 128)");
  app.add_option("--n-rot", s.n_rot, "rope.dimension_count (partial rotary; default the head size)");
  app.add_option("--rope-orig-ctx", s.rope_orig_ctx, "phi3: LongRoPE's original context (default 4096)");
  app.add_flag("--factors-of-rot", s.factors_of_rot, "phi3: LongRoPE factors of n_rot/2 values (Phi-4-mini's layout)");
  app.add_option("--attn-softcap", s.attn_softcap, "gemma2: attention score soft-capping (default 50)");
  app.add_option("--final-softcap", s.final_softcap, "gemma2, gemma4: output logit soft-capping (default 30)");
  app.add_option("--rope-scale-linear", s.rope_scale_linear, "Linear RoPE scaling factor (rope.scaling.type linear)");
  app.add_option("--type", s.type_name, "Type of the weight matrices: f32, f16, bf16, q8_0, q4_K, ..., or a mix: q3_K_M, q4_K_M, q5_K_M, mxfp4 (experts MXFP4, the rest Q8_0)");
  app.add_option("--n-embd", s.n_embd);
  app.add_option("--n-ff", s.n_ff);
  app.add_option("--n-layer", s.n_layer);
  app.add_option("--n-head", s.n_head);
  app.add_option("--n-head-kv", s.n_head_kv);
  auto* n_vocab_opt = app.add_option("--n-vocab", s.n_vocab);
  app.add_option("--ctx", s.n_ctx, "context_length");
  app.add_option("--head-dim", s.head_dim, "Head size (key_length); default n_embd/n_head, 128 for qwen3");
  app.add_option("--rope-theta", s.rope_theta);
  app.add_option("--rms-eps", s.rms_eps);
  app.add_flag("--llama3-rope", s.llama3_rope, "Llama 3 RoPE scaling (rope_freqs.weight)");
  app.add_option("--rope-scale-factor", s.rope_scale_factor, "Llama 3 RoPE factor (3.2: 32, 3.1: 8)");
  bool tied = false, untied = false;
  app.add_flag("--tied", tied, "No output.weight: the output reuses token_embd");
  app.add_flag("--untied", untied, "Write output.weight");
  app.add_option("--seed", s.seed);
  app.add_option("--name", s.name, "general.name");
  app.add_option("--vocab", s.vocab_path, "Copy every tokenizer.* key of this GGUF (sets n_vocab)")
      ->check(CLI::ExistingFile);
  app.add_option("--tokenizer-json", s.tokenizer_json_path,
                 "Convert this Hugging Face tokenizer.json (byte-level BPE) into tokenizer.* keys")
      ->check(CLI::ExistingFile);
  app.add_option("--tokenizer-config", s.tokenizer_config_path,
                 "tokenizer_config.json (default: the one beside --tokenizer-json)")
      ->check(CLI::ExistingFile);
  app.add_option("--out,-o", s.out, "Output GGUF path")->required();

  // The preset is applied before parsing, so explicit flags override its values.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--preset" && i + 1 < argc) corral::apply_preset(argv[i + 1], s);
    if (arg.rfind("--preset=", 0) == 0) corral::apply_preset(arg.substr(9), s);
  }
  CLI11_PARSE(app, argc, argv);
  s.n_vocab_given = n_vocab_opt->count() > 0;
  if (tied && untied) {
    std::fprintf(stderr, "make_test_model: --tied and --untied are exclusive\n");
    return 2;
  }
  if (tied) s.tied = 1;
  if (untied) s.tied = 0;
  auto st = corral::run(s);
  if (!st.ok()) {
    std::fprintf(stderr, "make_test_model: error: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}
