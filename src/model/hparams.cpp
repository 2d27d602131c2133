// Hyper-parameter reading: the keys every family shares (architecture-prefixed, as llama.cpp's
// converters write them); the family's own keys and fixed rules follow in families/*.cpp.
#include "model/hparams.h"

#include <algorithm>
#include <cmath>

#include "kernels/ops.h"
#include "model/family.h"

namespace corral {

float HParams::query_scale() const {
  return attn_scale > 0.0f ? attn_scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
}

bool HParams::has_windows() const {
  for (const LayerShape& l : layers)
    if (l.window > 0) return true;
  return false;
}

int64_t HParams::max_head_dim() const {
  int64_t d = head_dim;
  for (const LayerShape& l : layers) d = std::max(d, l.head_dim);
  return d;
}

int64_t HParams::max_n_rot() const {
  int64_t r = n_rot;
  for (const RopeSet& s : rope_sets) r = std::max(r, n_rot_of(s));
  return r;
}

bool HParams::has_recurrent() const {
  for (const LayerShape& l : layers)
    if (l.recurrent) return true;
  return false;
}

int64_t HParams::n_recurrent_layers() const {
  int64_t n = 0;
  for (const LayerShape& l : layers) n += l.recurrent ? 1 : 0;
  return n;
}

Status read_expert_hparams(const GgufFile& f, HParams& hp, bool required) {
  const std::string p = std::string(arch_name(hp.arch)) + ".";
  hp.n_expert = f.get_int(p + "expert_count").value_or(0);
  if (hp.n_expert == 0) {
    if (required) return make_error("{}: missing metadata key {}expert_count", f.path(), p);
    return {};
  }
  hp.n_expert_used = f.get_int(p + "expert_used_count").value_or(0);
  hp.n_ff_exp = f.get_int(p + "expert_feed_forward_length").value_or(hp.n_ff);
  if (hp.n_expert < 0 || hp.n_expert > 4096)
    return make_error("{}: {}expert_count = {} is out of range", f.path(), p, hp.n_expert);
  if (hp.n_expert_used <= 0 || hp.n_expert_used > hp.n_expert)
    return make_error("{}: {}expert_used_count = {} must be between 1 and expert_count {}", f.path(), p,
                      hp.n_expert_used, hp.n_expert);
  if (hp.n_ff_exp <= 0 || hp.n_ff_exp > (int64_t{1} << 20))
    return make_error("{}: {}expert_feed_forward_length = {} is out of range", f.path(), p, hp.n_ff_exp);
  return {};
}

namespace {

// A key holding one value or one per layer (Gemma 4's files may give the feed-forward width and
// the head counts so, as ik_llama.cpp reads them for every architecture): n_layer values in
// `out`, or none when the key is absent.
Status read_per_layer(const GgufFile& f, const std::string& key, int64_t n_layer, std::vector<int64_t>& out) {
  out.clear();
  if (const GgufArray* a = f.get_array(key)) {
    if (a->ints.size() != static_cast<size_t>(n_layer))
      return make_error("{}: {} has {} entries for {} layers", f.path(), key, a->size(), n_layer);
    out = a->ints;
  } else if (auto v = f.get_int(key)) {
    out.assign(static_cast<size_t>(n_layer), *v);
  }
  for (int64_t v : out)
    if (v <= 0 || v > (int64_t{1} << 31)) return make_error("{}: metadata {} = {} is out of range", f.path(), key, v);
  return {};
}

}  // namespace

Result<HParams> read_hparams(const GgufFile& f) {
  HParams hp;
  auto arch = f.get_string("general.architecture");
  if (!arch) return make_error("{}: missing general.architecture", f.path());
  const Family* family = find_family(*arch);
  if (family == nullptr)
    return make_error("{}: unsupported architecture '{}' (supported: {})", f.path(), *arch,
                      supported_architectures());
  hp.arch = family->id;
  hp.rope_neox = family->rope_neox;
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
  if (hp.n_layer > 4096) return make_error("{}: {} layers is out of range", f.path(), hp.n_layer);
  // The feed-forward width and head counts: one value, or one per layer.
  std::vector<int64_t> ff, heads, heads_kv;
  CORRAL_TRY(read_per_layer(f, p + "feed_forward_length", hp.n_layer, ff));
  if (ff.empty()) {
    // Mixtures of experts may give only their experts' width (qwen35moe files need no dense one).
    if (!f.get_int(p + "expert_feed_forward_length"))
      return make_error("{}: missing or non-integer metadata key {}feed_forward_length", f.path(), p);
    CORRAL_TRY(need("expert_feed_forward_length", hp.n_ff));
    ff.assign(static_cast<size_t>(hp.n_layer), hp.n_ff);
  }
  CORRAL_TRY(read_per_layer(f, p + "attention.head_count", hp.n_layer, heads));
  if (heads.empty()) return make_error("{}: missing or non-integer metadata key {}attention.head_count", f.path(), p);
  CORRAL_TRY(read_per_layer(f, p + "attention.head_count_kv", hp.n_layer, heads_kv));
  if (heads_kv.empty()) heads_kv = heads;
  for (size_t il = 0; il < heads.size(); ++il)
    if (heads[il] % heads_kv[il] != 0)
      return make_error("{}: head_count {} is not a multiple of head_count_kv {} (layer {})", f.path(), heads[il],
                        heads_kv[il], il);
  hp.n_ff = *std::max_element(ff.begin(), ff.end());
  hp.n_head = *std::max_element(heads.begin(), heads.end());
  hp.n_head_kv = *std::max_element(heads_kv.begin(), heads_kv.end());
  const bool varies = std::any_of(ff.begin(), ff.end(), [&](int64_t v) { return v != hp.n_ff; }) ||
                      std::any_of(heads.begin(), heads.end(), [&](int64_t v) { return v != hp.n_head; }) ||
                      std::any_of(heads_kv.begin(), heads_kv.end(), [&](int64_t v) { return v != hp.n_head_kv; });
  hp.n_ctx_train = f.get_int(p + "context_length").value_or(2048);
  hp.head_dim = f.get_int(p + "attention.key_length").value_or(hp.n_embd / heads[0]);
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
  // Linear RoPE scaling divides every frequency's position by the factor. Other scaling types
  // (yarn, longrope) belong to the families that implement them.
  const std::string scaling = f.get_string(p + "rope.scaling.type").value_or("");
  if (scaling == "linear") {
    const double factor = f.get_float(p + "rope.scaling.factor").value_or(1.0);
    if (!(factor >= 1.0 && factor <= 1024.0))
      return make_error("{}: bad rope scaling factor {}", f.path(), factor);
    hp.rope_freq_scale = 1.0 / factor;
  }
  if (scaling == "yarn") {
    // YaRN: positions keep their scale; the frequencies are blended per dimension instead
    // (Context turns this into frequency factors and an attention factor).
    Yarn& y = hp.yarn;
    y.factor = f.get_float(p + "rope.scaling.factor").value_or(1.0);
    y.orig_ctx = f.get_int(p + "rope.scaling.original_context_length").value_or(hp.n_ctx_train);
    y.beta_fast = f.get_float(p + "rope.scaling.yarn_beta_fast").value_or(32.0);
    y.beta_slow = f.get_float(p + "rope.scaling.yarn_beta_slow").value_or(1.0);
    y.attn_factor = f.get_float(p + "rope.scaling.attn_factor").value_or(1.0);
    if (!(y.factor >= 1.0 && y.factor <= 1024.0)) return make_error("{}: bad YaRN factor {}", f.path(), y.factor);
    if (y.orig_ctx <= 0 || y.orig_ctx > (int64_t{1} << 31))
      return make_error("{}: bad rope.scaling.original_context_length {}", f.path(), y.orig_ctx);
    if (!(y.beta_fast > 0.0 && y.beta_slow > 0.0 && y.attn_factor > 0.0))
      return make_error("{}: bad YaRN parameters", f.path());
    if (y.factor == 1.0) y.factor = 0;  // no extension: plain RoPE
    if (y.factor > 0) hp.rope_attn_factor = static_cast<float>(y.attn_factor * rope_yarn_mscale(y.factor));
  }
  if (!(hp.rope_freq_base > 0.0)) return make_error("{}: bad rope frequency base {}", f.path(), hp.rope_freq_base);
  hp.rope_sets = {RopeSet{hp.rope_freq_base, hp.rope_freq_scale}};
  if (const GgufArray* tokens = f.get_array("tokenizer.ggml.tokens")) {
    hp.n_vocab = static_cast<int64_t>(tokens->size());
  }
  if (auto nv = f.get_int(p + "vocab_size")) hp.n_vocab = *nv;
  if (auto pt = f.get_int(p + "pooling_type")) {
    if (*pt < 0 || *pt > 4) return make_error("{}: bad {}pooling_type {}", f.path(), p, *pt);
    hp.pooling = static_cast<Pooling>(*pt);
    hp.has_pooling = true;
  }
  hp.layers.assign(static_cast<size_t>(hp.n_layer), LayerShape{});
  if (varies) {
    // Only the decoder blocks read per-layer widths and head counts, and only Gemma 4's files
    // are known to vary them.
    if (hp.arch != Arch::kGemma4)
      return make_error("{}: feed_forward_length or head counts that differ between layers are supported for gemma4 "
                        "only, not {}", f.path(), *arch);
    for (size_t il = 0; il < hp.layers.size(); ++il) {
      hp.layers[il].n_ff = ff[il];
      hp.layers[il].n_head = heads[il];
      hp.layers[il].n_head_kv = heads_kv[il];
    }
  }
  CORRAL_TRY(family->read_hparams(f, hp));
  return hp;
}

}  // namespace corral
