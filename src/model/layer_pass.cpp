// The blocks of a layer recipe (layer_pass.h), over the context's scratch buffers: x_ is the
// residual stream, xn_ the branch, both [n_tokens][n_embd].
#include "model/layer_pass.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace corral {
namespace {

// x = x / rms(x), in place (Gemma 4's value norm has no weight).
void rmsnorm_unweighted(float* x, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const auto scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) x[i] *= scale;
}

// A prompt's per-token element-wise steps (norms, the gate's activation, q/k norms and RoPE, the
// residual add) run on the pool, tokens split between the threads: serial, they were a seventh
// of a Gemma 3 prompt's time on two threads while the other thread waited. Each token's row is
// computed alone, so the bits do not depend on the split. Below kPoolTokens (generation, small
// batches) a dispatch would cost more than the work: inline.
constexpr size_t kPoolTokens = 8;

template <class Fn>
void for_tokens(size_t nt, Fn&& fn) {
  if (nt < kPoolTokens) {
    for (size_t t = 0; t < nt; ++t) fn(t);
    return;
  }
  ThreadPool::global().parallel_for_dynamic(nt, [&](size_t begin, size_t end, int) {
    for (size_t t = begin; t < end; ++t) fn(t);
  });
}

}  // namespace

void LayerPass::norm(const TensorView& w) {
  const int64_t E = c_.model_->hp.n_embd;
  const auto* weight = static_cast<const float*>(w.data);
  for_tokens(batch_.size(), [&](size_t t) {
    rmsnorm(&c_.x_[t * static_cast<size_t>(E)], weight, &c_.xn_[t * static_cast<size_t>(E)], E, c_.model_->hp.rms_eps);
  });
}

void LayerPass::norm_branch(const TensorView& w) {
  const int64_t E = c_.model_->hp.n_embd;
  const auto* weight = static_cast<const float*>(w.data);
  for_tokens(batch_.size(), [&](size_t t) {
    float* row = &c_.xn_[t * static_cast<size_t>(E)];
    rmsnorm(row, weight, row, E, c_.model_->hp.rms_eps);
  });
}

void LayerPass::add_to_residual() {
  const auto E = static_cast<size_t>(c_.model_->hp.n_embd);
  for_tokens(batch_.size(), [&](size_t t) {
    for (size_t i = t * E; i < (t + 1) * E; ++i) c_.x_[i] += c_.xn_[i];
  });
}

void LayerPass::feed_forward(const LayerWeights& L, Activation act) {
  const HParams& h = c_.model_->hp;
  const int64_t E = h.n_embd, F = L.ffn_down.ne[0];  // this layer's width (Gemma 4's may differ)
  const auto n = static_cast<int64_t>(batch_.size());
  const MatmulOut gate_up[] = {{&L.ffn_gate, c_.gate_.data(), F}, {&L.ffn_up, c_.up_.data(), F}};
  matmul_many(gate_up, c_.xn_.data(), E, n);
  for_tokens(batch_.size(), [&](size_t t) {
    float* g = &c_.gate_[t * static_cast<size_t>(F)];
    const float* u = &c_.up_[t * static_cast<size_t>(F)];
    if (act == Activation::kSilu) swiglu(g, u, F);
    else geglu(g, u, F);
  });
  matmul(L.ffn_down, c_.gate_.data(), F, n, c_.xn_.data(), E);
}

void LayerPass::attention(const LayerWeights& L, int64_t il) {
  const HParams& h = c_.model_->hp;
  const LayerShape& shape = h.layers[static_cast<size_t>(il)];
  const int64_t E = h.n_embd, QD = h.q_dim_of(il), KD = h.kv_dim_of(il), hd = h.head_dim_of(il);
  const int64_t n_head = h.n_head_of(il), n_head_kv = h.n_head_kv_of(il);
  // A shared-KV layer (Gemma 4) computes queries only and attends over another layer's cache.
  const bool own_kv = shape.kv_from < 0;
  // Without attn_v (Gemma 4) the values are the keys' projection, before the key norm.
  const bool v_is_k = own_kv && L.wv.data == nullptr;
  const size_t nt = batch_.size();
  const auto n = static_cast<int64_t>(nt);
  if (h.attn_output_gate) {
    // attn_q's rows hold, per head, the query and then the gate: split them.
    const size_t need = nt * static_cast<size_t>(2 * QD);
    if (c_.q_gate_.size() < need) c_.q_gate_.resize(need);
    const MatmulOut qkv[] = {{&L.wq, c_.q_gate_.data(), 2 * QD}, {&L.wk, c_.k_.data(), KD}, {&L.wv, c_.v_.data(), KD}};
    matmul_many(qkv, c_.xn_.data(), E, n);
    for (size_t t = 0; t < nt; ++t)
      for (int64_t hh = 0; hh < n_head; ++hh) {
        const float* src = &c_.q_gate_[t * static_cast<size_t>(2 * QD) + static_cast<size_t>(2 * hh * hd)];
        std::copy_n(src, hd, &c_.q_[t * static_cast<size_t>(QD) + static_cast<size_t>(hh * hd)]);
        // the gate goes to the front half of its own row, where the output reads it
        std::copy_n(src + hd, hd, &c_.q_gate_[t * static_cast<size_t>(2 * QD) + static_cast<size_t>(hh * hd)]);
      }
  } else if (!own_kv) {
    matmul(L.wq, c_.xn_.data(), E, n, c_.q_.data(), QD);
  } else if (v_is_k) {
    const MatmulOut qk[] = {{&L.wq, c_.q_.data(), QD}, {&L.wk, c_.k_.data(), KD}};
    matmul_many(qk, c_.xn_.data(), E, n);
    std::copy_n(c_.k_.data(), nt * static_cast<size_t>(KD), c_.v_.data());
  } else {
    const MatmulOut qkv[] = {{&L.wq, c_.q_.data(), QD}, {&L.wk, c_.k_.data(), KD}, {&L.wv, c_.v_.data(), KD}};
    matmul_many(qkv, c_.xn_.data(), E, n);
  }
  const RopeSet& rs = h.rope_sets[static_cast<size_t>(shape.rope_set)];
  const int64_t n_rot = h.n_rot_of(rs);
  const auto rope_width = static_cast<size_t>(c_.rope_width_);
  for_tokens(nt, [&](size_t t) {
    float* q = &c_.q_[t * static_cast<size_t>(QD)];
    float* k = &c_.k_[t * static_cast<size_t>(KD)];
    float* v = &c_.v_[t * static_cast<size_t>(KD)];
    const float* cs = &c_.rope_cs_[(static_cast<size_t>(shape.rope_set) * nt + t) * rope_width];
    if (L.bq.data != nullptr) {
      axpy(1.0f, static_cast<const float*>(L.bq.data), q, QD);
      axpy(1.0f, static_cast<const float*>(L.bk.data), k, KD);
      axpy(1.0f, static_cast<const float*>(L.bv.data), v, KD);
    }
    for (int64_t hh = 0; hh < n_head; ++hh) {
      float* qh = q + hh * hd;
      if (L.q_norm.data != nullptr) rmsnorm(qh, static_cast<const float*>(L.q_norm.data), qh, hd, h.rms_eps);
      if (shape.rope) rope_rotate(qh, n_rot, h.rope_neox, cs);
    }
    if (!own_kv) return;
    for (int64_t hh = 0; hh < n_head_kv; ++hh) {
      float* kh = k + hh * hd;
      if (L.k_norm.data != nullptr) rmsnorm(kh, static_cast<const float*>(L.k_norm.data), kh, hd, h.rms_eps);
      if (shape.rope) rope_rotate(kh, n_rot, h.rope_neox, cs);
      if (h.attn_v_norm) rmsnorm_unweighted(v + hh * hd, hd, h.rms_eps);
    }
  });
  // In batch order, on one thread: a batch may name the same position twice (the last wins).
  if (own_kv)
    for (size_t t = 0; t < nt; ++t)
      c_.store_kv(il, batch_.seq[t], batch_.pos[t], &c_.k_[t * static_cast<size_t>(KD)], &c_.v_[t * static_cast<size_t>(KD)]);
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

void LayerPass::per_layer_embedding(const LayerWeights& L, int64_t il) {
  if (L.ple_gate.data == nullptr) return;
  const HParams& h = c_.model_->hp;
  const int64_t E = h.n_embd, P = h.n_embd_per_layer, W = P * h.n_layer;
  const size_t nt = batch_.size();
  const auto n = static_cast<int64_t>(nt);
  // gate_ = gelu(inp_gate · residual) * this layer's part of the token's per-layer input
  matmul(L.ple_gate, c_.x_.data(), E, n, c_.gate_.data(), P);
  for (size_t t = 0; t < nt; ++t)
    geglu(&c_.gate_[t * static_cast<size_t>(P)], &c_.ple_[t * static_cast<size_t>(W) + static_cast<size_t>(il * P)], P);
  matmul(L.ple_proj, c_.gate_.data(), P, n, c_.xn_.data(), E);
  norm_branch(L.ple_post_norm);
  add_to_residual();
}

void LayerPass::scale_residual(const TensorView& s) {
  if (s.data == nullptr) return;
  const float k = *static_cast<const float*>(s.data);
  const size_t n = batch_.size() * static_cast<size_t>(c_.model_->hp.n_embd);
  for (size_t i = 0; i < n; ++i) c_.x_[i] *= k;
}

// Attention for every (token, head) pair of the batch; reads K/V from the cache. A token at
// position p attends to positions [p - window + 1, p] of a windowed layer, [0, p] otherwise;
// a layer with sinks (gpt-oss) adds each head's sink logit to the softmax.
//
// Blocked over the cache: one task runs the query heads that share a KV head, for a block of
// consecutive tokens of one sequence that start reading at the same cached position (all of a
// prompt's tokens on a layer without a window), through the group kernels, so each K/V tile is
// read and converted once for all of them instead of once per (token, head). A query's result
// has the bits of the same query alone (kernel_abi.h AttentionGroupFn), so a token's result does
// not depend on the batch it came in.
void Context::attention(const Batch& batch, int64_t il) {
  const HParams& h = model_->hp;
  const int64_t window = h.layers[static_cast<size_t>(il)].window;
  const int64_t hd = h.head_dim_of(il), QD = h.q_dim_of(il);
  const int64_t kvl = h.kv_layer(il);  // the layer whose cache this one reads
  const int64_t n_head = h.n_head_of(il);
  const int64_t n_kv = h.n_head_kv_of(il);
  const int64_t group = n_head / n_kv;
  const float scale = h.query_scale();
  const float cap = h.attn_softcap;
  const auto* sinks = static_cast<const float*>(model_->layers[static_cast<size_t>(il)].attn_sinks.data);
  const auto stride = static_cast<size_t>(h.kv_dim_of(kvl));  // elements between positions
  const KvType type = params_.kv_type;

  struct Block {
    size_t t0, t1;  // batch tokens [t0, t1)
    int64_t from;   // the first position they read
  };
  const auto first_pos = [&](size_t t) -> int64_t {
    return window > 0 ? std::max<int64_t>(0, batch.pos[t] - window + 1) : 0;
  };
  const size_t max_tokens = static_cast<size_t>(std::clamp<int64_t>(kAttnGroupMax / group, 1, 16));
  // Grows to the largest batch, then stays (no per-token allocation); the workers read it through
  // this reference (a thread_local named in the loop would be each worker's own, empty one).
  thread_local std::vector<Block> block_list;
  std::vector<Block>& blocks = block_list;
  blocks.clear();
  for (size_t t = 0; t < batch.size(); ++t) {
    const int64_t from = first_pos(t);
    if (blocks.empty() || batch.seq[t] != batch.seq[blocks.back().t0] || from != blocks.back().from ||
        blocks.back().t1 - blocks.back().t0 == max_tokens)
      blocks.push_back(Block{t, t + 1, from});
    else
      blocks.back().t1 = t + 1;
  }
  // A KV head's query heads in parts when there would be too few tasks for the threads (one
  // decoded token over few KV heads) or too many queries for one call.
  const auto want = static_cast<size_t>(2 * ThreadPool::global().size());
  int64_t parts = (group + kAttnGroupMax - 1) / kAttnGroupMax;
  while (parts < group && blocks.size() * static_cast<size_t>(n_kv * parts) < want) ++parts;
  const int64_t per_part = (group + parts - 1) / parts;
  const size_t n_tasks = blocks.size() * static_cast<size_t>(n_kv * parts);

  // Claimed in chunks: in a prompt, later tokens attend over more positions, so equal static
  // halves would leave the first thread idle for most of the loop.
  ThreadPool::global().parallel_for_dynamic(n_tasks, [&](size_t begin, size_t end, int) {
    const float* qp[kAttnGroupMax];
    float* op[kAttnGroupMax];
    int64_t np[kAttnGroupMax];
    float sk[kAttnGroupMax];
    for (size_t task = begin; task < end; ++task) {
      const Block& bl = blocks[task / static_cast<size_t>(n_kv * parts)];
      const auto r = static_cast<int64_t>(task % static_cast<size_t>(n_kv * parts));
      const int64_t kvh = r / parts, part = r % parts;
      const int64_t h0 = kvh * group + part * per_part;
      const int64_t h1 = std::min(kvh * group + group, h0 + per_part);
      int n = 0;  // at most kAttnGroupMax: per_part <= kAttnGroupMax / tokens of a block
      for (size_t t = bl.t0; t < bl.t1; ++t)
        for (int64_t head = h0; head < h1; ++head, ++n) {
          qp[n] = &q_[t * static_cast<size_t>(QD) + static_cast<size_t>(head * hd)];
          op[n] = &attn_[t * static_cast<size_t>(QD) + static_cast<size_t>(head * hd)];
          np[n] = batch.pos[t] + 1 - bl.from;
          sk[n] = sinks != nullptr ? sinks[head] : kNoSink;
        }
      const AttnQueries qs{qp, op, np, sinks != nullptr ? sk : nullptr, n};
      const size_t off =
          kv_offset(kvl, batch.seq[bl.t0], kv_slot(kvl, batch.seq[bl.t0], bl.from)) + static_cast<size_t>(kvh * hd);
      switch (type) {
        case KvType::kQ8_0:
          attention_group_q8_0(qs, &k_q_[kv_qbytes(off)], &v_q_[kv_qbytes(off)], kv_qbytes(stride), hd, scale, cap);
          break;
        case KvType::kQ4_0:
          attention_group_q4_0(qs, &k_q_[kv_qbytes(off)], &v_q_[kv_qbytes(off)], kv_qbytes(stride), hd, scale, cap);
          break;
        case KvType::kF16: attention_group_f16(qs, &k_f16_[off], &v_f16_[off], stride, hd, scale, cap); break;
        case KvType::kF32: attention_group_f32(qs, &k_f32_[off], &v_f32_[off], stride, hd, scale, cap); break;
      }
    }
  });
}

}  // namespace corral
