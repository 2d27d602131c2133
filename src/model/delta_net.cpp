// The Gated DeltaNet layer (delta_net.h) over a micro-batch of the context's pass.
#include "model/delta_net.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/layer_pass.h"

namespace corral {

namespace {

constexpr float kStateClamp = 1e6f;
constexpr float kMaxLogDecay = 50.0f;

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }
float silu(float x) { return x / (1.0f + std::exp(-x)); }

void l2_normalize(float* x, int64_t n, float eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = 1.0f / std::max(std::sqrt(static_cast<float>(ss)), eps);
  for (int64_t i = 0; i < n; ++i) x[i] *= scale;
}

}  // namespace

void delta_rule_step(float* state, const float* q, const float* k, const float* v, float decay, float beta,
                     int64_t dk, int64_t dv, float* out) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(dk));
  const float kq = dot_f32(k, q, dk) * scale;
  // S^T k and S^T q of the state before this token (the decay is applied to them).
  float sk[512], sq[512];
  std::fill(sk, sk + dv, 0.0f);
  std::fill(sq, sq + dv, 0.0f);
  // Blocks of 8 columns with a fixed trip count, which the compiler vectorises; each column
  // still sums over i in order, so the blocking does not change the result.
  const int64_t dv8 = dv / 8 * 8;
  for (int64_t i = 0; i < dk; ++i) {
    const float* row = state + i * dv;
    const float ki = k[i], qi = q[i];
    for (int64_t j0 = 0; j0 < dv8; j0 += 8)
      for (int64_t j = j0; j < j0 + 8; ++j) {
        sk[j] += row[j] * ki;
        sq[j] += row[j] * qi;
      }
    for (int64_t j = dv8; j < dv; ++j) {
      sk[j] += row[j] * ki;
      sq[j] += row[j] * qi;
    }
  }
  for (int64_t j = 0; j < dv; ++j) {
    const float u = v[j] * beta - sk[j] * beta * decay;
    sk[j] = u;  // now the update u
    out[j] = sq[j] * decay * scale + u * kq;
  }
  for (int64_t i = 0; i < dk; ++i) {
    float* row = state + i * dv;
    const float ki = k[i];
    auto update = [&](int64_t j) { row[j] = std::min(std::max(decay * row[j] + sk[j] * ki, -kStateClamp), kStateClamp); };
    for (int64_t j0 = 0; j0 < dv8; j0 += 8)
      for (int64_t j = j0; j < j0 + 8; ++j) update(j);
    for (int64_t j = dv8; j < dv; ++j) update(j);
  }
}

void causal_conv_step(float* window, const float* weights, const float* x, int64_t channels, int64_t taps, float* out) {
  const int64_t w = taps - 1;
  for (int64_t c = 0; c < channels; ++c) {
    float* win = window + c * w;
    const float* tap = weights + c * taps;
    const float xc = x[c];
    float sum = 0.0f;
    for (int64_t j = 0; j < w; ++j) sum += win[j] * tap[j];
    sum += xc * tap[w];
    for (int64_t j = 0; j + 1 < w; ++j) win[j] = win[j + 1];
    if (w > 0) win[w - 1] = xc;
    out[c] = sum;
  }
}

void LayerPass::delta_net(const LayerWeights& L, int64_t il) {
  Context& c = c_;
  const HParams& h = c.model_->hp;
  const int64_t E = h.n_embd, CD = h.delta_conv_dim(), VD = h.ssm_d_inner, NV = h.ssm_dt_rank;
  const int64_t NK = h.ssm_n_group, dk = h.ssm_d_state, dv = h.delta_head_v(), K = h.ssm_d_conv;
  const int64_t key_dim = NK * dk;
  const size_t nt = batch_.size();
  const auto n = static_cast<int64_t>(nt);
  auto grow = [nt](std::vector<float>& v, int64_t dim) {
    const size_t need = nt * static_cast<size_t>(dim);
    if (v.size() < need) v.resize(need);
  };
  grow(c.dn_qkv_, CD); grow(c.dn_z_, VD); grow(c.dn_beta_, NV); grow(c.dn_decay_, NV); grow(c.dn_out_, VD);
  const MatmulOut proj[] = {{&L.delta_qkv, c.dn_qkv_.data(), CD}, {&L.delta_z, c.dn_z_.data(), VD},
                            {&L.delta_beta, c.dn_beta_.data(), NV}, {&L.delta_alpha, c.dn_decay_.data(), NV}};
  matmul_many(proj, c.xn_.data(), E, n);

  const auto* conv_w = static_cast<const float*>(L.delta_conv.data);
  const auto* dt = static_cast<const float*>(L.delta_dt.data);
  const auto* a = static_cast<const float*>(L.delta_a.data);
  // Per token in batch order: a sequence's states restart at its position 0; the convolution
  // (cheap) runs here, the recurrence below.
  for (size_t t = 0; t < nt; ++t) {
    float* st = c.recurrent_state(il, batch_.seq[t]);
    if (batch_.pos[t] == 0) std::fill(st, st + h.recurrent_state_floats(), 0.0f);
    float* qkv = &c.dn_qkv_[t * static_cast<size_t>(CD)];
    causal_conv_step(st, conv_w, qkv, CD, K, qkv);
    for (int64_t i = 0; i < CD; ++i) qkv[i] = silu(qkv[i]);
    for (int64_t hh = 0; hh < 2 * NK; ++hh) l2_normalize(qkv + hh * dk, dk, h.rms_eps);
    float* beta = &c.dn_beta_[t * static_cast<size_t>(NV)];
    float* decay = &c.dn_decay_[t * static_cast<size_t>(NV)];
    for (int64_t hh = 0; hh < NV; ++hh) {
      beta[hh] = sigmoid(beta[hh]);
      decay[hh] = std::exp(std::min(softplus(decay[hh] + dt[hh]) * a[hh], kMaxLogDecay));
    }
  }

  // The recurrence: one task per (value head, sequence), each token of that sequence in order.
  const auto n_seq = static_cast<size_t>(c.params_.n_seq);
  const size_t conv_floats = static_cast<size_t>((K - 1) * CD);
  ThreadPool::global().parallel_for(static_cast<size_t>(NV) * n_seq, [&](size_t begin, size_t end, int) {
    for (size_t task = begin; task < end; ++task) {
      const int64_t hh = static_cast<int64_t>(task % static_cast<size_t>(NV));
      const auto seq = static_cast<int32_t>(task / static_cast<size_t>(NV));
      float* state = nullptr;
      for (size_t t = 0; t < nt; ++t) {
        if (batch_.seq[t] != seq) continue;
        if (state == nullptr) state = c.recurrent_state(il, seq) + conv_floats + static_cast<size_t>(hh * dk * dv);
        const float* qkv = &c.dn_qkv_[t * static_cast<size_t>(CD)];
        const int64_t kh = hh % NK;  // value head h reads q/k head h mod n_group
        const size_t g = t * static_cast<size_t>(NV) + static_cast<size_t>(hh);
        delta_rule_step(state, qkv + kh * dk, qkv + key_dim + kh * dk, qkv + 2 * key_dim + hh * dv,
                        c.dn_decay_[g], c.dn_beta_[g], dk, dv, &c.dn_out_[t * static_cast<size_t>(VD) + static_cast<size_t>(hh * dv)]);
      }
    }
  });

  // Output: per value head rmsnorm, times silu of the gate z; then the output projection.
  const auto* norm_w = static_cast<const float*>(L.delta_norm.data);
  for (size_t t = 0; t < nt; ++t) {
    float* o = &c.dn_out_[t * static_cast<size_t>(VD)];
    const float* z = &c.dn_z_[t * static_cast<size_t>(VD)];
    for (int64_t hh = 0; hh < NV; ++hh) rmsnorm(o + hh * dv, norm_w, o + hh * dv, dv, h.rms_eps);
    for (int64_t i = 0; i < VD; ++i) o[i] *= silu(z[i]);
  }
  matmul(L.delta_out, c.dn_out_.data(), VD, n, c.xn_.data(), E);
}

}  // namespace corral
