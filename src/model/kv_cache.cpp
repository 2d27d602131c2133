// The context's KV cache: per layer, one region per sequence slot. A full-attention layer holds
// n_ctx positions per sequence at slot = position. A sliding-window layer holds only its window
// plus one micro-batch (memory follows the window, not the context): its buffer starts at
// window_first_ and slides forward when a batch would run past its end.
#include <algorithm>
#include <cstring>
#include <utility>

#include "base/fp16.h"
#include "base/log.h"
#include "kernels/ops.h"
#include "model/context.h"
#include "tensor/quant.h"

namespace corral {
namespace {

// Positions a sequence holds in layer il's cache. A batch stores all its tokens before any
// attends, so a window buffer keeps the window before the batch's first token plus the batch
// (micro-batches of kMicroBatch tokens). A recurrent layer keeps a state instead
// (recurrent_state.cpp); a layer that shares another's cache (Gemma 4) holds none.
int64_t layer_slots(const HParams& h, int64_t il, int64_t n_ctx) {
  const LayerShape& l = h.layers[static_cast<size_t>(il)];
  if (l.recurrent || l.kv_from >= 0) return 0;
  return l.window > 0 ? std::min<int64_t>(n_ctx, l.window + static_cast<int64_t>(Context::kMicroBatch)) : n_ctx;
}

GgmlType kv_ggml_type(KvType t) { return t == KvType::kQ8_0 ? GgmlType::kQ8_0 : GgmlType::kQ4_0; }

// ContextParams::kv_test_misread: each block's elements 0..15 and 16..31 trade places.
void misread_blocks(KvType t, uint8_t* p, size_t bytes) {
  const size_t bb = kv_block_bytes(t);
  for (size_t b = 0; b < bytes; b += bb) {
    uint8_t* qs = p + b + 2;
    for (int i = 0; i < 16; ++i) {
      if (t == KvType::kQ4_0) qs[i] = static_cast<uint8_t>(qs[i] >> 4 | qs[i] << 4);
      else std::swap(qs[i], qs[i + 16]);
    }
  }
}

}  // namespace

size_t Context::kv_elements_for(const HParams& h, int64_t n_ctx, int32_t n_seq) {
  size_t total = 0;
  for (int64_t il = 0; il < h.n_layer; ++il)
    total += static_cast<size_t>(n_seq) * static_cast<size_t>(layer_slots(h, il, n_ctx)) *
             static_cast<size_t>(h.kv_dim_of(il));
  return 2 * total;
}

KvType Context::kv_type_for(const HParams& h, KvType want) {
  if (kv_block_bytes(want) == 0) return want;
  for (int64_t il = 0; il < h.n_layer; ++il) {
    if (layer_slots(h, il, 1) == 0) continue;  // no cache of its own
    if (h.head_dim_of(il) % kKvBlockElems != 0) return KvType::kF16;
  }
  return want;
}

Result<std::unique_ptr<Context>> Context::create(std::shared_ptr<const Model> model, const ContextParams& params) {
  if (params.n_ctx <= 0 || params.n_seq <= 0) return make_error("invalid context size");
  if (model->hp.encoder)
    return make_error("{} is an embedding-only encoder: it has no decoding context (model/encoder.h)",
                      arch_name(model->hp.arch));
  std::unique_ptr<Context> c(new Context());
  c->model_ = std::move(model);
  c->params_ = params;
  const HParams& h = c->model_->hp;
  c->params_.kv_type = kv_type_for(h, params.kv_type);
  if (c->params_.kv_type != params.kv_type)
    CORRAL_LOG_WARN("model: a {} KV cache needs head sizes that are multiples of {}; {} has another, using f16",
                    kv_type_name(params.kv_type), kKvBlockElems, arch_name(h.arch));
  size_t total = 0;
  for (int64_t il = 0; il < h.n_layer; ++il) {
    const auto kv_dim = static_cast<size_t>(h.kv_dim_of(il));
    const int64_t slots = layer_slots(h, il, params.n_ctx);
    c->layer_offset_.push_back(total);
    c->layer_slots_.push_back(slots);
    total += static_cast<size_t>(params.n_seq) * static_cast<size_t>(slots) * kv_dim;
  }
  c->kv_total_ = total;
  // LongRoPE: the long factors once a sequence may outgrow the context the short ones are for
  // (the reference engines decide by the context size per sequence, as here).
  const Model& m = *c->model_;
  if (!m.rope_factors_long.empty())
    c->freq_factors_ = params.n_ctx > h.rope_orig_ctx ? m.rope_factors_long : m.rope_factors_short;
  else
    c->freq_factors_ = m.rope_freqs;
  // YaRN: its per-pair divisors, combined with any factors the file has.
  if (h.yarn.factor > 0) {
    std::vector<float> yarn(static_cast<size_t>(h.n_rot / 2));
    rope_yarn_factors(h.n_rot, h.rope_freq_base, h.yarn.factor, h.yarn.orig_ctx, h.yarn.beta_fast, h.yarn.beta_slow,
                      yarn.data());
    if (c->freq_factors_.empty()) c->freq_factors_.assign(yarn.size(), 1.0f);
    for (size_t i = 0; i < yarn.size(); ++i) c->freq_factors_[i] *= yarn[i];
  }
  c->init_recurrent();
  c->window_first_.assign(static_cast<size_t>(h.n_layer) * static_cast<size_t>(params.n_seq), 0);
  if (c->params_.kv_type == KvType::kF16) {
    c->k_f16_.assign(total, 0);
    c->v_f16_.assign(total, 0);
  } else if (kv_block_bytes(c->params_.kv_type) != 0) {
    c->k_q_.assign(c->kv_qbytes(total), 0);
    c->v_q_.assign(c->kv_qbytes(total), 0);
  } else {
    c->k_f32_.assign(total, 0.0f);
    c->v_f32_.assign(total, 0.0f);
  }
  return c;
}

size_t Context::kv_offset(int64_t il, int32_t seq, int64_t slot) const {
  const auto slots = static_cast<size_t>(layer_slots_[static_cast<size_t>(il)]);
  return layer_offset_[static_cast<size_t>(il)] +
         (static_cast<size_t>(seq) * slots + static_cast<size_t>(slot)) * static_cast<size_t>(model_->hp.kv_dim_of(il));
}

int64_t Context::kv_slot(int64_t il, int32_t seq, int64_t pos) const {
  return pos - window_first_[static_cast<size_t>(il) * static_cast<size_t>(params_.n_seq) + static_cast<size_t>(seq)];
}

void Context::store_kv(int64_t il, int32_t seq, int32_t pos, const float* k, const float* v) {
  const size_t off = kv_offset(il, seq, kv_slot(il, seq, pos));
  const int64_t n = model_->hp.kv_dim_of(il);
  if (params_.kv_type == KvType::kF16) {
    for (int64_t i = 0; i < n; ++i) {
      k_f16_[off + static_cast<size_t>(i)] = f32_to_fp16(k[i]);
      v_f16_[off + static_cast<size_t>(i)] = f32_to_fp16(v[i]);
    }
  } else if (kv_block_bytes(params_.kv_type) != 0) {
    quantize_row(kv_ggml_type(params_.kv_type), k, &k_q_[kv_qbytes(off)], n);
    quantize_row(kv_ggml_type(params_.kv_type), v, &v_q_[kv_qbytes(off)], n);
    if (params_.kv_test_misread) {
      misread_blocks(params_.kv_type, &k_q_[kv_qbytes(off)], kv_qbytes(static_cast<size_t>(n)));
      misread_blocks(params_.kv_type, &v_q_[kv_qbytes(off)], kv_qbytes(static_cast<size_t>(n)));
    }
  } else {
    std::memcpy(&k_f32_[off], k, static_cast<size_t>(n) * sizeof(float));
    std::memcpy(&v_f32_[off], v, static_cast<size_t>(n) * sizeof(float));
  }
}

Status Context::prepare_windows(const Batch& batch) {
  const HParams& h = model_->hp;
  const auto n_seq = static_cast<size_t>(params_.n_seq);
  for (size_t s = 0; s < n_seq; ++s) {
    int64_t lo = -1, hi = -1;
    for (size_t t = 0; t < batch.size(); ++t) {
      if (static_cast<size_t>(batch.seq[t]) != s) continue;
      lo = lo < 0 ? batch.pos[t] : std::min<int64_t>(lo, batch.pos[t]);
      hi = std::max<int64_t>(hi, batch.pos[t]);
    }
    if (lo < 0) continue;
    for (int64_t il = 0; il < h.n_layer; ++il) {
      const int64_t window = h.layers[static_cast<size_t>(il)].window;
      if (window <= 0 || h.layers[static_cast<size_t>(il)].kv_from >= 0) continue;
      const auto kv_dim = static_cast<size_t>(h.kv_dim_of(il));
      const int64_t slots = layer_slots_[static_cast<size_t>(il)];
      int64_t& first = window_first_[static_cast<size_t>(il) * n_seq + s];
      // The earliest token attends from lo - window + 1; positions [start, lo) must be kept.
      const int64_t start = std::max<int64_t>(0, lo - window + 1);
      if (hi - start >= slots)
        return make_error("a batch spans positions {}..{} of sequence {}, more than a sliding-window layer's "
                          "{} cached positions hold", lo, hi, s, slots);
      if (lo > start && start < first)
        return make_error("position {} of sequence {} needs positions from {}, which a sliding-window layer "
                          "has already dropped (it holds from {}); evaluate the sequence again from 0",
                          lo, s, start, first);
      if (hi - first < slots && lo >= first) continue;  // the batch fits where the buffer is
      // Slide: keep positions [start, lo), at the front.
      const size_t keep = static_cast<size_t>(lo - start) * kv_dim;
      const size_t from = kv_offset(il, static_cast<int32_t>(s), start - first);
      const size_t to = kv_offset(il, static_cast<int32_t>(s), 0);
      if (params_.kv_type == KvType::kF16) {
        std::memmove(&k_f16_[to], &k_f16_[from], keep * sizeof(uint16_t));
        std::memmove(&v_f16_[to], &v_f16_[from], keep * sizeof(uint16_t));
      } else if (kv_block_bytes(params_.kv_type) != 0) {
        std::memmove(&k_q_[kv_qbytes(to)], &k_q_[kv_qbytes(from)], kv_qbytes(keep));
        std::memmove(&v_q_[kv_qbytes(to)], &v_q_[kv_qbytes(from)], kv_qbytes(keep));
      } else {
        std::memmove(&k_f32_[to], &k_f32_[from], keep * sizeof(float));
        std::memmove(&v_f32_[to], &v_f32_[from], keep * sizeof(float));
      }
      first = start;
    }
  }
  return {};
}

int64_t Context::reusable_prefix(int32_t seq, int64_t n) const {
  const HParams& h = model_->hp;
  // A recurrent state continues only from exactly where it is, or from a checkpoint within the
  // prefix.
  if (!rec_pos_.empty()) n = recurrent_prefix(seq, n);
  for (int64_t il = 0; il < h.n_layer && n > 0; ++il) {
    const int64_t window = h.layers[static_cast<size_t>(il)].window;
    if (window <= 0 || h.layers[static_cast<size_t>(il)].kv_from >= 0) continue;
    const int64_t first = window_first_[static_cast<size_t>(il) * static_cast<size_t>(params_.n_seq) +
                                        static_cast<size_t>(seq)];
    if (first > std::max<int64_t>(0, n - window + 1)) return 0;
  }
  return n;
}

void Context::copy_sequence(int32_t src, int32_t dst, int64_t n) {
  if (src == dst || n <= 0) return;
  const auto n_seq = static_cast<size_t>(params_.n_seq);
  for (int64_t il = 0; il < model_->hp.n_layer; ++il) {
    // A window buffer is copied whole with its start; a full layer up to n.
    const bool windowed = model_->hp.layers[static_cast<size_t>(il)].window > 0;
    const int64_t count = std::min(windowed ? layer_slots_[static_cast<size_t>(il)] : n, layer_slots_[static_cast<size_t>(il)]);
    const size_t len = static_cast<size_t>(count) * static_cast<size_t>(model_->hp.kv_dim_of(il));
    const size_t s = kv_offset(il, src, 0), d = kv_offset(il, dst, 0);
    if (params_.kv_type == KvType::kF16) {
      std::copy_n(&k_f16_[s], len, &k_f16_[d]);
      std::copy_n(&v_f16_[s], len, &v_f16_[d]);
    } else if (kv_block_bytes(params_.kv_type) != 0) {
      std::copy_n(&k_q_[kv_qbytes(s)], kv_qbytes(len), &k_q_[kv_qbytes(d)]);
      std::copy_n(&v_q_[kv_qbytes(s)], kv_qbytes(len), &v_q_[kv_qbytes(d)]);
    } else {
      std::copy_n(&k_f32_[s], len, &k_f32_[d]);
      std::copy_n(&v_f32_[s], len, &v_f32_[d]);
    }
    window_first_[static_cast<size_t>(il) * n_seq + static_cast<size_t>(dst)] =
        window_first_[static_cast<size_t>(il) * n_seq + static_cast<size_t>(src)];
  }
  // Recurrent states hold a prefix only when they have read exactly n tokens.
  if (!rec_pos_.empty()) copy_recurrent(src, dst, n);
}

}  // namespace corral
