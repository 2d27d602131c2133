// Weight binding: every tensor is looked up by its llama.cpp name, its shape checked against the
// hyper-parameters and its type against the kernels, before any forward pass can touch it.
#include <cstring>

#include "gguf/ggml_type.h"
#include "model/family.h"
#include "model/model.h"

namespace corral {
namespace {

struct Binder {
  const GgufFile& f;

  Result<TensorView> bind(const std::string& name, std::vector<int64_t> shape, bool optional = false) {
    const GgufTensor* t = f.find_tensor(name);
    if (t == nullptr) {
      if (optional) return TensorView{};
      return make_error("{}: missing tensor '{}'", f.path(), name);
    }
    const GgmlTypeInfo& info = ggml_type_info(t->type);
    if (!info.compute_supported)
      return make_error("{}: tensor '{}' has type {}, which corral does not support", f.path(), name, info.name);
    std::vector<int64_t> ne = t->ne;
    while (ne.size() > 1 && ne.back() == 1) ne.pop_back();
    while (shape.size() > 1 && shape.back() == 1) shape.pop_back();
    if (ne != shape) {
      std::string want = "[";
      for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
      want += "]";
      return make_error("{}: tensor '{}' has shape {}, expected {}", f.path(), name, t->shape_string(), want);
    }
    TensorView v;
    v.data = t->data;
    v.type = t->type;
    for (size_t i = 0; i < 4; ++i) v.ne[i] = i < t->ne.size() ? t->ne[i] : 1;
    v.row_bytes = ggml_row_bytes(t->type, v.ne[0]);
    v.name = name;
    return v;
  }

  // Rows [row0, row0 + n) of a matrix: how the parts of a fused tensor are bound.
  static TensorView rows(const TensorView& t, int64_t row0, int64_t n) {
    TensorView v = t;
    v.data = t.row(row0);
    v.ne[1] = n;
    v.ne[2] = v.ne[3] = 1;
    return v;
  }

  // A 1-D F32 tensor copied out (frequency factors); `min_len` of its values are used.
  Result<std::vector<float>> factors(const std::string& name, int64_t min_len) {
    const GgufTensor* t = f.find_tensor(name);
    if (t == nullptr) return std::vector<float>{};
    if (t->type != GgmlType::kF32 || t->ne.empty() || t->ne[0] < min_len || t->n_elements() != t->ne[0])
      return make_error("{}: tensor '{}' must be f32 with at least {} values, not {} {}", f.path(), name,
                        min_len, ggml_type_name(t->type), t->shape_string());
    std::vector<float> v(static_cast<size_t>(min_len));
    std::memcpy(v.data(), t->data, v.size() * sizeof(float));
    return v;
  }

  // Norm weights and biases feed float code directly: they must be F32.
  Result<TensorView> bind_f32(const std::string& name, std::vector<int64_t> shape, bool optional = false) {
    auto v = bind(name, std::move(shape), optional);
    if (!v) return v;
    if (v->data != nullptr && v->type != GgmlType::kF32)
      return make_error("{}: tensor '{}' must be f32, not {}", f.path(), name, ggml_type_name(v->type));
    return v;
  }
};

#define BIND(dst, expr)        \
  do {                         \
    auto r_ = (expr);          \
    if (!r_) return r_.error(); \
    dst = std::move(*r_);      \
  } while (0)

// A Gated DeltaNet layer (qwen35; model/delta_net.h). The convolution's taps, the decay's
// bias and scale and the output norm feed float code directly: F32.
Status bind_delta_net(Binder& b, const std::string& p, const HParams& h, LayerWeights& L) {
  const int64_t E = h.n_embd, CD = h.delta_conv_dim(), VD = h.ssm_d_inner, NV = h.ssm_dt_rank;
  BIND(L.delta_qkv, b.bind(p + "attn_qkv.weight", {E, CD}));
  BIND(L.delta_z, b.bind(p + "attn_gate.weight", {E, VD}));
  BIND(L.delta_beta, b.bind(p + "ssm_beta.weight", {E, NV}));
  BIND(L.delta_alpha, b.bind(p + "ssm_alpha.weight", {E, NV}));
  BIND(L.delta_conv, b.bind_f32(p + "ssm_conv1d.weight", {h.ssm_d_conv, CD}));
  BIND(L.delta_dt, b.bind_f32(p + "ssm_dt.bias", {NV}));
  BIND(L.delta_a, b.bind_f32(p + "ssm_a", {NV}));
  BIND(L.delta_norm, b.bind_f32(p + "ssm_norm.weight", {h.delta_head_v()}));
  BIND(L.delta_out, b.bind(p + "ssm_out.weight", {VD, E}));
  return {};
}

// Gemma 4's per-layer extras: the per-layer embedding's gate, projection and norm (when the
// file has per-layer embeddings) and the output scalar (optional).
Status bind_gemma4_layer(Binder& b, const std::string& p, const HParams& h, LayerWeights& L) {
  const int64_t E = h.n_embd, P = h.n_embd_per_layer;
  if (P > 0) {
    BIND(L.ple_gate, b.bind(p + "inp_gate.weight", {E, P}));
    BIND(L.ple_proj, b.bind(p + "proj.weight", {P, E}));
    BIND(L.ple_post_norm, b.bind_f32(p + "post_norm.weight", {E}));
  }
  BIND(L.out_scale, b.bind_f32(p + "layer_output_scale.weight", {1}, /*optional=*/true));
  return {};
}

// Gemma 4's experts (a layer with a router): the router and its input norm weight, the norms
// of the two feed-forward branches, gate and up merged per expert (ffn_gate_up_exps, as the
// reference converter writes them) or separate, down, and the optional per-expert scale.
Status bind_gemma4_experts(Binder& b, const std::string& p, const HParams& h, LayerWeights& L) {
  const int64_t E = h.n_embd, F = h.n_ff_exp, X = h.n_expert;
  BIND(L.ffn_gate_inp, b.bind(p + "ffn_gate_inp.weight", {E, X}));
  BIND(L.ffn_gate_inp_s, b.bind_f32(p + "ffn_gate_inp.scale", {E}));
  BIND(L.ffn_pre_norm_2, b.bind_f32(p + "pre_ffw_norm_2.weight", {E}));
  BIND(L.ffn_post_norm_1, b.bind_f32(p + "post_ffw_norm_1.weight", {E}));
  BIND(L.ffn_post_norm_2, b.bind_f32(p + "post_ffw_norm_2.weight", {E}));
  if (b.f.find_tensor(p + "ffn_gate_up_exps.weight") != nullptr) {
    BIND(L.ffn_gate_up_exps, b.bind(p + "ffn_gate_up_exps.weight", {E, 2 * F, X}));
  } else {
    BIND(L.ffn_gate_exps, b.bind(p + "ffn_gate_exps.weight", {E, F, X}));
    BIND(L.ffn_up_exps, b.bind(p + "ffn_up_exps.weight", {E, F, X}));
  }
  BIND(L.ffn_down_exps, b.bind(p + "ffn_down_exps.weight", {F, E, X}));
  BIND(L.ffn_down_exps_s, b.bind_f32(p + "ffn_down_exps.scale", {X}, /*optional=*/true));
  return {};
}

// Encoders (bert, nomic-bert): token-type and position embeddings, the embedding LayerNorm, and
// layers of q/k/v (or fused qkv), output, post-LayerNorms and a plain (bert) or SwiGLU
// (nomic-bert) feed-forward. No output norm or output matrix: the pass ends at the last layer.
Status bind_encoder(const GgufFile& f, Model& m) {
  const HParams& h = m.hp;
  Binder b{f};
  const GgufTensor* types = f.find_tensor("token_types.weight");
  if (types == nullptr || types->ne.size() < 2 || types->ne[0] != h.n_embd || types->ne[1] < 1)
    return make_error("{}: missing or malformed tensor 'token_types.weight'", f.path());
  BIND(m.token_types, b.bind("token_types.weight", {h.n_embd, types->ne[1]}));
  if (m.token_types.type != GgmlType::kF32) return make_error("{}: token_types.weight must be f32", f.path());
  if (h.arch == Arch::kBert) {
    BIND(m.pos_embd, b.bind("position_embd.weight", {h.n_embd, h.n_ctx_train}));
  }
  BIND(m.embd_norm, b.bind_f32("token_embd_norm.weight", {h.n_embd}));
  BIND(m.embd_norm_b, b.bind_f32("token_embd_norm.bias", {h.n_embd}));
  const bool bert = h.arch == Arch::kBert;
  const int64_t E = h.n_embd, F = h.n_ff;
  m.layers.resize(static_cast<size_t>(h.n_layer));
  m.encoder_layers.resize(static_cast<size_t>(h.n_layer));
  for (int64_t il = 0; il < h.n_layer; ++il) {
    LayerWeights& L = m.layers[static_cast<size_t>(il)];
    EncoderLayerWeights& X = m.encoder_layers[static_cast<size_t>(il)];
    const std::string p = "blk." + std::to_string(il) + ".";
    if (bert) {
      BIND(L.wq, b.bind(p + "attn_q.weight", {E, h.q_dim()}));
      BIND(L.wk, b.bind(p + "attn_k.weight", {E, h.kv_dim()}));
      BIND(L.wv, b.bind(p + "attn_v.weight", {E, h.kv_dim()}));
      BIND(L.bq, b.bind_f32(p + "attn_q.bias", {h.q_dim()}));
      BIND(L.bk, b.bind_f32(p + "attn_k.bias", {h.kv_dim()}));
      BIND(L.bv, b.bind_f32(p + "attn_v.bias", {h.kv_dim()}));
      BIND(X.bo, b.bind_f32(p + "attn_output.bias", {E}));
      BIND(L.ffn_up, b.bind(p + "ffn_up.weight", {E, F}));
      BIND(X.ffn_up_b, b.bind_f32(p + "ffn_up.bias", {F}));
      BIND(X.ffn_down_b, b.bind_f32(p + "ffn_down.bias", {E}));
    } else {
      TensorView qkv;
      BIND(qkv, b.bind(p + "attn_qkv.weight", {E, h.q_dim() + 2 * h.kv_dim()}));
      L.wq = Binder::rows(qkv, 0, h.q_dim());
      L.wk = Binder::rows(qkv, h.q_dim(), h.kv_dim());
      L.wv = Binder::rows(qkv, h.q_dim() + h.kv_dim(), h.kv_dim());
      BIND(L.ffn_gate, b.bind(p + "ffn_gate.weight", {E, F}));
      BIND(L.ffn_up, b.bind(p + "ffn_up.weight", {E, F}));
    }
    BIND(L.wo, b.bind(p + "attn_output.weight", {h.q_dim(), E}));
    BIND(L.ffn_down, b.bind(p + "ffn_down.weight", {F, E}));
    BIND(X.attn_out_norm, b.bind_f32(p + "attn_output_norm.weight", {E}));
    BIND(X.attn_out_norm_b, b.bind_f32(p + "attn_output_norm.bias", {E}));
    BIND(X.out_norm, b.bind_f32(p + "layer_output_norm.weight", {E}));
    BIND(X.out_norm_b, b.bind_f32(p + "layer_output_norm.bias", {E}));
  }
  if (h.pooling == Pooling::kRank) {  // the classification head of a cross-encoder reranker
    const GgufTensor* cls = f.find_tensor("cls.weight");
    if (cls == nullptr || cls->ne.size() < 2 || cls->ne[0] != E || (cls->ne[1] != E && cls->ne[1] != 1))
      return make_error("{}: pooling_type rank needs the classification head 'cls.weight' [{}, {} or 1]", f.path(), E, E);
    const int64_t C = cls->ne[1];
    BIND(m.cls, b.bind("cls.weight", {E, C}));
    BIND(m.cls_b, b.bind_f32("cls.bias", {C}));
    BIND(m.cls_out, b.bind("cls.output.weight", {C, 1}, /*optional=*/true));
    if (m.cls_out.data != nullptr) BIND(m.cls_out_b, b.bind_f32("cls.output.bias", {1}, /*optional=*/true));
    if (m.cls_out.data == nullptr && C != 1)
      return make_error("{}: a classification head of {} outputs needs 'cls.output.weight'", f.path(), C);
  }
  for (const auto& t : f.tensors()) {
    if (!ggml_type_info(t.type).compute_supported)
      return make_error("{}: tensor '{}' has type {}, which corral does not support", f.path(), t.name,
                        ggml_type_name(t.type));
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<Model>> Model::load(const std::string& path) {
  auto file = GgufFile::open(path);
  if (!file) return file.error();
  return from_gguf(std::move(*file));
}

Result<std::shared_ptr<Model>> Model::from_gguf(std::shared_ptr<GgufFile> file) {
  auto hp = read_hparams(*file);
  if (!hp) return hp.error();
  auto m = std::make_shared<Model>();
  m->file = file;
  m->hp = *hp;
  HParams& h = m->hp;
  Binder b{*file};

  const GgufTensor* embd = file->find_tensor("token_embd.weight");
  if (embd == nullptr) return make_error("{}: missing tensor 'token_embd.weight'", file->path());
  if (embd->ne.size() < 2) return make_error("{}: tensor 'token_embd.weight' is not 2-D", file->path());
  const int64_t n_vocab = embd->ne[1];
  if (h.n_vocab != 0 && h.n_vocab != n_vocab)
    return make_error("{}: vocabulary has {} tokens but token_embd.weight has {} rows", file->path(), h.n_vocab, n_vocab);
  h.n_vocab = n_vocab;

  BIND(m->token_embd, b.bind("token_embd.weight", {h.n_embd, n_vocab}));
  if (h.encoder) {
    CORRAL_TRY(bind_encoder(*file, *m));
    return m;
  }
  BIND(m->output_norm, b.bind_f32("output_norm.weight", {h.n_embd}));
  BIND(m->output, b.bind("output.weight", {h.n_embd, n_vocab}, /*optional=*/true));
  if (m->output.data == nullptr) {
    m->output = m->token_embd;
    m->tied_embeddings = true;
  }
  TensorView freqs;
  // Gemma 4's factors cover the global layers' whole head; the first n_rot/2 are used.
  BIND(freqs, b.bind_f32("rope_freqs.weight", {(h.arch == Arch::kGemma4 ? h.head_dim : h.n_rot) / 2}, /*optional=*/true));
  if (freqs.data != nullptr) {
    m->rope_freqs.resize(static_cast<size_t>(h.n_rot / 2));
    std::memcpy(m->rope_freqs.data(), freqs.data, m->rope_freqs.size() * sizeof(float));
  }

  // LongRoPE factors: n_rot/2 values are used; files of the reference converter carry head_dim/2.
  {
    auto longf = b.factors("rope_factors_long.weight", h.n_rot / 2);
    if (!longf) return longf.error();
    auto shortf = b.factors("rope_factors_short.weight", h.n_rot / 2);
    if (!shortf) return shortf.error();
    if (longf->empty() != shortf->empty())
      return make_error("{}: LongRoPE needs both rope_factors_long and rope_factors_short", file->path());
    if (!longf->empty() && h.rope_orig_ctx <= 0)
      return make_error("{}: LongRoPE factors without rope.scaling.original_context_length", file->path());
    m->rope_factors_long = std::move(*longf);
    m->rope_factors_short = std::move(*shortf);
  }

  if (h.n_embd_per_layer > 0) {
    const int64_t width = h.n_embd_per_layer * h.n_layer;
    BIND(m->per_layer_token_embd, b.bind("per_layer_token_embd.weight", {width, n_vocab}));
    BIND(m->per_layer_model_proj, b.bind("per_layer_model_proj.weight", {h.n_embd, width}));
    BIND(m->per_layer_proj_norm, b.bind_f32("per_layer_proj_norm.weight", {h.n_embd_per_layer}));
  }

  const Family& family = family_of(h.arch);
  const bool biases = family.qkv_biases;
  const bool qk_norm = family.qk_norms;
  const bool post_norms = family.post_norms;
  m->layers.resize(static_cast<size_t>(h.n_layer));
  for (int64_t il = 0; il < h.n_layer; ++il) {
    LayerWeights& L = m->layers[static_cast<size_t>(il)];
    const std::string p = "blk." + std::to_string(il) + ".";
    const int64_t QD = h.q_dim_of(il), KD = h.kv_dim_of(il), hd = h.head_dim_of(il);
    // A layer that reads another's cache (Gemma 4's shared-KV layers) needs no K/V of its own;
    // Gemma 4 layers without attn_v use their keys as values.
    const bool shares_kv = h.layers[static_cast<size_t>(il)].kv_from >= 0;
    const bool gemma4 = h.arch == Arch::kGemma4;
    BIND(L.attn_norm, b.bind_f32(p + "attn_norm.weight", {h.n_embd}));
    if (h.layers[static_cast<size_t>(il)].recurrent) {
      CORRAL_TRY(bind_delta_net(b, p, h, L));
    } else if (file->find_tensor(p + "attn_qkv.weight") != nullptr) {
      TensorView qkv;
      BIND(qkv, b.bind(p + "attn_qkv.weight", {h.n_embd, QD + 2 * KD}));
      L.wq = Binder::rows(qkv, 0, QD);
      L.wk = Binder::rows(qkv, QD, KD);
      L.wv = Binder::rows(qkv, QD + KD, KD);
    } else {
      // With an output gate (qwen35) attn_q holds a query and a gate per head.
      BIND(L.wq, b.bind(p + "attn_q.weight", {h.n_embd, (h.attn_output_gate ? 2 : 1) * QD}));
      BIND(L.wk, b.bind(p + "attn_k.weight", {h.n_embd, KD}, shares_kv));
      BIND(L.wv, b.bind(p + "attn_v.weight", {h.n_embd, KD}, shares_kv || gemma4));
      if (shares_kv) L.wk = L.wv = TensorView{};  // never read: the other layer's cache is
    }
    if (!h.layers[static_cast<size_t>(il)].recurrent) {
      BIND(L.wo, b.bind(p + "attn_output.weight", {QD, h.n_embd}));
      BIND(L.bq, b.bind_f32(p + "attn_q.bias", {QD}, !biases));
      BIND(L.bk, b.bind_f32(p + "attn_k.bias", {KD}, !biases));
      BIND(L.bv, b.bind_f32(p + "attn_v.bias", {KD}, !biases));
      BIND(L.q_norm, b.bind_f32(p + "attn_q_norm.weight", {hd}, !qk_norm));
      BIND(L.k_norm, b.bind_f32(p + "attn_k_norm.weight", {hd}, !qk_norm || shares_kv));
    }
    if (gemma4) CORRAL_TRY(bind_gemma4_layer(b, p, h, L));
    if (h.arch == Arch::kGptOss) {
      // gpt-oss: the norm before the feed-forward is stored as post_attention_norm; the output
      // projection has a bias, and each query head a learned sink logit.
      BIND(L.ffn_norm, b.bind_f32(p + "post_attention_norm.weight", {h.n_embd}));
      BIND(L.bo, b.bind_f32(p + "attn_output.bias", {h.n_embd}));
      BIND(L.attn_sinks, b.bind_f32(p + "attn_sinks.weight", {h.n_head_of(il)}));
    } else if (h.arch == Arch::kQwen35 || h.arch == Arch::kQwen35Moe) {  // its feed-forward norm is named post_attention_norm
      BIND(L.ffn_norm, b.bind_f32(p + "post_attention_norm.weight", {h.n_embd}));
    } else {
      BIND(L.attn_post_norm, b.bind_f32(p + "post_attention_norm.weight", {h.n_embd}, !post_norms));
      BIND(L.ffn_norm, b.bind_f32(p + "ffn_norm.weight", {h.n_embd}));
    }
    // Gemma 4 runs its dense feed-forward in every layer and experts beside it where the layer
    // has a router.
    const bool gemma4_experts = gemma4 && h.n_expert > 0 && file->find_tensor(p + "ffn_gate_inp.weight") != nullptr;
    if (gemma4_experts) CORRAL_TRY(bind_gemma4_experts(b, p, h, L));
    if (h.n_expert > 0 && !gemma4) {
      BIND(L.ffn_gate_inp, b.bind(p + "ffn_gate_inp.weight", {h.n_embd, h.n_expert}));
      BIND(L.ffn_gate_exps, b.bind(p + "ffn_gate_exps.weight", {h.n_embd, h.n_ff_exp, h.n_expert}));
      BIND(L.ffn_up_exps, b.bind(p + "ffn_up_exps.weight", {h.n_embd, h.n_ff_exp, h.n_expert}));
      BIND(L.ffn_down_exps, b.bind(p + "ffn_down_exps.weight", {h.n_ff_exp, h.n_embd, h.n_expert}));
      // Router and expert biases (gpt-oss has them; other families do not).
      const bool exp_biases = h.arch == Arch::kGptOss;
      BIND(L.ffn_gate_inp_b, b.bind_f32(p + "ffn_gate_inp.bias", {h.n_expert}, !exp_biases));
      BIND(L.ffn_gate_exps_b, b.bind_f32(p + "ffn_gate_exps.bias", {h.n_ff_exp, h.n_expert}, !exp_biases));
      BIND(L.ffn_up_exps_b, b.bind_f32(p + "ffn_up_exps.bias", {h.n_ff_exp, h.n_expert}, !exp_biases));
      BIND(L.ffn_down_exps_b, b.bind_f32(p + "ffn_down_exps.bias", {h.n_embd, h.n_expert}, !exp_biases));
      if (h.n_ff_shexp > 0) {  // the shared expert and its gate (qwen35moe)
        BIND(L.ffn_gate_shexp, b.bind(p + "ffn_gate_shexp.weight", {h.n_embd, h.n_ff_shexp}));
        BIND(L.ffn_up_shexp, b.bind(p + "ffn_up_shexp.weight", {h.n_embd, h.n_ff_shexp}));
        BIND(L.ffn_down_shexp, b.bind(p + "ffn_down_shexp.weight", {h.n_ff_shexp, h.n_embd}));
        BIND(L.ffn_gate_inp_shexp, b.bind(p + "ffn_gate_inp_shexp.weight", {h.n_embd}));
      }
    } else if (file->find_tensor(p + "ffn_gate.weight") == nullptr) {  // Phi-3: gate and up in one tensor
      TensorView gate_up;
      BIND(gate_up, b.bind(p + "ffn_up.weight", {h.n_embd, 2 * h.n_ff}));
      L.ffn_gate = Binder::rows(gate_up, 0, h.n_ff);
      L.ffn_up = Binder::rows(gate_up, h.n_ff, h.n_ff);
    } else {
      BIND(L.ffn_gate, b.bind(p + "ffn_gate.weight", {h.n_embd, h.n_ff_of(il)}));
      BIND(L.ffn_up, b.bind(p + "ffn_up.weight", {h.n_embd, h.n_ff_of(il)}));
    }
    if (h.n_expert == 0 || gemma4) BIND(L.ffn_down, b.bind(p + "ffn_down.weight", {h.n_ff_of(il), h.n_embd}));
    BIND(L.ffn_post_norm, b.bind_f32(p + "post_ffw_norm.weight", {h.n_embd}, !post_norms));
  }
  // Any tensor the file has but no architecture uses with an unsupported type is refused too:
  // users should learn at load time, not mid-generation, that the file cannot run.
  for (const auto& t : file->tensors()) {
    if (!ggml_type_info(t.type).compute_supported)
      return make_error("{}: tensor '{}' has type {}, which corral does not support", file->path(),
                        t.name, ggml_type_name(t.type));
  }
  return m;
}

}  // namespace corral
