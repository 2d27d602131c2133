// The transformer forward pass shared by llama, qwen2 and qwen3 (their differences are flags in
// HParams/LayerWeights: q/k/v biases, per-head q/k norms, NEOX RoPE, Llama 3 frequency factors).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/context.h"

namespace corral {

Result<std::unique_ptr<Context>> Context::create(std::shared_ptr<const Model> model, const ContextParams& params) {
  if (params.n_ctx <= 0 || params.n_seq <= 0) return make_error("invalid context size");
  std::unique_ptr<Context> c(new Context());
  c->model_ = std::move(model);
  c->params_ = params;
  const HParams& h = c->model_->hp;
  const size_t n = static_cast<size_t>(h.n_layer) * static_cast<size_t>(params.n_seq) *
                   static_cast<size_t>(params.n_ctx) * static_cast<size_t>(h.kv_dim());
  if (params.kv_type == KvType::kF16) {
    c->k_f16_.assign(n, 0);
    c->v_f16_.assign(n, 0);
  } else {
    c->k_f32_.assign(n, 0.0f);
    c->v_f32_.assign(n, 0.0f);
  }
  return c;
}

size_t Context::kv_offset(int64_t il, int32_t seq, int64_t pos) const {
  const HParams& h = model_->hp;
  return ((static_cast<size_t>(il) * static_cast<size_t>(params_.n_seq) + static_cast<size_t>(seq)) *
              static_cast<size_t>(params_.n_ctx) + static_cast<size_t>(pos)) * static_cast<size_t>(h.kv_dim());
}

void Context::store_kv(int64_t il, int32_t seq, int32_t pos, const float* k, const float* v) {
  const size_t off = kv_offset(il, seq, pos);
  const int64_t n = model_->hp.kv_dim();
  if (params_.kv_type == KvType::kF16) {
    for (int64_t i = 0; i < n; ++i) {
      k_f16_[off + static_cast<size_t>(i)] = f32_to_fp16(k[i]);
      v_f16_[off + static_cast<size_t>(i)] = f32_to_fp16(v[i]);
    }
  } else {
    std::memcpy(&k_f32_[off], k, static_cast<size_t>(n) * sizeof(float));
    std::memcpy(&v_f32_[off], v, static_cast<size_t>(n) * sizeof(float));
  }
}

void Context::copy_sequence(int32_t src, int32_t dst, int64_t n) {
  if (src == dst || n <= 0) return;
  const size_t len = static_cast<size_t>(n) * static_cast<size_t>(model_->hp.kv_dim());
  for (int64_t il = 0; il < model_->hp.n_layer; ++il) {
    const size_t s = kv_offset(il, src, 0), d = kv_offset(il, dst, 0);
    if (params_.kv_type == KvType::kF16) {
      std::copy_n(&k_f16_[s], len, &k_f16_[d]);
      std::copy_n(&v_f16_[s], len, &v_f16_[d]);
    } else {
      std::copy_n(&k_f32_[s], len, &k_f32_[d]);
      std::copy_n(&v_f32_[s], len, &v_f32_[d]);
    }
  }
}

// Attention for every (token, head) pair of the batch; reads K/V from the cache.
void Context::attention(const Batch& batch, int64_t il) {
  const HParams& h = model_->hp;
  const int64_t hd = h.head_dim;
  const int64_t group = h.n_head / h.n_head_kv;
  const size_t n_tasks = batch.size() * static_cast<size_t>(h.n_head);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool f16 = params_.kv_type == KvType::kF16;
  // Claimed in chunks: in a prompt, later tokens attend over more positions, so equal static
  // halves would leave the first thread idle for most of the loop.
  ThreadPool::global().parallel_for_dynamic(n_tasks, [&](size_t begin, size_t end, int) {
    for (size_t task = begin; task < end; ++task) {
      const size_t t = task / static_cast<size_t>(h.n_head);
      const int64_t head = static_cast<int64_t>(task % static_cast<size_t>(h.n_head));
      const int64_t kvh = head / group;
      const int64_t n_pos = batch.pos[t] + 1;
      const float* q = &q_[t * static_cast<size_t>(h.q_dim()) + static_cast<size_t>(head * hd)];
      float* out = &attn_[t * static_cast<size_t>(h.q_dim()) + static_cast<size_t>(head * hd)];
      const size_t off = kv_offset(il, batch.seq[t], 0) + static_cast<size_t>(kvh * hd);
      const auto stride = static_cast<size_t>(h.kv_dim());  // elements between positions
      if (f16) attention_f16(q, &k_f16_[off], &v_f16_[off], stride, n_pos, hd, scale, out);
      else attention_f32(q, &k_f32_[off], &v_f32_[off], stride, n_pos, hd, scale, out);
    }
  });
}

Result<std::span<const float>> Context::forward(const Batch& batch) {
  const Model& m = *model_;
  const HParams& h = m.hp;
  const size_t nt = batch.size();
  if (nt == 0) return std::span<const float>();
  m.prepare_for_kernels();
  for (size_t t = 0; t < nt; ++t) {
    if (batch.tokens[t] < 0 || batch.tokens[t] >= h.n_vocab)
      return make_error("token id {} is outside the vocabulary (0..{})", batch.tokens[t], h.n_vocab - 1);
    if (batch.pos[t] < 0 || batch.pos[t] >= params_.n_ctx)
      return make_error("position {} is outside the context of {} tokens", batch.pos[t], params_.n_ctx);
    if (batch.seq[t] < 0 || batch.seq[t] >= params_.n_seq)
      return make_error("sequence {} is outside the {} slots", batch.seq[t], params_.n_seq);
  }
  if (nt <= kMicroBatch || !positions_rise_per_sequence(batch)) return forward_validated(batch);

  // Micro-batches in order: each token still sees exactly positions 0..pos of its sequence (the
  // earlier slices have stored theirs), and every per-token step is independent of the batch,
  // so the results are those of the whole batch. The slices return final-norm rows; the output
  // projection runs once over all of them.
  const auto E = static_cast<size_t>(h.n_embd);
  hidden_.clear();
  for (size_t t0 = 0; t0 < nt; t0 += kMicroBatch) {
    const size_t t1 = std::min(nt, t0 + kMicroBatch);
    slice_.clear();
    slice_.embeddings = true;
    for (size_t t = t0; t < t1; ++t) slice_.add(batch.tokens[t], batch.pos[t], batch.seq[t], batch.want_logits[t] != 0);
    const std::span<const float> rows = forward_validated(slice_);
    hidden_.insert(hidden_.end(), rows.begin(), rows.end());
  }
  if (batch.embeddings) return std::span<const float>(hidden_.data(), hidden_.size());
  const size_t n_out = hidden_.size() / E;
  const size_t need = n_out * static_cast<size_t>(h.n_vocab);
  if (logits_.size() < need) logits_.resize(need);
  if (n_out > 0) matmul(m.output, hidden_.data(), h.n_embd, static_cast<int64_t>(n_out), logits_.data(), h.n_vocab);
  return std::span<const float>(logits_.data(), need);
}

bool Context::positions_rise_per_sequence(const Batch& batch) {
  last_pos_.assign(static_cast<size_t>(params_.n_seq), -1);
  for (size_t t = 0; t < batch.size(); ++t) {
    int32_t& last = last_pos_[static_cast<size_t>(batch.seq[t])];
    if (batch.pos[t] <= last) return false;
    last = batch.pos[t];
  }
  return true;
}

std::span<const float> Context::forward_validated(const Batch& batch) {
  const Model& m = *model_;
  const HParams& h = m.hp;
  const size_t nt = batch.size();
  const int64_t E = h.n_embd, QD = h.q_dim(), KD = h.kv_dim(), F = h.n_ff, hd = h.head_dim;
  auto grow = [nt](std::vector<float>& v, int64_t dim) {
    const size_t need = nt * static_cast<size_t>(dim);
    if (v.size() < need) v.resize(need);
  };
  grow(x_, E); grow(xn_, E); grow(q_, QD); grow(k_, KD); grow(v_, KD); grow(attn_, QD);
  grow(gate_, F); grow(up_, F);

  for (size_t t = 0; t < nt; ++t) get_row_f32(m.token_embd, batch.tokens[t], &x_[t * static_cast<size_t>(E)]);

  const float* freq_factors = m.rope_freqs.empty() ? nullptr : m.rope_freqs.data();
  grow(rope_cs_, h.n_rot);
  for (size_t t = 0; t < nt; ++t)
    rope_angles(h.n_rot, batch.pos[t], h.rope_freq_base, freq_factors, &rope_cs_[t * static_cast<size_t>(h.n_rot)]);
  for (int64_t il = 0; il < h.n_layer; ++il) {
    const LayerWeights& L = m.layers[static_cast<size_t>(il)];
    const auto* attn_norm = static_cast<const float*>(L.attn_norm.data);
    for (size_t t = 0; t < nt; ++t)
      rmsnorm(&x_[t * static_cast<size_t>(E)], attn_norm, &xn_[t * static_cast<size_t>(E)], E, h.rms_eps);
    const auto n = static_cast<int64_t>(nt);
    const MatmulOut qkv[] = {{&L.wq, q_.data(), QD}, {&L.wk, k_.data(), KD}, {&L.wv, v_.data(), KD}};
    matmul_many(qkv, xn_.data(), E, n);
    for (size_t t = 0; t < nt; ++t) {
      float* q = &q_[t * static_cast<size_t>(QD)];
      float* k = &k_[t * static_cast<size_t>(KD)];
      float* v = &v_[t * static_cast<size_t>(KD)];
      const float* cs = &rope_cs_[t * static_cast<size_t>(h.n_rot)];
      if (L.bq.data != nullptr) {
        axpy(1.0f, static_cast<const float*>(L.bq.data), q, QD);
        axpy(1.0f, static_cast<const float*>(L.bk.data), k, KD);
        axpy(1.0f, static_cast<const float*>(L.bv.data), v, KD);
      }
      for (int64_t hh = 0; hh < h.n_head; ++hh) {
        float* qh = q + hh * hd;
        if (L.q_norm.data != nullptr) rmsnorm(qh, static_cast<const float*>(L.q_norm.data), qh, hd, h.rms_eps);
        rope_rotate(qh, h.n_rot, h.rope_neox, cs);
      }
      for (int64_t hh = 0; hh < h.n_head_kv; ++hh) {
        float* kh = k + hh * hd;
        if (L.k_norm.data != nullptr) rmsnorm(kh, static_cast<const float*>(L.k_norm.data), kh, hd, h.rms_eps);
        rope_rotate(kh, h.n_rot, h.rope_neox, cs);
      }
      store_kv(il, batch.seq[t], batch.pos[t], k, v);
    }
    attention(batch, il);
    matmul(L.wo, attn_.data(), QD, n, xn_.data(), E);
    for (size_t i = 0; i < nt * static_cast<size_t>(E); ++i) x_[i] += xn_[i];

    const auto* ffn_norm = static_cast<const float*>(L.ffn_norm.data);
    for (size_t t = 0; t < nt; ++t)
      rmsnorm(&x_[t * static_cast<size_t>(E)], ffn_norm, &xn_[t * static_cast<size_t>(E)], E, h.rms_eps);
    const MatmulOut gate_up[] = {{&L.ffn_gate, gate_.data(), F}, {&L.ffn_up, up_.data(), F}};
    matmul_many(gate_up, xn_.data(), E, n);
    for (size_t t = 0; t < nt; ++t)
      swiglu(&gate_[t * static_cast<size_t>(F)], &up_[t * static_cast<size_t>(F)], F);
    matmul(L.ffn_down, gate_.data(), F, n, xn_.data(), E);
    for (size_t i = 0; i < nt * static_cast<size_t>(E); ++i) x_[i] += xn_[i];
  }

  // Final norm and output projection only for the tokens whose logits are wanted.
  size_t n_out = 0;
  const auto* out_norm = static_cast<const float*>(m.output_norm.data);
  for (size_t t = 0; t < nt; ++t) {
    if (!batch.want_logits[t]) continue;
    rmsnorm(&x_[t * static_cast<size_t>(E)], out_norm, &xn_[n_out * static_cast<size_t>(E)], E, h.rms_eps);
    ++n_out;
  }
  if (batch.embeddings) return std::span<const float>(xn_.data(), n_out * static_cast<size_t>(E));
  const size_t need = n_out * static_cast<size_t>(h.n_vocab);
  if (logits_.size() < need) logits_.resize(need);
  if (n_out > 0) matmul(m.output, xn_.data(), E, static_cast<int64_t>(n_out), logits_.data(), h.n_vocab);
  return std::span<const float>(logits_.data(), need);
}

}  // namespace corral
