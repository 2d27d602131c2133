// The encoder pass (encoder.h): embeddings with token types (and absolute positions for bert)
// and a LayerNorm, then per layer: attention with biases (bert) or rotary positions (nomic-bert),
// residual and post-LayerNorm, a GELU (bert) or SwiGLU (nomic-bert) feed-forward, residual and
// post-LayerNorm. Rows are [n_tokens][dim] over all the packed sequences.
#include "model/encoder.h"

#include <algorithm>
#include <cmath>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace corral {

Encoder::Encoder(std::shared_ptr<const Model> model) : model_(std::move(model)) {}

int64_t Encoder::max_tokens() const {
  const HParams& h = model_->hp;
  if (model_->pos_embd.data != nullptr) return model_->pos_embd.ne[1];
  return h.n_ctx_train > 0 ? h.n_ctx_train : 2048;
}

void normalize_l2(std::span<float> v) {
  double ss = 0.0;
  for (float x : v) ss += static_cast<double>(x) * x;
  if (ss <= 0.0) return;
  const double inv = 1.0 / std::sqrt(ss);
  for (float& x : v) x = static_cast<float>(x * inv);
}

namespace {

// fn(i) for every row i < n over the pool (each row's work is independent, so the split
// changes no result).
template <class Fn>
void each_row(size_t n, Fn&& fn) {
  ThreadPool::global().parallel_for(n, [&](size_t begin, size_t end, int) {
    for (size_t i = begin; i < end; ++i) fn(i);
  });
}

}  // namespace

template <class Fn>
Status Encoder::passes_over(std::span<const std::vector<int32_t>> seqs, std::span<const size_t> second_from,
                            Fn&& pooled) {
  const HParams& h = model_->hp;
  if (!h.encoder) return make_error("{} is not an encoder", arch_name(h.arch));
  for (const auto& s : seqs) {
    if (s.empty()) return make_error("an input has no tokens");
    if (static_cast<int64_t>(s.size()) > max_tokens())
      return make_error("an input of {} tokens exceeds the model's context of {}", s.size(), max_tokens());
    for (int32_t t : s)
      if (t < 0 || t >= h.n_vocab) return make_error("token id {} is outside the vocabulary (0..{})", t, h.n_vocab - 1);
  }
  model_->prepare_for_kernels();
  for (size_t first = 0; first < seqs.size();) {
    size_t last = first, n = 0;
    while (last < seqs.size() && (last == first || n + seqs[last].size() <= kPassTokens)) n += seqs[last++].size();
    forward(seqs, second_from, first, last);
    ++passes_;
    pooled(first, last);
    first = last;
  }
  return {};
}

Result<std::vector<std::vector<float>>> Encoder::embed(std::span<const std::vector<int32_t>> seqs, Pooling pooling) {
  if (pooling != Pooling::kMean && pooling != Pooling::kCls && pooling != Pooling::kLast)
    return make_error("pooling type {} gives no embedding per sequence", static_cast<int>(pooling));
  const auto E = static_cast<size_t>(model_->hp.n_embd);
  std::vector<std::vector<float>> out(seqs.size(), std::vector<float>(E, 0.0f));
  CORRAL_TRY(passes_over(seqs, {}, [&](size_t first, size_t last) {
    for (size_t s = first; s < last; ++s) {
      const size_t a = start_[s - first], b = start_[s - first + 1];
      float* dst = out[s].data();
      if (pooling == Pooling::kCls || pooling == Pooling::kLast) {
        const size_t t = pooling == Pooling::kCls ? a : b - 1;
        std::copy_n(&x_[t * E], E, dst);
        continue;
      }
      for (size_t t = a; t < b; ++t)
        for (size_t e = 0; e < E; ++e) dst[e] += x_[t * E + e];
      const float inv = 1.0f / static_cast<float>(b - a);
      for (size_t e = 0; e < E; ++e) dst[e] *= inv;
    }
  }));
  return out;
}

Result<std::vector<float>> Encoder::rank(std::span<const std::vector<int32_t>> seqs, std::span<const size_t> second_from) {
  const Model& m = *model_;
  if (m.cls.data == nullptr) return make_error("the model has no classification head (cls.weight): not a reranker");
  if (second_from.size() != seqs.size()) return make_error("rank: one segment start per sequence is needed");
  const int64_t E = m.hp.n_embd, C = m.cls.ne[1];
  const auto Es = static_cast<size_t>(E), Cs = static_cast<size_t>(C);
  std::vector<float> out(seqs.size(), 0.0f);
  CORRAL_TRY(passes_over(seqs, second_from, [&](size_t first, size_t last) {
    const size_t n_seq = last - first;
    if (cls_in_.size() < n_seq * Es) cls_in_.resize(n_seq * Es);
    if (cls_mid_.size() < n_seq * Cs) cls_mid_.resize(n_seq * Cs);
    for (size_t s = 0; s < n_seq; ++s) std::copy_n(&x_[start_[s] * Es], Es, &cls_in_[s * Es]);
    // [n_seq][E] -> [n_seq][C]: tanh(cls * x + cls_b)
    matmul(m.cls, cls_in_.data(), E, static_cast<int64_t>(n_seq), cls_mid_.data(), C);
    const auto* cb = static_cast<const float*>(m.cls_b.data);
    for (size_t s = 0; s < n_seq; ++s)
      for (size_t c = 0; c < Cs; ++c) cls_mid_[s * Cs + c] = std::tanh(cls_mid_[s * Cs + c] + cb[c]);
    if (m.cls_out.data == nullptr) {  // a head of one output (jina-reranker-v1-tiny): tanh is the score
      for (size_t s = 0; s < n_seq; ++s) out[first + s] = cls_mid_[s * Cs];
      return;
    }
    // [n_seq][C] -> [n_seq][1]
    matmul(m.cls_out, cls_mid_.data(), C, static_cast<int64_t>(n_seq), cls_in_.data(), 1);
    const float ob = m.cls_out_b.data != nullptr ? *static_cast<const float*>(m.cls_out_b.data) : 0.0f;
    for (size_t s = 0; s < n_seq; ++s) out[first + s] = cls_in_[s] + ob;
  }));
  return out;
}

void Encoder::forward(std::span<const std::vector<int32_t>> seqs, std::span<const size_t> second_from, size_t first,
                      size_t last) {
  const Model& m = *model_;
  const HParams& h = m.hp;
  const int64_t E = h.n_embd, QD = h.q_dim(), KD = h.kv_dim(), F = h.n_ff, hd = h.head_dim;
  const auto Es = static_cast<size_t>(E);
  start_.assign(1, 0);
  pos_.clear();
  for (size_t s = first; s < last; ++s) {
    for (size_t i = 0; i < seqs[s].size(); ++i) pos_.push_back(static_cast<int32_t>(i));
    start_.push_back(pos_.size());
  }
  const size_t nt = pos_.size();
  const auto n = static_cast<int64_t>(nt);
  auto grow = [nt](std::vector<float>& v, int64_t dim) {
    const size_t need = nt * static_cast<size_t>(dim);
    if (v.size() < need) v.resize(need);
  };
  grow(x_, E); grow(xn_, E); grow(q_, QD); grow(k_, KD); grow(v_, KD); grow(attn_, QD); grow(up_, F);
  if (h.arch == Arch::kNomicBert) grow(gate_, F);

  // Embeddings: token + token type (+ absolute position), then LayerNorm. Type 1 (a pair's
  // second segment) only where the file has a second row; XLM-RoBERTa rerankers have one.
  const auto* type0 = static_cast<const float*>(m.token_types.data);
  const float* type1 = m.token_types.ne[1] >= 2 ? type0 + Es : type0;
  const auto* en_w = static_cast<const float*>(m.embd_norm.data);
  const auto* en_b = static_cast<const float*>(m.embd_norm_b.data);
  std::vector<float> pos_row(m.pos_embd.data != nullptr ? Es : 0);
  size_t t = 0;
  for (size_t s = first; s < last; ++s) {
    for (size_t i = 0; i < seqs[s].size(); ++i, ++t) {
      float* row = &x_[t * Es];
      get_row_f32(m.token_embd, seqs[s][i], row);
      const float* type = !second_from.empty() && i >= second_from[s] ? type1 : type0;
      for (size_t e = 0; e < Es; ++e) row[e] += type[e];
      if (!pos_row.empty()) {
        get_row_f32(m.pos_embd, static_cast<int64_t>(i), pos_row.data());
        for (size_t e = 0; e < Es; ++e) row[e] += pos_row[e];
      }
      layernorm(row, en_w, en_b, row, E, h.norm_eps);
    }
  }
  const bool rope = h.arch == Arch::kNomicBert;
  if (rope) {
    grow(rope_cs_, h.n_rot);
    for (size_t i = 0; i < nt; ++i)
      rope_angles(h.n_rot, static_cast<double>(pos_[i]) * h.rope_freq_scale, h.rope_freq_base, nullptr,
                  &rope_cs_[i * static_cast<size_t>(h.n_rot)]);
  }
  const float scale = h.query_scale();
  const size_t n_seq = last - first;
  for (int64_t il = 0; il < h.n_layer; ++il) {
    const LayerWeights& L = m.layers[static_cast<size_t>(il)];
    const EncoderLayerWeights& X = m.encoder_layers[static_cast<size_t>(il)];
    const MatmulOut qkv[] = {{&L.wq, q_.data(), QD}, {&L.wk, k_.data(), KD}, {&L.wv, v_.data(), KD}};
    matmul_many(qkv, x_.data(), E, n);
    each_row(nt, [&](size_t i) {
      float* q = &q_[i * static_cast<size_t>(QD)];
      float* k = &k_[i * static_cast<size_t>(KD)];
      if (L.bq.data != nullptr) {
        axpy(1.0f, static_cast<const float*>(L.bq.data), q, QD);
        axpy(1.0f, static_cast<const float*>(L.bk.data), k, KD);
        axpy(1.0f, static_cast<const float*>(L.bv.data), &v_[i * static_cast<size_t>(KD)], KD);
      }
      if (rope) {
        const float* cs = &rope_cs_[i * static_cast<size_t>(h.n_rot)];
        for (int64_t hh = 0; hh < h.n_head; ++hh) rope_rotate(q + hh * hd, h.n_rot, h.rope_neox, cs);
        for (int64_t hh = 0; hh < h.n_head_kv; ++hh) rope_rotate(k + hh * hd, h.n_rot, h.rope_neox, cs);
      }
    });
    // Bidirectional attention inside each sequence: a token sees every position of its own.
    // One task per (sequence, head), all the sequence's queries in one block call.
    const auto n_head = static_cast<size_t>(h.n_head);
    ThreadPool::global().parallel_for_dynamic(n_seq * n_head, 1, [&](size_t begin, size_t end, int) {
      for (size_t task = begin; task < end; ++task) {
        const size_t s = task / n_head;
        const auto head = static_cast<int64_t>(task % n_head);
        const size_t off = start_[s] * static_cast<size_t>(KD) + static_cast<size_t>(head * hd);
        const size_t qoff = start_[s] * static_cast<size_t>(QD) + static_cast<size_t>(head * hd);
        const auto len = static_cast<int64_t>(start_[s + 1] - start_[s]);
        attention_block_f32(&q_[qoff], static_cast<size_t>(QD), len, &k_[off], &v_[off], static_cast<size_t>(KD), len, hd,
                            scale, &attn_[qoff], static_cast<size_t>(QD));
      }
    });
    matmul(L.wo, attn_.data(), QD, n, xn_.data(), E);
    const auto* bo = static_cast<const float*>(X.bo.data);
    each_row(nt, [&](size_t i) {
      float* row = &xn_[i * Es];
      if (bo != nullptr) axpy(1.0f, bo, row, E);
      axpy(1.0f, &x_[i * Es], row, E);
      layernorm(row, static_cast<const float*>(X.attn_out_norm.data), static_cast<const float*>(X.attn_out_norm_b.data),
                &x_[i * Es], E, h.norm_eps);
    });
    // Feed-forward of the normalised rows (x_), then the residual and the output LayerNorm.
    if (L.ffn_gate.data != nullptr) {
      const MatmulOut gate_up[] = {{&L.ffn_gate, gate_.data(), F}, {&L.ffn_up, up_.data(), F}};
      matmul_many(gate_up, x_.data(), E, n);
      each_row(nt, [&](size_t i) {
        swiglu(&gate_[i * static_cast<size_t>(F)], &up_[i * static_cast<size_t>(F)], F);
      });
      matmul(L.ffn_down, gate_.data(), F, n, xn_.data(), E);
    } else {
      matmul(L.ffn_up, x_.data(), E, n, up_.data(), F);
      const auto* bu = static_cast<const float*>(X.ffn_up_b.data);
      each_row(nt, [&](size_t i) {
        float* row = &up_[i * static_cast<size_t>(F)];
        if (bu != nullptr) axpy(1.0f, bu, row, F);
        gelu(row, F);
      });
      matmul(L.ffn_down, up_.data(), F, n, xn_.data(), E);
    }
    const auto* bd = static_cast<const float*>(X.ffn_down_b.data);
    each_row(nt, [&](size_t i) {
      float* row = &xn_[i * Es];
      if (bd != nullptr) axpy(1.0f, bd, row, E);
      axpy(1.0f, &x_[i * Es], row, E);
      layernorm(row, static_cast<const float*>(X.out_norm.data), static_cast<const float*>(X.out_norm_b.data),
                &x_[i * Es], E, h.norm_eps);
    });
  }
}

}  // namespace corral
