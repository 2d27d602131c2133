// The blocks of a layer recipe (layer_pass.h), over the context's scratch buffers: x_ is the
// residual stream, xn_ the branch, both [n_tokens][n_embd].
#include "model/layer_pass.h"

#include <algorithm>
#include <cmath>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace corral {

void LayerPass::norm(const TensorView& w) {
  const int64_t E = c_.model_->hp.n_embd;
  const auto* weight = static_cast<const float*>(w.data);
  for (size_t t = 0; t < batch_.size(); ++t)
    rmsnorm(&c_.x_[t * static_cast<size_t>(E)], weight, &c_.xn_[t * static_cast<size_t>(E)], E, c_.model_->hp.rms_eps);
}

void LayerPass::norm_branch(const TensorView& w) {
  const int64_t E = c_.model_->hp.n_embd;
  const auto* weight = static_cast<const float*>(w.data);
  for (size_t t = 0; t < batch_.size(); ++t) {
    float* row = &c_.xn_[t * static_cast<size_t>(E)];
    rmsnorm(row, weight, row, E, c_.model_->hp.rms_eps);
  }
}

void LayerPass::add_to_residual() {
  const size_t n = batch_.size() * static_cast<size_t>(c_.model_->hp.n_embd);
  for (size_t i = 0; i < n; ++i) c_.x_[i] += c_.xn_[i];
}

void LayerPass::feed_forward(const LayerWeights& L, Activation act) {
  const HParams& h = c_.model_->hp;
  const int64_t E = h.n_embd, F = h.n_ff;
  const auto n = static_cast<int64_t>(batch_.size());
  const MatmulOut gate_up[] = {{&L.ffn_gate, c_.gate_.data(), F}, {&L.ffn_up, c_.up_.data(), F}};
  matmul_many(gate_up, c_.xn_.data(), E, n);
  for (size_t t = 0; t < batch_.size(); ++t) {
    float* g = &c_.gate_[t * static_cast<size_t>(F)];
    const float* u = &c_.up_[t * static_cast<size_t>(F)];
    if (act == Activation::kSilu) swiglu(g, u, F);
    else geglu(g, u, F);
  }
  matmul(L.ffn_down, c_.gate_.data(), F, n, c_.xn_.data(), E);
}

void LayerPass::attention(const LayerWeights& L, int64_t il) {
  const HParams& h = c_.model_->hp;
  const LayerShape& shape = h.layers[static_cast<size_t>(il)];
  const int64_t E = h.n_embd, QD = h.q_dim(), KD = h.kv_dim(), hd = h.head_dim;
  const size_t nt = batch_.size();
  const auto n = static_cast<int64_t>(nt);
  if (h.attn_output_gate) {
    // attn_q's rows hold, per head, the query and then the gate: split them.
    const size_t need = nt * static_cast<size_t>(2 * QD);
    if (c_.q_gate_.size() < need) c_.q_gate_.resize(need);
    const MatmulOut qkv[] = {{&L.wq, c_.q_gate_.data(), 2 * QD}, {&L.wk, c_.k_.data(), KD}, {&L.wv, c_.v_.data(), KD}};
    matmul_many(qkv, c_.xn_.data(), E, n);
    for (size_t t = 0; t < nt; ++t)
      for (int64_t hh = 0; hh < h.n_head; ++hh) {
        const float* src = &c_.q_gate_[t * static_cast<size_t>(2 * QD) + static_cast<size_t>(2 * hh * hd)];
        std::copy_n(src, hd, &c_.q_[t * static_cast<size_t>(QD) + static_cast<size_t>(hh * hd)]);
        // the gate goes to the front half of its own row, where the output reads it
        std::copy_n(src + hd, hd, &c_.q_gate_[t * static_cast<size_t>(2 * QD) + static_cast<size_t>(hh * hd)]);
      }
  } else {
    const MatmulOut qkv[] = {{&L.wq, c_.q_.data(), QD}, {&L.wk, c_.k_.data(), KD}, {&L.wv, c_.v_.data(), KD}};
    matmul_many(qkv, c_.xn_.data(), E, n);
  }
  const size_t rope_stride = nt * static_cast<size_t>(h.n_rot);
  for (size_t t = 0; t < nt; ++t) {
    float* q = &c_.q_[t * static_cast<size_t>(QD)];
    float* k = &c_.k_[t * static_cast<size_t>(KD)];
    float* v = &c_.v_[t * static_cast<size_t>(KD)];
    const float* cs = &c_.rope_cs_[static_cast<size_t>(shape.rope_set) * rope_stride + t * static_cast<size_t>(h.n_rot)];
    if (L.bq.data != nullptr) {
      axpy(1.0f, static_cast<const float*>(L.bq.data), q, QD);
      axpy(1.0f, static_cast<const float*>(L.bk.data), k, KD);
      axpy(1.0f, static_cast<const float*>(L.bv.data), v, KD);
    }
    for (int64_t hh = 0; hh < h.n_head; ++hh) {
      float* qh = q + hh * hd;
      if (L.q_norm.data != nullptr) rmsnorm(qh, static_cast<const float*>(L.q_norm.data), qh, hd, h.rms_eps);
      if (shape.rope) rope_rotate(qh, h.n_rot, h.rope_neox, cs);
    }
    for (int64_t hh = 0; hh < h.n_head_kv; ++hh) {
      float* kh = k + hh * hd;
      if (L.k_norm.data != nullptr) rmsnorm(kh, static_cast<const float*>(L.k_norm.data), kh, hd, h.rms_eps);
      if (shape.rope) rope_rotate(kh, h.n_rot, h.rope_neox, cs);
    }
    c_.store_kv(il, batch_.seq[t], batch_.pos[t], k, v);
  }
  c_.attention(batch_, il);
  if (h.attn_output_gate)
    for (size_t t = 0; t < nt; ++t) {
      float* o = &c_.attn_[t * static_cast<size_t>(QD)];
      const float* g = &c_.q_gate_[t * static_cast<size_t>(2 * QD)];
      for (int64_t i = 0; i < QD; ++i) o[i] *= 1.0f / (1.0f + std::exp(-g[i]));
    }
  matmul(L.wo, c_.attn_.data(), QD, n, c_.xn_.data(), E);
  if (L.bo.data != nullptr)
    for (size_t t = 0; t < nt; ++t) axpy(1.0f, static_cast<const float*>(L.bo.data), &c_.xn_[t * static_cast<size_t>(E)], E);
}

// Attention for every (token, head) pair of the batch; reads K/V from the cache. A token at
// position p attends to positions [p - window + 1, p] of a windowed layer, [0, p] otherwise;
// a layer with sinks (gpt-oss) adds each head's sink logit to the softmax.
void Context::attention(const Batch& batch, int64_t il) {
  const HParams& h = model_->hp;
  const int64_t window = h.layers[static_cast<size_t>(il)].window;
  const int64_t hd = h.head_dim;
  const int64_t group = h.n_head / h.n_head_kv;
  const size_t n_tasks = batch.size() * static_cast<size_t>(h.n_head);
  const float scale = h.query_scale();
  const float cap = h.attn_softcap;
  const bool f16 = params_.kv_type == KvType::kF16;
  const auto* sinks = static_cast<const float*>(model_->layers[static_cast<size_t>(il)].attn_sinks.data);
  // Claimed in chunks: in a prompt, later tokens attend over more positions, so equal static
  // halves would leave the first thread idle for most of the loop.
  ThreadPool::global().parallel_for_dynamic(n_tasks, [&](size_t begin, size_t end, int) {
    for (size_t task = begin; task < end; ++task) {
      const size_t t = task / static_cast<size_t>(h.n_head);
      const int64_t head = static_cast<int64_t>(task % static_cast<size_t>(h.n_head));
      const int64_t kvh = head / group;
      const int64_t pos = batch.pos[t];
      const int64_t from = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
      const int64_t n_pos = pos + 1 - from;
      const float* q = &q_[t * static_cast<size_t>(h.q_dim()) + static_cast<size_t>(head * hd)];
      float* out = &attn_[t * static_cast<size_t>(h.q_dim()) + static_cast<size_t>(head * hd)];
      const size_t off = kv_offset(il, batch.seq[t], kv_slot(il, batch.seq[t], from)) + static_cast<size_t>(kvh * hd);
      const auto stride = static_cast<size_t>(h.kv_dim());  // elements between positions
      if (sinks != nullptr) {
        if (f16) attention_sink_f16(q, &k_f16_[off], &v_f16_[off], stride, n_pos, hd, scale, sinks[head], out);
        else attention_sink_f32(q, &k_f32_[off], &v_f32_[off], stride, n_pos, hd, scale, sinks[head], out);
      } else if (cap > 0.0f) {
        if (f16) attention_capped_f16(q, &k_f16_[off], &v_f16_[off], stride, n_pos, hd, scale, cap, out);
        else attention_capped_f32(q, &k_f32_[off], &v_f32_[off], stride, n_pos, hd, scale, cap, out);
      } else if (f16) {
        attention_f16(q, &k_f16_[off], &v_f16_[off], stride, n_pos, hd, scale, out);
      } else {
        attention_f32(q, &k_f32_[off], &v_f32_[off], stride, n_pos, hd, scale, out);
      }
    }
  });
}

}  // namespace corral
