// The float64 reference forward pass (f64_reference.h).
#include "f64_reference.h"

#include <algorithm>
#include <cmath>

#include "tensor/quant.h"

namespace corral::f64ref {
namespace {

// A dequantized matrix: rows of ne[0] doubles.
struct Matrix {
  int64_t cols = 0, rows = 0;
  std::vector<double> w;
};

Matrix dequant(const TensorView& t) {
  Matrix m;
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

Vec vec(const TensorView& t) {
  if (t.data == nullptr) return {};
  return dequant(t).w;
}

// Rows [row0, row0 + n) of m times x (all rows when n < 0).
Vec matvec(const Matrix& m, const Vec& x, int64_t row0 = 0, int64_t n = -1) {
  if (n < 0) n = m.rows;
  Vec y(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const double* row = &m.w[static_cast<size_t>((row0 + r) * m.cols)];
    double s = 0;
    for (int64_t i = 0; i < m.cols; ++i) s += row[i] * x[static_cast<size_t>(i)];
    y[static_cast<size_t>(r)] = s;
  }
  return y;
}

void rmsnorm(double* x, size_t n, const Vec& w, double eps) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (size_t i = 0; i < n; ++i) x[i] = x[i] * scale * w[i];
}

void rope(double* x, int64_t n_rot, double pos, double base, bool neox, const std::vector<float>& factors,
          double mscale) {
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    double freq = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
    if (!factors.empty()) freq /= factors[static_cast<size_t>(i)];
    const double th = pos * freq;
    const int64_t a = neox ? i : 2 * i, b = neox ? i + n_rot / 2 : 2 * i + 1;
    const double x0 = x[a], x1 = x[b];
    x[a] = (x0 * std::cos(th) - x1 * std::sin(th)) * mscale;
    x[b] = (x0 * std::sin(th) + x1 * std::cos(th)) * mscale;
  }
}

double gelu_tanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
}

struct LayerRule {
  bool rope = true;
  double rope_base = 0, rope_scale = 1;  // scale multiplies the position
  int64_t window = 0;
};

// The families' rules as their model cards and reference code define them.
struct Rules {
  bool gemma = false, neox = false;
  double embd_scale = 1, q_scale = 0, attn_cap = 0, final_cap = 0;
  double rope_mscale = 1;             // LongRoPE: multiplies the rotated pairs
  std::vector<float> factors;         // frequency divisors (Llama 3, LongRoPE)
  // Mixture of experts: softmax over the router's logits, the n_used largest, renormalised
  // (Mixtral and Qwen3-MoE both divide the picked weights by their sum); experts n_ff_exp wide.
  int64_t n_expert = 0, n_used = 0, n_ff_exp = 0;
  // gpt-oss (its model card and reference implementation): the router's top-k logits get a
  // softmax of their own; the experts' SwiGLU is clamped; each head has a sink logit.
  bool gptoss = false;
  std::vector<LayerRule> layers;
};

// YaRN's frequency divisors (the YaRN paper, section 3.2 "NTK-by-parts", with the correction
// range rounded outwards to whole dimensions as the GGUF engines do): pair i keeps its
// frequency while its wavelength fits more than beta_fast times into the original context,
// is interpolated (divided by the factor) when it fits fewer than beta_slow times, linearly
// between.
std::vector<float> yarn_divisors(int64_t n_rot, double base, double factor, double orig_ctx, double beta_fast,
                                 double beta_slow) {
  const double pi = 3.14159265358979323846, d = static_cast<double>(n_rot);
  // The pair index whose wavelength 2 pi base^(2i/d) equals orig_ctx / beta.
  auto dim_of = [&](double beta) { return d * std::log(orig_ctx / (2 * pi * beta)) / (2 * std::log(base)); };
  const double lo = std::max(0.0, std::floor(dim_of(beta_fast))), hi = std::min(d - 1, std::ceil(dim_of(beta_slow)));
  std::vector<float> out;
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    double t = (static_cast<double>(i) - lo) / (hi > lo ? hi - lo : 0.001);
    t = std::min(1.0, std::max(0.0, t));  // 0: extrapolate (keep), 1: interpolate
    const double inv_freq_scale = (1 - t) + t / factor;
    out.push_back(static_cast<float>(1.0 / inv_freq_scale));
  }
  return out;
}

Rules rules_for(const Model& m, int64_t n_ctx) {
  const GgufFile& f = *m.file;
  const HParams& h = m.hp;
  const std::string arch = f.get_string("general.architecture").value_or("");
  const std::string p = arch + ".";
  Rules r;
  r.neox = arch != "llama" && arch != "smollm3";
  r.gemma = arch == "gemma2" || arch == "gemma3";
  double scale = 1;
  if (f.get_string(p + "rope.scaling.type").value_or("") == "linear")
    scale = 1.0 / f.get_float(p + "rope.scaling.factor").value_or(1.0);
  r.layers.assign(static_cast<size_t>(h.n_layer), LayerRule{true, h.rope_freq_base, scale, 0});
  r.q_scale = 1.0 / std::sqrt(static_cast<double>(h.head_dim));
  if (r.gemma) {
    r.embd_scale = std::sqrt(static_cast<double>(h.n_embd));
    // query_pre_attn_scalar: n_embd / n_head for the 27B models (46 and 62 layers), else head size
    const bool big = h.n_layer == (arch == "gemma2" ? 46 : 62);
    r.q_scale = 1.0 / std::sqrt(static_cast<double>(big ? h.n_embd / h.n_head : h.head_dim));
  }
  const int64_t window = f.get_int(p + "attention.sliding_window").value_or(4096);
  for (int64_t il = 0; il < h.n_layer; ++il) {
    LayerRule& l = r.layers[static_cast<size_t>(il)];
    if (arch == "smollm3") l.rope = il % 4 != 3;
    if (arch == "gemma2") l.window = il % 2 == 0 ? window : 0;
    if (arch == "gemma3" && il % 6 != 5) l = LayerRule{true, 10000.0, 1.0, window};
  }
  r.factors = m.rope_freqs;
  r.n_expert = f.get_int(p + "expert_count").value_or(0);
  r.n_used = f.get_int(p + "expert_used_count").value_or(0);
  r.n_ff_exp = f.get_int(p + (arch == "qwen3moe" ? "expert_feed_forward_length" : "feed_forward_length")).value_or(0);
  if (arch == "phi3") {
    // LongRoPE: the long factors beyond the original context, and cos/sin scaled.
    const int64_t orig = f.get_int(p + "rope.scaling.original_context_length").value_or(0);
    r.factors = n_ctx > orig ? m.rope_factors_long : m.rope_factors_short;
    r.rope_mscale = f.get_float(p + "rope.scaling.attn_factor").value_or(1.0);
    for (LayerRule& l : r.layers) l.window = f.get_int(p + "attention.sliding_window").value_or(0);
  }
  if (arch == "gpt-oss") {
    // Even layers windowed, odd ones full; YaRN with beta_fast 32, beta_slow 1 and its
    // attention scaling 0.1 ln(factor) + 1 on cos and sin.
    r.gptoss = true;
    r.n_ff_exp = f.get_int(p + "expert_feed_forward_length").value_or(0);
    for (int64_t il = 0; il < h.n_layer; ++il) r.layers[static_cast<size_t>(il)].window = il % 2 == 0 ? window : 0;
    if (f.get_string(p + "rope.scaling.type").value_or("") == "yarn") {
      const double factor = f.get_float(p + "rope.scaling.factor").value_or(1.0);
      const double orig = static_cast<double>(f.get_int(p + "rope.scaling.original_context_length").value_or(0));
      r.factors = yarn_divisors(h.n_rot, h.rope_freq_base, factor, orig, 32.0, 1.0);
      r.rope_mscale = 0.1 * std::log(factor) + 1.0;
    }
  }
  if (arch == "gemma2") {
    r.attn_cap = f.get_float(p + "attn_logit_softcapping").value_or(50.0);
    r.final_cap = f.get_float(p + "final_logit_softcapping").value_or(30.0);
  }
  return r;
}

struct LayerF64 {
  Vec attn_norm, bq, bk, bv, q_norm, k_norm, post_attn, ffn_norm, post_ffn;
  Vec bo, sinks, router_b, gate_exps_b, up_exps_b, down_exps_b;  // gpt-oss
  Matrix wq, wk, wv, wo, gate, up, down;
  Matrix router, gate_exps, up_exps, down_exps;  // experts: n_expert matrices stacked by rows
};

double silu(double x) { return x / (1.0 + std::exp(-x)); }

// The mixture: each picked expert's SwiGLU output (gpt-oss: clamped, with biases), weighted.
Vec experts(const Rules& r, const LayerF64& L, const Vec& x) {
  Vec logits = matvec(L.router, x);
  for (size_t i = 0; i < L.router_b.size(); ++i) logits[i] += L.router_b[i];
  // gpt-oss's softmax over its top-k logits is the softmax over all renormalised over the k
  // picked, which is what follows for every family.
  const double mx = *std::max_element(logits.begin(), logits.end());
  Vec p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum += (p[i] = std::exp(logits[i] - mx));
  for (double& e : p) e /= sum;
  std::vector<int64_t> idx(p.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)]; });
  double wsum = 0;
  for (int64_t k = 0; k < r.n_used; ++k) wsum += p[static_cast<size_t>(idx[static_cast<size_t>(k)])];
  Vec out(x.size(), 0.0);
  const int64_t F = r.n_ff_exp, E = static_cast<int64_t>(x.size());
  for (int64_t k = 0; k < r.n_used; ++k) {
    const int64_t e = idx[static_cast<size_t>(k)];
    Vec g = matvec(L.gate_exps, x, e * F, F);
    Vec u = matvec(L.up_exps, x, e * F, F);
    if (r.gptoss) {
      for (size_t i = 0; i < g.size(); ++i) {
        const double gi = std::min(g[i] + L.gate_exps_b[static_cast<size_t>(e * F) + i], 7.0);
        const double ui = std::clamp(u[i] + L.up_exps_b[static_cast<size_t>(e * F) + i], -7.0, 7.0);
        g[i] = gi / (1.0 + std::exp(-1.702 * gi)) * (ui + 1.0);
      }
    } else {
      for (size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
    }
    Vec d = matvec(L.down_exps, g, e * E, E);
    if (r.gptoss)
      for (size_t i = 0; i < d.size(); ++i) d[i] += L.down_exps_b[static_cast<size_t>(e * E) + i];
    const double w = p[static_cast<size_t>(e)] / wsum;
    for (size_t i = 0; i < out.size(); ++i) out[i] += w * d[i];
  }
  return out;
}

}  // namespace

std::vector<Vec> forward(const Model& m, const std::vector<int32_t>& tokens, size_t n_greedy,
                         std::vector<int32_t>* greedy, int64_t n_ctx) {
  const std::string arch = m.file->get_string("general.architecture").value_or("");
  if (arch == "qwen35" || arch == "qwen35moe") return forward_qwen35(m, tokens, n_greedy, greedy);
  if (arch == "gemma4") return forward_gemma4(m, tokens, n_greedy, greedy);
  const HParams& h = m.hp;
  const Rules rules = rules_for(m, n_ctx);
  const auto hd = static_cast<size_t>(h.head_dim);
  const double eps = h.rms_eps;
  std::vector<LayerF64> layers(static_cast<size_t>(h.n_layer));
  for (size_t il = 0; il < layers.size(); ++il) {
    const LayerWeights& L = m.layers[il];
    LayerF64& d = layers[il];
    d.attn_norm = vec(L.attn_norm), d.bq = vec(L.bq), d.bk = vec(L.bk), d.bv = vec(L.bv);
    d.q_norm = vec(L.q_norm), d.k_norm = vec(L.k_norm), d.post_attn = vec(L.attn_post_norm);
    d.ffn_norm = vec(L.ffn_norm), d.post_ffn = vec(L.ffn_post_norm);
    d.wq = dequant(L.wq), d.wk = dequant(L.wk), d.wv = dequant(L.wv), d.wo = dequant(L.wo);
    d.bo = vec(L.bo), d.sinks = vec(L.attn_sinks);
    if (rules.n_expert > 0) {
      d.router = dequant(L.ffn_gate_inp), d.gate_exps = dequant(L.ffn_gate_exps);
      d.up_exps = dequant(L.ffn_up_exps), d.down_exps = dequant(L.ffn_down_exps);
      d.router_b = vec(L.ffn_gate_inp_b), d.gate_exps_b = vec(L.ffn_gate_exps_b);
      d.up_exps_b = vec(L.ffn_up_exps_b), d.down_exps_b = vec(L.ffn_down_exps_b);
    } else {
      d.gate = dequant(L.ffn_gate), d.up = dequant(L.ffn_up), d.down = dequant(L.ffn_down);
    }
  }
  const Matrix embd = dequant(m.token_embd);
  const Matrix output = dequant(m.output);
  const Vec out_norm = vec(m.output_norm);
  const auto E = static_cast<size_t>(h.n_embd);

  std::vector<std::vector<Vec>> kc(layers.size()), vc(layers.size());
  std::vector<Vec> out;
  std::vector<int32_t> seq = tokens;
  for (size_t pos = 0; pos < seq.size(); ++pos) {
    Vec x(embd.w.begin() + seq[pos] * embd.cols, embd.w.begin() + (seq[pos] + 1) * embd.cols);
    for (double& e : x) e *= rules.embd_scale;
    for (size_t il = 0; il < layers.size(); ++il) {
      const LayerF64& L = layers[il];
      const LayerRule& rule = rules.layers[il];
      Vec xn = x;
      rmsnorm(xn.data(), E, L.attn_norm, eps);
      Vec q = matvec(L.wq, xn), k = matvec(L.wk, xn), v = matvec(L.wv, xn);
      if (!L.bq.empty()) {
        for (size_t i = 0; i < q.size(); ++i) q[i] += L.bq[i];
        for (size_t i = 0; i < k.size(); ++i) k[i] += L.bk[i], v[i] += L.bv[i];
      }
      const double rpos = static_cast<double>(pos) * rule.rope_scale;
      for (size_t hh = 0; hh < static_cast<size_t>(h.n_head); ++hh) {
        if (!L.q_norm.empty()) rmsnorm(&q[hh * hd], hd, L.q_norm, eps);
        if (rule.rope) rope(&q[hh * hd], h.n_rot, rpos, rule.rope_base, rules.neox, rules.factors, rules.rope_mscale);
      }
      for (size_t hh = 0; hh < static_cast<size_t>(h.n_head_kv); ++hh) {
        if (!L.k_norm.empty()) rmsnorm(&k[hh * hd], hd, L.k_norm, eps);
        if (rule.rope) rope(&k[hh * hd], h.n_rot, rpos, rule.rope_base, rules.neox, rules.factors, rules.rope_mscale);
      }
      kc[il].push_back(k);
      vc[il].push_back(v);
      const size_t from = rule.window > 0 && pos + 1 > static_cast<size_t>(rule.window)
                              ? pos + 1 - static_cast<size_t>(rule.window) : 0;
      Vec att(q.size(), 0.0);
      const auto group = static_cast<size_t>(h.n_head / h.n_head_kv);
      for (size_t hh = 0; hh < static_cast<size_t>(h.n_head); ++hh) {
        const size_t kvo = hh / group * hd, qo = hh * hd;
        Vec s(pos + 1 - from);
        double mx = -INFINITY;
        for (size_t p = from; p <= pos; ++p) {
          double d = 0;
          for (size_t i = 0; i < hd; ++i) d += q[qo + i] * kc[il][p][kvo + i];
          d *= rules.q_scale;
          if (rules.attn_cap > 0) d = rules.attn_cap * std::tanh(d / rules.attn_cap);
          s[p - from] = d;
          mx = std::max(mx, d);
        }
        // A sink: one more logit in the normalisation, with no value.
        const double sink = L.sinks.empty() ? -INFINITY : L.sinks[hh];
        mx = std::max(mx, sink);
        double sum = L.sinks.empty() ? 0.0 : std::exp(sink - mx);
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (size_t p = from; p <= pos; ++p)
          for (size_t i = 0; i < hd; ++i) att[qo + i] += s[p - from] / sum * vc[il][p][kvo + i];
      }
      Vec o = matvec(L.wo, att);
      for (size_t i = 0; i < L.bo.size(); ++i) o[i] += L.bo[i];
      if (rules.gemma) rmsnorm(o.data(), E, L.post_attn, eps);
      for (size_t i = 0; i < E; ++i) x[i] += o[i];
      Vec xf = x;
      rmsnorm(xf.data(), E, L.ffn_norm, eps);
      Vec d;
      if (rules.n_expert > 0) {
        d = experts(rules, L, xf);
      } else {
        Vec g = matvec(L.gate, xf);
        const Vec u = matvec(L.up, xf);
        for (size_t i = 0; i < g.size(); ++i) g[i] = (rules.gemma ? gelu_tanh(g[i]) : silu(g[i])) * u[i];
        d = matvec(L.down, g);
      }
      if (rules.gemma) rmsnorm(d.data(), E, L.post_ffn, eps);
      for (size_t i = 0; i < E; ++i) x[i] += d[i];
    }
    rmsnorm(x.data(), E, out_norm, eps);
    Vec logits = matvec(output, x);
    if (rules.final_cap > 0)
      for (double& l : logits) l = rules.final_cap * std::tanh(l / rules.final_cap);
    if (pos + 1 >= tokens.size() && pos + 1 < tokens.size() + n_greedy) {
      const auto best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      seq.push_back(best);
      if (greedy != nullptr) greedy->push_back(best);
    }
    if (pos < tokens.size()) out.push_back(std::move(logits));
  }
  return out;
}

}  // namespace corral::f64ref
