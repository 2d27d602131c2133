// Weight binding: every tensor is looked up by its llama.cpp name, its shape checked against the
// hyper-parameters and its type against the kernels, before any forward pass can touch it.
#include <cstring>

#include "gguf/ggml_type.h"
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
  BIND(m->output_norm, b.bind_f32("output_norm.weight", {h.n_embd}));
  BIND(m->output, b.bind("output.weight", {h.n_embd, n_vocab}, /*optional=*/true));
  if (m->output.data == nullptr) {
    m->output = m->token_embd;
    m->tied_embeddings = true;
  }
  TensorView freqs;
  BIND(freqs, b.bind_f32("rope_freqs.weight", {h.n_rot / 2}, /*optional=*/true));
  if (freqs.data != nullptr) {
    m->rope_freqs.resize(static_cast<size_t>(h.n_rot / 2));
    std::memcpy(m->rope_freqs.data(), freqs.data, m->rope_freqs.size() * sizeof(float));
  }

  const bool biases = h.arch == Arch::kQwen2;
  const bool qk_norm = h.arch == Arch::kQwen3;
  m->layers.resize(static_cast<size_t>(h.n_layer));
  for (int64_t il = 0; il < h.n_layer; ++il) {
    LayerWeights& L = m->layers[static_cast<size_t>(il)];
    const std::string p = "blk." + std::to_string(il) + ".";
    BIND(L.attn_norm, b.bind_f32(p + "attn_norm.weight", {h.n_embd}));
    BIND(L.wq, b.bind(p + "attn_q.weight", {h.n_embd, h.q_dim()}));
    BIND(L.wk, b.bind(p + "attn_k.weight", {h.n_embd, h.kv_dim()}));
    BIND(L.wv, b.bind(p + "attn_v.weight", {h.n_embd, h.kv_dim()}));
    BIND(L.wo, b.bind(p + "attn_output.weight", {h.q_dim(), h.n_embd}));
    BIND(L.bq, b.bind_f32(p + "attn_q.bias", {h.q_dim()}, !biases));
    BIND(L.bk, b.bind_f32(p + "attn_k.bias", {h.kv_dim()}, !biases));
    BIND(L.bv, b.bind_f32(p + "attn_v.bias", {h.kv_dim()}, !biases));
    BIND(L.q_norm, b.bind_f32(p + "attn_q_norm.weight", {h.head_dim}, !qk_norm));
    BIND(L.k_norm, b.bind_f32(p + "attn_k_norm.weight", {h.head_dim}, !qk_norm));
    BIND(L.ffn_norm, b.bind_f32(p + "ffn_norm.weight", {h.n_embd}));
    BIND(L.ffn_gate, b.bind(p + "ffn_gate.weight", {h.n_embd, h.n_ff}));
    BIND(L.ffn_up, b.bind(p + "ffn_up.weight", {h.n_embd, h.n_ff}));
    BIND(L.ffn_down, b.bind(p + "ffn_down.weight", {h.n_ff, h.n_embd}));
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
