// The float64 pass of qwen35 (f64_reference.h), written from the architecture's definition:
// Gated DeltaNet layers (causal convolution, L2-normalised q/k, the gated delta rule on a
// float64 state matrix per value head, gated RMS norm) and every full_attention_interval-th
// layer a full-attention layer with a sigmoid output gate per head, q/k norms and NEOX RoPE
// over rope.dimension_count dimensions (text positions are the same on every M-RoPE axis).
// qwen35moe (Hugging Face's Qwen3.5-MoE sparse block): the feed-forward is a softmax router
// over all experts, the expert_used_count most probable with their probabilities divided by
// their sum (norm_topk_prob), each a SwiGLU expert, plus a shared SwiGLU expert whose output is
// multiplied by sigmoid(shared_expert_gate · x).
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
  M64 router, gate_exps, up_exps, down_exps, sh_gate, sh_up, sh_down, sh_inp;  // qwen35moe
};

Vec swiglu_ffn(const M64& gate, const M64& up, const M64& down, const Vec& x, int64_t row0 = 0, int64_t rows = -1) {
  if (rows < 0) rows = gate.rows;
  Vec h(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    double g = 0, u = 0;
    for (int64_t i = 0; i < gate.cols; ++i) {
      g += gate.w[static_cast<size_t>((row0 + r) * gate.cols + i)] * x[static_cast<size_t>(i)];
      u += up.w[static_cast<size_t>((row0 + r) * up.cols + i)] * x[static_cast<size_t>(i)];
    }
    h[static_cast<size_t>(r)] = g / (1.0 + std::exp(-g)) * u;
  }
  // down: the rows of this expert's [rows -> n_embd] matrix start at (row0 / rows) * n_embd.
  const int64_t E = static_cast<int64_t>(x.size()), d0 = row0 / rows * E;
  Vec y(static_cast<size_t>(E), 0.0);
  for (int64_t r = 0; r < E; ++r)
    for (int64_t i = 0; i < rows; ++i) y[static_cast<size_t>(r)] += down.w[static_cast<size_t>((d0 + r) * down.cols + i)] * h[static_cast<size_t>(i)];
  return y;
}

// The sparse block: routed experts and the gated shared expert.
Vec moe_ffn(const Layer& L, const Vec& x, int64_t n_used) {
  const Vec logits = mul(L.router, x);
  const double mx = *std::max_element(logits.begin(), logits.end());
  Vec p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum += (p[i] = std::exp(logits[i] - mx));
  for (double& e : p) e /= sum;
  std::vector<size_t> idx(p.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  double top = 0;
  for (int64_t k = 0; k < n_used; ++k) top += p[idx[static_cast<size_t>(k)]];
  const int64_t F = L.gate_exps.rows / L.router.rows;
  Vec y(x.size(), 0.0);
  for (int64_t k = 0; k < n_used; ++k) {
    const auto e = static_cast<int64_t>(idx[static_cast<size_t>(k)]);
    const Vec d = swiglu_ffn(L.gate_exps, L.up_exps, L.down_exps, x, e * F, F);
    for (size_t i = 0; i < y.size(); ++i) y[i] += p[static_cast<size_t>(e)] / top * d[i];
  }
  const double g = sigm(mul(L.sh_inp, x)[0]);
  const Vec s = swiglu_ffn(L.sh_gate, L.sh_up, L.sh_down, x);
  for (size_t i = 0; i < y.size(); ++i) y[i] += g * s[i];
  return y;
}

}  // namespace

std::vector<Vec> forward_qwen35(const Model& m, const std::vector<int32_t>& tokens, size_t n_greedy,
                                std::vector<int32_t>* greedy) {
  const GgufFile& f = *m.file;
  const std::string arch = f.get_string("general.architecture").value_or("qwen35");
  const auto key = [&](const char* k) { return f.get_int(arch + "." + k).value_or(0); };
  const int64_t n_conv = key("ssm.conv_kernel"), dk = key("ssm.state_size"), n_k = key("ssm.group_count");
  const int64_t n_v = key("ssm.time_step_rank"), dv = key("ssm.inner_size") / n_v;
  const int64_t interval = f.get_int(arch + ".full_attention_interval").value_or(4);
  const int64_t n_used = key("expert_used_count");
  const int64_t n_layer = key("block_count") - key("nextn_predict_layers");
  const int64_t E = key("embedding_length"), n_head = key("attention.head_count");
  const int64_t n_kv = key("attention.head_count_kv"), hd = key("attention.key_length"), n_rot = key("rope.dimension_count");
  const double base = f.get_float(arch + ".rope.freq_base").value_or(10000.0);
  const double eps = f.get_float(arch + ".attention.layer_norm_rms_epsilon").value_or(1e-6);
  const auto v = [](const TensorView& t) { return load(t).w; };

  std::vector<Layer> layers(static_cast<size_t>(n_layer));
  for (int64_t il = 0; il < n_layer; ++il) {
    const LayerWeights& W = m.layers[static_cast<size_t>(il)];
    Layer& L = layers[static_cast<size_t>(il)];
    L.delta = (il + 1) % interval != 0;
    L.attn_norm = v(W.attn_norm), L.ffn_norm = v(W.ffn_norm);
    if (n_used > 0) {
      L.router = load(W.ffn_gate_inp), L.gate_exps = load(W.ffn_gate_exps), L.up_exps = load(W.ffn_up_exps);
      L.down_exps = load(W.ffn_down_exps), L.sh_gate = load(W.ffn_gate_shexp), L.sh_up = load(W.ffn_up_shexp);
      L.sh_down = load(W.ffn_down_shexp), L.sh_inp = load(W.ffn_gate_inp_shexp);
    } else {
      L.gate = load(W.ffn_gate), L.up = load(W.ffn_up), L.down = load(W.ffn_down);
    }
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
      const Vec d = n_used > 0 ? moe_ffn(L, xf, n_used) : swiglu_ffn(L.gate, L.up, L.down, xf);
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
