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

int64_t delta_chunk_head_floats(int64_t dk, int64_t dv, int64_t chunk) { return dk * dv + chunk * (dk + dv + 1); }

namespace {

constexpr int64_t kMaxHead = 512;  // HParams: ssm.state_size <= 512, and the state is square
constexpr int64_t kBlockRows = 4;  // tokens whose S0 products share one pass over S0

// prod[r][c] = sum_l vec[r][l] * S[l][c] for n_vec vectors, each summed over l in order: the
// bits of one product do not depend on how many are computed together.
void state_products(const float* S, const float* const* vec, int64_t n_vec, int64_t dk, int64_t dv,
                    float (*prod)[kMaxHead]) {
  // Eight columns at a time, summed over l in registers; the block of S stays in cache for
  // all the vectors.
  auto columns = [&](int64_t c0, int64_t width) {
    for (int64_t r0 = 0; r0 < n_vec; r0 += 4) {  // four vectors share each load of S
      const int64_t nr = std::min<int64_t>(4, n_vec - r0);
      float acc[4][8] = {};
      for (int64_t l = 0; l < dk; ++l) {
        const float* row = S + l * dv + c0;
        for (int64_t r = 0; r < nr; ++r) {
          const float x = vec[r0 + r][l];
          for (int64_t c = 0; c < width; ++c) acc[r][c] += row[c] * x;
        }
      }
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t c = 0; c < width; ++c) prod[r0 + r][c0 + c] = acc[r][c];
    }
  };
  const int64_t dv8 = dv / 8 * 8;
  for (int64_t c0 = 0; c0 < dv8; c0 += 8) columns(c0, 8);
  if (dv8 < dv) columns(dv8, dv - dv8);
}

// A dot product in 8 lanes (element i in lane i mod 8), the lanes then summed in order: one
// fixed order of operations for every call.
float dot_lanes(const float* a, const float* b, int64_t n) {
  float lane[8] = {};
  const int64_t n8 = n / 8 * 8;
  for (int64_t i0 = 0; i0 < n8; i0 += 8)
    for (int64_t i = 0; i < 8; ++i) lane[i] += a[i0 + i] * b[i0 + i];
  for (int64_t i = n8; i < n; ++i) lane[i - n8] += a[i] * b[i];
  float s = 0.0f;
  for (const float x : lane) s += x;
  return s;
}

// S0 = e^{G_last} S0 + sum_j e^{G_last - G_j} k_j w_j^T, clamped: the chunk's end.
void close_chunk(float* S, const float* keys, const float* vals, const float* G, int64_t chunk, int64_t dk,
                 int64_t dv) {
  const float g_last = G[chunk - 1];
  const float e_last = std::exp(g_last);
  float ej[kMaxHead];  // chunk <= kMaxHead
  for (int64_t j = 0; j < chunk; ++j) ej[j] = std::exp(g_last - G[j]);
  float x[kMaxHead];
  for (int64_t l = 0; l < dk; ++l) {
    float* row = S + l * dv;
    for (int64_t j = 0; j < chunk; ++j) x[j] = keys[j * dk + l] * ej[j];
    // Eight columns at a time held across the chunk's tokens (each entry: e_last S0, then the
    // tokens' terms in order, then the clamp).
    auto columns = [&](int64_t c0, int64_t width) {
      float acc[8];
      for (int64_t c = 0; c < width; ++c) acc[c] = row[c0 + c] * e_last;
      for (int64_t j = 0; j < chunk; ++j) {
        const float* w = vals + j * dv + c0;
        for (int64_t c = 0; c < width; ++c) acc[c] += x[j] * w[c];
      }
      for (int64_t c = 0; c < width; ++c) row[c0 + c] = std::min(std::max(acc[c], -kStateClamp), kStateClamp);
    };
    const int64_t dv8 = dv / 8 * 8;
    for (int64_t c0 = 0; c0 < dv8; c0 += 8) columns(c0, 8);
    if (dv8 < dv) columns(dv8, dv - dv8);
  }
}

}  // namespace

void delta_chunk_run(float* head, int64_t chunk, int64_t first, const int64_t* rows, int64_t n, const float* q,
                     const float* k, const float* v, int64_t qkv_stride, const float* g, const float* beta,
                     int64_t gb_stride, int64_t dk, int64_t dv, float* out, int64_t out_stride) {
  float* S = head;
  float* keys = S + dk * dv;
  float* vals = keys + chunk * dk;
  float* G = vals + chunk * dv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dk));
  float prod[2 * kBlockRows][kMaxHead];
  int64_t i = first;  // the next token's index in its chunk
  for (int64_t t0 = 0; t0 < n;) {
    // A block of tokens in the same chunk: their S0 products in one pass.
    const int64_t nb = std::min({kBlockRows, n - t0, chunk - i});
    const float* vecs[2 * kBlockRows];
    for (int64_t b = 0; b < nb; ++b) {
      vecs[2 * b] = k + rows[t0 + b] * qkv_stride;
      vecs[2 * b + 1] = q + rows[t0 + b] * qkv_stride;
    }
    state_products(S, vecs, 2 * nb, dk, dv, prod);
    for (int64_t b = 0; b < nb; ++b, ++i) {
      const int64_t row = rows[t0 + b];
      const float* kt = k + row * qkv_stride;
      const float* qt = q + row * qkv_stride;
      const float* vt = v + row * qkv_stride;
      const float bt = beta[row * gb_stride];
      const float Gi = (i == 0 ? 0.0f : G[i - 1]) + g[row * gb_stride];
      const float ei = std::exp(Gi);
      float* w = vals + i * dv;
      float* o = out + row * out_stride;
      const float* ks = prod[2 * b];
      const float* qs = prod[2 * b + 1];
      // The forward substitution's row i (coefficients A_ij), and the within-chunk part of
      // the output (coefficients e^{G_i - G_j} q_i . k_j), each summed over j in order.
      float a[kMaxHead], qk[kMaxHead];
      for (int64_t j = 0; j < i; ++j) {
        const float* kj = keys + j * dk;
        const float e = std::exp(Gi - G[j]);
        a[j] = bt * dot_lanes(kt, kj, dk) * e;
        qk[j] = dot_lanes(qt, kj, dk) * e;
      }
      const float qk_self = dot_lanes(qt, kt, dk);
      auto columns = [&](int64_t c0, int64_t width) {
        float wa[8], oa[8];
        for (int64_t c = 0; c < width; ++c) {
          wa[c] = bt * (vt[c0 + c] - ei * ks[c0 + c]);
          oa[c] = ei * qs[c0 + c];
        }
        for (int64_t j = 0; j < i; ++j) {
          const float* wj = vals + j * dv + c0;
          for (int64_t c = 0; c < width; ++c) {
            wa[c] -= a[j] * wj[c];
            oa[c] += qk[j] * wj[c];
          }
        }
        for (int64_t c = 0; c < width; ++c) {
          w[c0 + c] = wa[c];
          o[c0 + c] = (oa[c] + qk_self * wa[c]) * scale;
        }
      };
      const int64_t dv8 = dv / 8 * 8;
      for (int64_t c0 = 0; c0 < dv8; c0 += 8) columns(c0, 8);
      if (dv8 < dv) columns(dv8, dv - dv8);
      std::copy_n(kt, dk, keys + i * dk);
      G[i] = Gi;
    }
    t0 += nb;
    if (i == chunk) {
      close_chunk(S, keys, vals, G, chunk, dk, dv);
      i = 0;
    }
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
  // A sequence's states restart at its position 0 (a batch restarts a sequence at most once:
  // its positions follow one another).
  for (size_t t = 0; t < nt; ++t)
    if (batch_.pos[t] == 0) {
      float* st = c.recurrent_state(il, batch_.seq[t]);
      std::fill(st, st + h.recurrent_state_floats(), 0.0f);
    }
  // The convolution, tokens in batch order within each block of channels (a channel's window
  // depends only on that channel), the blocks in parallel; then per token the gates and norms.
  // Each value is computed by the same operations however the work is split.
  constexpr int64_t kConvBlock = 64;
  const auto n_blocks = static_cast<size_t>((CD + kConvBlock - 1) / kConvBlock);
  ThreadPool::global().parallel_for(n_blocks, [&](size_t begin, size_t end, int) {
    for (size_t b = begin; b < end; ++b) {
      const int64_t c0 = static_cast<int64_t>(b) * kConvBlock, nc = std::min(kConvBlock, CD - c0);
      for (size_t t = 0; t < nt; ++t) {
        float* qkv = &c.dn_qkv_[t * static_cast<size_t>(CD)] + c0;
        causal_conv_step(c.recurrent_state(il, batch_.seq[t]) + c0 * (K - 1), conv_w + c0 * K, qkv, nc, K, qkv);
        for (int64_t i = 0; i < nc; ++i) qkv[i] = silu(qkv[i]);
      }
    }
  });
  ThreadPool::global().parallel_for(nt, [&](size_t begin, size_t end, int) {
    for (size_t t = begin; t < end; ++t) {
      float* qkv = &c.dn_qkv_[t * static_cast<size_t>(CD)];
      for (int64_t hh = 0; hh < 2 * NK; ++hh) l2_normalize(qkv + hh * dk, dk, h.rms_eps);
      float* beta = &c.dn_beta_[t * static_cast<size_t>(NV)];
      float* decay = &c.dn_decay_[t * static_cast<size_t>(NV)];
      for (int64_t hh = 0; hh < NV; ++hh) {
        beta[hh] = sigmoid(beta[hh]);
        decay[hh] = std::min(softplus(decay[hh] + dt[hh]) * a[hh], kMaxLogDecay);  // the log decay
      }
    }
  });

  // The recurrence, in chunks: one task per (value head, sequence), that sequence's tokens in
  // batch order (their positions follow one another; Context::advance_recurrent checks).
  const auto n_seq = static_cast<size_t>(c.params_.n_seq);
  const size_t conv_floats = static_cast<size_t>((K - 1) * CD);
  const int64_t chunk = HParams::kDeltaChunk;
  const auto head_floats = static_cast<size_t>(delta_chunk_head_floats(dk, dv, chunk));
  // The batch rows grouped by sequence, in batch order (a counting sort; no allocation once sized).
  if (c.dn_rows_.size() < n_seq + 1 + nt) c.dn_rows_.resize(n_seq + 1 + nt);
  int64_t* off = c.dn_rows_.data();
  int64_t* rows = off + n_seq + 1;
  std::fill(off, off + n_seq + 1, 0);
  for (size_t t = 0; t < nt; ++t) off[static_cast<size_t>(batch_.seq[t]) + 1]++;
  for (size_t s = 0; s < n_seq; ++s) off[s + 1] += off[s];
  for (size_t t = 0; t < nt; ++t) rows[off[static_cast<size_t>(batch_.seq[t])]++] = static_cast<int64_t>(t);
  for (size_t s = n_seq; s > 0; --s) off[s] = off[s - 1];  // back to each sequence's start
  off[0] = 0;
  ThreadPool::global().parallel_for(static_cast<size_t>(NV) * n_seq, [&](size_t begin, size_t end, int) {
    for (size_t task = begin; task < end; ++task) {
      const int64_t hh = static_cast<int64_t>(task % static_cast<size_t>(NV));
      const auto seq = task / static_cast<size_t>(NV);
      const int64_t* r = rows + off[seq];
      const int64_t count = off[seq + 1] - off[seq];
      if (count == 0) continue;
      float* head = c.recurrent_state(il, static_cast<int32_t>(seq)) + conv_floats + static_cast<size_t>(hh) * head_floats;
      const int64_t kh = hh % NK;  // value head h reads q/k head h mod n_group
      const float* qkv = c.dn_qkv_.data();
      delta_chunk_run(head, chunk, batch_.pos[static_cast<size_t>(r[0])] % chunk, r, count,
                      qkv + kh * dk, qkv + key_dim + kh * dk, qkv + 2 * key_dim + hh * dv, CD, c.dn_decay_.data() + hh,
                      c.dn_beta_.data() + hh, NV, dk, dv, c.dn_out_.data() + hh * dv, VD);
    }
  });

  // Output: per value head rmsnorm, times silu of the gate z; then the output projection.
  const auto* norm_w = static_cast<const float*>(L.delta_norm.data);
  ThreadPool::global().parallel_for(nt, [&](size_t begin, size_t end, int) {
    for (size_t t = begin; t < end; ++t) {
      float* o = &c.dn_out_[t * static_cast<size_t>(VD)];
      const float* z = &c.dn_z_[t * static_cast<size_t>(VD)];
      for (int64_t hh = 0; hh < NV; ++hh) rmsnorm(o + hh * dv, norm_w, o + hh * dv, dv, h.rms_eps);
      for (int64_t i = 0; i < VD; ++i) o[i] *= silu(z[i]);
    }
  });
  matmul(L.delta_out, c.dn_out_.data(), VD, n, c.xn_.data(), E);
}

}  // namespace corral
