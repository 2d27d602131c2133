// The float64 pass of qwen35 (f64_reference.h), written from the architecture's definition:
// Gated DeltaNet layers (causal convolution, L2-normalised q/k, the gated delta rule on a
// float64 state matrix per value head, gated RMS norm) and every full_attention_interval-th
// layer a full-attention layer with a sigmoid output gate per head, q/k norms and NEOX RoPE
// over rope.dimension_count dimensions (text positions are the same on every M-RoPE axis).
#include <algorithm>
#include <cmath>
#include <deque>

#include "f64_reference.h"
#include "tensor/quant.h"

namespace corral::f64ref {
namespace {

struct M64 {
  int64_t cols = 0, rows = 0;
  std::vector<double> w;
};

M64 load(const TensorView& t) {
  M64 m;
  m.cols = t.ne[0];
  m.rows = t.n_rows();
  m.w.resize(static_cast<size_t>(m.cols * m.rows));
  std::vector<float> f(static_cast<size_t>(m.cols));
  for (int64_t r = 0; r < m.rows; ++r) {
    dequantize_row(t.type, t.row(r), f.data(), m.cols);
    std::copy(f.begin(), f.end(), m.w.begin() + r * m.cols);
  }
  return m;
}

Vec mul(const M64& m, const Vec& x) {
  Vec y(static_cast<size_t>(m.rows), 0.0);
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t i = 0; i < m.cols; ++i) y[static_cast<size_t>(r)] += m.w[static_cast<size_t>(r * m.cols + i)] * x[static_cast<size_t>(i)];
  return y;
}

void rms(double* x, size_t n, const std::vector<double>& w, double eps) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const double s = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (size_t i = 0; i < n; ++i) x[i] *= s * w[i];
}

double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double silu(double x) { return x * sigm(x); }

struct Layer {
  bool delta = false;
  std::vector<double> attn_norm, ffn_norm, q_norm, k_norm, conv, dt, a, norm;
  M64 wq, wk, wv, wo, qkv, z, beta, alpha, out, gate, up, down;
};

}  // namespace

std::vector<Vec> forward_qwen35(const Model& m, const std::vector<int32_t>& tokens, size_t n_greedy,
                                std::vector<int32_t>* greedy) {
  const GgufFile& f = *m.file;
  const auto key = [&](const char* k) { return f.get_int(std::string("qwen35.") + k).value_or(0); };
  const int64_t n_conv = key("ssm.conv_kernel"), dk = key("ssm.state_size"), n_k = key("ssm.group_count");
  const int64_t n_v = key("ssm.time_step_rank"), dv = key("ssm.inner_size") / n_v;
  const int64_t interval = f.get_int("qwen35.full_attention_interval").value_or(4);
  const int64_t n_layer = key("block_count") - key("nextn_predict_layers");
  const int64_t E = key("embedding_length"), n_head = key("attention.head_count");
  const int64_t n_kv = key("attention.head_count_kv"), hd = key("attention.key_length"), n_rot = key("rope.dimension_count");
  const double base = f.get_float("qwen35.rope.freq_base").value_or(10000.0);
  const double eps = f.get_float("qwen35.attention.layer_norm_rms_epsilon").value_or(1e-6);
  const auto v = [](const TensorView& t) { return load(t).w; };

  std::vector<Layer> layers(static_cast<size_t>(n_layer));
  for (int64_t il = 0; il < n_layer; ++il) {
    const LayerWeights& W = m.layers[static_cast<size_t>(il)];
    Layer& L = layers[static_cast<size_t>(il)];
    L.delta = (il + 1) % interval != 0;
    L.attn_norm = v(W.attn_norm), L.ffn_norm = v(W.ffn_norm);
    L.gate = load(W.ffn_gate), L.up = load(W.ffn_up), L.down = load(W.ffn_down);
    if (L.delta) {
      L.qkv = load(W.delta_qkv), L.z = load(W.delta_z), L.beta = load(W.delta_beta), L.alpha = load(W.delta_alpha);
      L.out = load(W.delta_out), L.conv = v(W.delta_conv), L.dt = v(W.delta_dt), L.a = v(W.delta_a), L.norm = v(W.delta_norm);
    } else {
      L.wq = load(W.wq), L.wk = load(W.wk), L.wv = load(W.wv), L.wo = load(W.wo);
      L.q_norm = v(W.q_norm), L.k_norm = v(W.k_norm);
    }
  }
  const M64 embd = load(m.token_embd), output = load(m.output);
  const std::vector<double> out_norm = v(m.output_norm);
  const int64_t key_dim = n_k * dk, conv_dim = 2 * key_dim + n_v * dv;

  // Per layer: the convolution's past inputs per channel, the state matrices [n_v][dk][dv],
  // the KV cache.
  std::vector<std::vector<std::deque<double>>> window(layers.size(), std::vector<std::deque<double>>(
      static_cast<size_t>(conv_dim), std::deque<double>(static_cast<size_t>(n_conv - 1), 0.0)));
  std::vector<Vec> state(layers.size(), Vec(static_cast<size_t>(n_v * dk * dv), 0.0));
  std::vector<std::vector<Vec>> kc(layers.size()), vc(layers.size());
  std::vector<Vec> result;
  std::vector<int32_t> seq = tokens;
  for (size_t pos = 0; pos < seq.size(); ++pos) {
    Vec x(embd.w.begin() + seq[pos] * E, embd.w.begin() + (seq[pos] + 1) * E);
    for (size_t il = 0; il < layers.size(); ++il) {
      const Layer& L = layers[il];
      Vec xn = x;
      rms(xn.data(), static_cast<size_t>(E), L.attn_norm, eps);
      Vec y;
      if (L.delta) {
        Vec c = mul(L.qkv, xn);
        const Vec z = mul(L.z, xn), b = mul(L.beta, xn), al = mul(L.alpha, xn);
        for (int64_t ch = 0; ch < conv_dim; ++ch) {
          auto& w = window[il][static_cast<size_t>(ch)];
          w.push_back(c[static_cast<size_t>(ch)]);  // oldest first, this token last
          double s = 0;
          for (int64_t j = 0; j < n_conv; ++j) s += w[static_cast<size_t>(j)] * L.conv[static_cast<size_t>(ch * n_conv + j)];
          w.pop_front();
          c[static_cast<size_t>(ch)] = silu(s);
        }
        for (int64_t hh = 0; hh < 2 * n_k; ++hh) {
          double ss = 0;
          for (int64_t i = 0; i < dk; ++i) ss += c[static_cast<size_t>(hh * dk + i)] * c[static_cast<size_t>(hh * dk + i)];
          const double s = 1.0 / std::max(std::sqrt(ss), eps);
          for (int64_t i = 0; i < dk; ++i) c[static_cast<size_t>(hh * dk + i)] *= s;
        }
        Vec o(static_cast<size_t>(n_v * dv), 0.0);
        const double scale = 1.0 / std::sqrt(static_cast<double>(dk));
        for (int64_t h = 0; h < n_v; ++h) {
          const double* q = &c[static_cast<size_t>((h % n_k) * dk)];
          const double* k = &c[static_cast<size_t>(key_dim + (h % n_k) * dk)];
          const double* vv = &c[static_cast<size_t>(2 * key_dim + h * dv)];
          const double beta = sigm(b[static_cast<size_t>(h)]);
          const double ap = al[static_cast<size_t>(h)] + L.dt[static_cast<size_t>(h)];
          const double softplus = ap > 20 ? ap : std::log1p(std::exp(ap));
          const double decay = std::exp(std::min(softplus * L.a[static_cast<size_t>(h)], 50.0));
          double* S = &state[il][static_cast<size_t>(h * dk * dv)];
          for (int64_t i = 0; i < dk * dv; ++i) S[i] *= decay;
          for (int64_t j = 0; j < dv; ++j) {
            double sk = 0;
            for (int64_t i = 0; i < dk; ++i) sk += S[i * dv + j] * k[i];
            const double u = beta * (vv[j] - sk);
            for (int64_t i = 0; i < dk; ++i) S[i * dv + j] = std::clamp(S[i * dv + j] + k[i] * u, -1e6, 1e6);
          }
          for (int64_t j = 0; j < dv; ++j) {
            double s = 0;
            for (int64_t i = 0; i < dk; ++i) s += S[i * dv + j] * q[i];
            o[static_cast<size_t>(h * dv + j)] = scale * s;
          }
          rms(&o[static_cast<size_t>(h * dv)], static_cast<size_t>(dv), L.norm, eps);
          for (int64_t j = 0; j < dv; ++j) o[static_cast<size_t>(h * dv + j)] *= silu(z[static_cast<size_t>(h * dv + j)]);
        }
        y = mul(L.out, o);
      } else {
        const Vec qg = mul(L.wq, xn);
        Vec k = mul(L.wk, xn);
        const Vec vv = mul(L.wv, xn);
        Vec q(static_cast<size_t>(n_head * hd)), gate(static_cast<size_t>(n_head * hd));
        for (int64_t h = 0; h < n_head; ++h)
          for (int64_t i = 0; i < hd; ++i) {
            q[static_cast<size_t>(h * hd + i)] = qg[static_cast<size_t>(2 * h * hd + i)];
            gate[static_cast<size_t>(h * hd + i)] = qg[static_cast<size_t>((2 * h + 1) * hd + i)];
          }
        auto rope = [&](double* r) {
          for (int64_t i = 0; i < n_rot / 2; ++i) {
            const double th = static_cast<double>(pos) * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
            const double a0 = r[i], a1 = r[i + n_rot / 2];
            r[i] = a0 * std::cos(th) - a1 * std::sin(th);
            r[i + n_rot / 2] = a0 * std::sin(th) + a1 * std::cos(th);
          }
        };
        for (int64_t h = 0; h < n_head; ++h) rms(&q[static_cast<size_t>(h * hd)], static_cast<size_t>(hd), L.q_norm, eps), rope(&q[static_cast<size_t>(h * hd)]);
        for (int64_t h = 0; h < n_kv; ++h) rms(&k[static_cast<size_t>(h * hd)], static_cast<size_t>(hd), L.k_norm, eps), rope(&k[static_cast<size_t>(h * hd)]);
        kc[il].push_back(k);
        vc[il].push_back(vv);
        Vec att(q.size(), 0.0);
        for (int64_t h = 0; h < n_head; ++h) {
          const size_t ko = static_cast<size_t>(h / (n_head / n_kv) * hd), qo = static_cast<size_t>(h * hd);
          Vec s(pos + 1);
          double mx = -INFINITY;
          for (size_t p = 0; p <= pos; ++p) {
            double d = 0;
            for (size_t i = 0; i < static_cast<size_t>(hd); ++i) d += q[qo + i] * kc[il][p][ko + i];
            s[p] = d / std::sqrt(static_cast<double>(hd));
            mx = std::max(mx, s[p]);
          }
          double sum = 0;
          for (double& e : s) sum += (e = std::exp(e - mx));
          for (size_t p = 0; p <= pos; ++p)
            for (size_t i = 0; i < static_cast<size_t>(hd); ++i) att[qo + i] += s[p] / sum * vc[il][p][ko + i];
        }
        for (size_t i = 0; i < att.size(); ++i) att[i] *= sigm(gate[i]);
        y = mul(L.wo, att);
      }
      for (size_t i = 0; i < static_cast<size_t>(E); ++i) x[i] += y[i];
      Vec xf = x;
      rms(xf.data(), static_cast<size_t>(E), L.ffn_norm, eps);
      Vec g = mul(L.gate, xf);
      const Vec u = mul(L.up, xf);
      for (size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
      const Vec d = mul(L.down, g);
      for (size_t i = 0; i < static_cast<size_t>(E); ++i) x[i] += d[i];
    }
    rms(x.data(), static_cast<size_t>(E), out_norm, eps);
    Vec logits = mul(output, x);
    if (pos + 1 >= tokens.size() && pos + 1 < tokens.size() + n_greedy) {
      const auto best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      seq.push_back(best);
      if (greedy != nullptr) greedy->push_back(best);
    }
    if (pos < tokens.size()) result.push_back(std::move(logits));
  }
  return result;
}

}  // namespace corral::f64ref
