// Hyper-parameter reading: architecture-prefixed keys as written by llama.cpp's converters.
#include "model/hparams.h"

namespace corral {

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::kLlama: return "llama";
    case Arch::kQwen2: return "qwen2";
    case Arch::kQwen3: return "qwen3";
  }
  return "?";
}

Result<HParams> read_hparams(const GgufFile& f) {
  HParams hp;
  auto arch = f.get_string("general.architecture");
  if (!arch) return make_error("{}: missing general.architecture", f.path());
  if (*arch == "llama") {
    hp.arch = Arch::kLlama;
  } else if (*arch == "qwen2") {
    hp.arch = Arch::kQwen2;
    hp.rope_neox = true;
  } else if (*arch == "qwen3") {
    hp.arch = Arch::kQwen3;
    hp.rope_neox = true;
  } else {
    return make_error("{}: unsupported architecture '{}' (supported: llama, qwen2, qwen3)", f.path(), *arch);
  }
  const std::string p = *arch + ".";
  auto need = [&](const std::string& key, int64_t& out) -> Status {
    auto v = f.get_int(p + key);
    if (!v) return make_error("{}: missing or non-integer metadata key {}{}", f.path(), p, key);
    if (*v <= 0 || *v > (int64_t{1} << 31))
      return make_error("{}: metadata {}{} = {} is out of range", f.path(), p, key, *v);
    out = *v;
    return {};
  };
  CORRAL_TRY(need("embedding_length", hp.n_embd));
  CORRAL_TRY(need("block_count", hp.n_layer));
  CORRAL_TRY(need("feed_forward_length", hp.n_ff));
  CORRAL_TRY(need("attention.head_count", hp.n_head));
  hp.n_head_kv = f.get_int(p + "attention.head_count_kv").value_or(hp.n_head);
  hp.n_ctx_train = f.get_int(p + "context_length").value_or(2048);
  if (hp.n_head_kv <= 0 || hp.n_head % hp.n_head_kv != 0)
    return make_error("{}: head_count {} is not a multiple of head_count_kv {}", f.path(), hp.n_head, hp.n_head_kv);
  hp.head_dim = f.get_int(p + "attention.key_length").value_or(hp.n_embd / hp.n_head);
  const int64_t v_dim = f.get_int(p + "attention.value_length").value_or(hp.head_dim);
  if (v_dim != hp.head_dim)
    return make_error("{}: key_length {} != value_length {} is not supported", f.path(), hp.head_dim, v_dim);
  if (hp.head_dim <= 0 || hp.head_dim % 2 != 0 || hp.head_dim > 1024)
    return make_error("{}: bad attention head size {}", f.path(), hp.head_dim);
  hp.n_rot = f.get_int(p + "rope.dimension_count").value_or(hp.head_dim);
  if (hp.n_rot <= 0 || hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0)
    return make_error("{}: bad rope dimension count {}", f.path(), hp.n_rot);
  hp.rms_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  hp.rope_freq_base = f.get_float(p + "rope.freq_base").value_or(10000.0);
  if (const GgufArray* tokens = f.get_array("tokenizer.ggml.tokens")) {
    hp.n_vocab = static_cast<int64_t>(tokens->size());
  }
  if (auto nv = f.get_int(p + "vocab_size")) hp.n_vocab = *nv;
  return hp;
}

}  // namespace corral
