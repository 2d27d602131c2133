// The float64 pass of gemma4 (f64_reference.h), written from the architecture's definition and
// reading its rules from the metadata itself: head counts given once or per layer (the
// feed-forward's width is its tensors'), per-layer windowed flags
// (attention.sliding_window_pattern) with the windowed layers' head size, rotated dimensions and
// RoPE base (*_swa keys), NEOX RoPE with the rope_freqs divisors on the global layers only,
// q/k norms, values RMS-normalised without a weight, attention scale 1, the last
// attention.shared_kv_layers layers attending over the cache of the last earlier layer of their
// kind, keys as values where a layer has no attn_v, Gemma's post-norms and GELU feed-forward,
// per-layer embeddings (embedding_length_per_layer_input), the layer output scalar, final
// soft-capping, and experts (the 26B-A4B) in the layers with a router: beside the dense
// feed-forward, the k experts of the largest softmax probabilities over all experts, their
// probabilities renormalised over the k and times each expert's scale, every expert a GELU-gated
// feed-forward, the two branches each RMS-normalised with its own weight, summed, and
// post-normed. The router reads the residual RMS-normalised with its own weight and scaled by
// 1/sqrt(n_embd) (Gemma 4's router scales its input by hidden_size^-0.5). The expert
// tensors are read from the file by name here (gate and up halves of ffn_gate_up_exps split
// by this pass itself), not through corral's binding.
#include <algorithm>
#include <cmath>

#include "f64_reference.h"
#include "gguf/ggml_type.h"
#include "tensor/quant.h"

namespace corral::f64ref {
namespace {

struct G64 {
  int64_t cols = 0, rows = 0;
  std::vector<double> w;
};

G64 load(const TensorView& t) {
  G64 m;
  if (t.data == nullptr) return m;
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

// A tensor of the file by name, all its rows (every expert of a 3-D tensor); empty when absent.
G64 load_named(const GgufFile& f, const std::string& name) {
  const GgufTensor* t = f.find_tensor(name);
  if (t == nullptr) return {};
  TensorView v;
  v.data = t->data;
  v.type = t->type;
  for (size_t i = 0; i < 4; ++i) v.ne[i] = i < t->ne.size() ? t->ne[i] : 1;
  v.row_bytes = ggml_row_bytes(t->type, v.ne[0]);
  return load(v);
}

// Rows [row0, row0 + n) of m times x (n = 0: all rows).
Vec mul(const G64& m, const double* x, int64_t row0 = 0, int64_t n = 0) {
  if (n == 0) n = m.rows - row0;
  Vec y(static_cast<size_t>(n), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    double s = 0;
    for (int64_t i = 0; i < m.cols; ++i) s += m.w[static_cast<size_t>((row0 + r) * m.cols + i)] * x[i];
    y[static_cast<size_t>(r)] = s;
  }
  return y;
}

// x / rms(x) * w (no weight when w is empty)
void rms(double* x, size_t n, const Vec& w, double eps) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const double s = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (size_t i = 0; i < n; ++i) x[i] *= s * (w.empty() ? 1.0 : w[i]);
}

double gelu(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
}

void rope_neox(double* x, int64_t n_rot, double pos, double base, const std::vector<float>* factors) {
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    double freq = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
    if (factors != nullptr) freq /= (*factors)[static_cast<size_t>(i)];
    const double th = pos * freq, x0 = x[i], x1 = x[i + n_rot / 2];
    x[i] = x0 * std::cos(th) - x1 * std::sin(th);
    x[i + n_rot / 2] = x0 * std::sin(th) + x1 * std::cos(th);
  }
}

struct Layer {
  bool windowed = false;
  int64_t hd = 0, n_rot = 0, kv_from = -1, n_head = 0, n_kv = 0;
  Vec attn_norm, q_norm, k_norm, post_attn, ffn_norm, post_ffn, ple_norm;
  double out_scale = 1.0;
  G64 wq, wk, wv, wo, gate, up, down, ple_gate, ple_proj;
  // Experts (router present): gate/up either merged per expert (gate rows first) or split.
  bool moe = false;
  Vec router_norm, pre_norm_2, post_norm_1, post_norm_2, expert_scale;
  G64 router, gate_up_exps, gate_exps, up_exps, down_exps;
};

}  // namespace

std::vector<Vec> forward_gemma4(const Model& m, const std::vector<int32_t>& tokens, size_t n_greedy,
                                std::vector<int32_t>* greedy) {
  const GgufFile& f = *m.file;
  const std::string p = "gemma4.";
  const auto E = static_cast<size_t>(f.get_int(p + "embedding_length").value_or(0));
  const int64_t n_layer = f.get_int(p + "block_count").value_or(0);
  // Head counts: one value, or one per layer.
  auto per_layer = [&](const std::string& key, int64_t il, int64_t fallback) -> int64_t {
    if (const GgufArray* a = f.get_array(p + key)) return a->ints[static_cast<size_t>(il)];
    return f.get_int(p + key).value_or(fallback);
  };
  const int64_t hd = f.get_int(p + "attention.key_length").value_or(0);
  const int64_t hd_swa = f.get_int(p + "attention.key_length_swa").value_or(hd);
  const int64_t rot = f.get_int(p + "rope.dimension_count").value_or(hd);
  const int64_t rot_swa = f.get_int(p + "rope.dimension_count_swa").value_or(rot);
  const double base = f.get_float(p + "rope.freq_base").value_or(10000.0);
  const double base_swa = f.get_float(p + "rope.freq_base_swa").value_or(base);
  const double eps = f.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-6);
  const int64_t window = f.get_int(p + "attention.sliding_window").value_or(0);
  const int64_t n_shared = f.get_int(p + "attention.shared_kv_layers").value_or(0);
  const double cap = f.get_float(p + "final_logit_softcapping").value_or(30.0);
  const auto P = static_cast<size_t>(f.get_int(p + "embedding_length_per_layer_input").value_or(0));
  const GgufArray* pattern = f.get_array(p + "attention.sliding_window_pattern");
  const int64_t n_own = n_layer - n_shared;

  std::vector<Layer> layers(static_cast<size_t>(n_layer));
  for (int64_t il = 0; il < n_layer; ++il) {
    Layer& L = layers[static_cast<size_t>(il)];
    const LayerWeights& W = m.layers[static_cast<size_t>(il)];
    L.windowed = pattern->ints[static_cast<size_t>(il)] != 0;
    L.n_head = per_layer("attention.head_count", il, 0);
    L.n_kv = per_layer("attention.head_count_kv", il, L.n_head);
    L.hd = L.windowed ? hd_swa : hd;
    L.n_rot = L.windowed ? rot_swa : rot;
    if (il >= n_own)
      for (int64_t src = n_own - 1; src >= 0 && L.kv_from < 0; --src)
        if ((pattern->ints[static_cast<size_t>(src)] != 0) == L.windowed) L.kv_from = src;
    L.attn_norm = load(W.attn_norm).w, L.q_norm = load(W.q_norm).w, L.k_norm = load(W.k_norm).w;
    L.post_attn = load(W.attn_post_norm).w, L.ffn_norm = load(W.ffn_norm).w, L.post_ffn = load(W.ffn_post_norm).w;
    L.wq = load(W.wq), L.wk = load(W.wk), L.wv = load(W.wv), L.wo = load(W.wo);
    L.gate = load(W.ffn_gate), L.up = load(W.ffn_up), L.down = load(W.ffn_down);
    L.ple_gate = load(W.ple_gate), L.ple_proj = load(W.ple_proj), L.ple_norm = load(W.ple_post_norm).w;
    if (W.out_scale.data != nullptr) L.out_scale = load(W.out_scale).w[0];
    const std::string b = "blk." + std::to_string(il) + ".";
    L.router = load_named(f, b + "ffn_gate_inp.weight");
    L.moe = L.router.rows > 0;
    if (L.moe) {
      L.router_norm = load_named(f, b + "ffn_gate_inp.scale").w;
      L.pre_norm_2 = load_named(f, b + "pre_ffw_norm_2.weight").w;
      L.post_norm_1 = load_named(f, b + "post_ffw_norm_1.weight").w;
      L.post_norm_2 = load_named(f, b + "post_ffw_norm_2.weight").w;
      L.expert_scale = load_named(f, b + "ffn_down_exps.scale").w;
      L.gate_up_exps = load_named(f, b + "ffn_gate_up_exps.weight");
      L.gate_exps = load_named(f, b + "ffn_gate_exps.weight");
      L.up_exps = load_named(f, b + "ffn_up_exps.weight");
      L.down_exps = load_named(f, b + "ffn_down_exps.weight");
    }
  }
  const auto n_expert = static_cast<size_t>(f.get_int(p + "expert_count").value_or(0));
  const auto n_used = static_cast<size_t>(f.get_int(p + "expert_used_count").value_or(0));
  const G64 embd = load(m.token_embd), output = load(m.output);
  const Vec out_norm = load(m.output_norm).w;
  const G64 ple_embd = load(m.per_layer_token_embd), ple_model_proj = load(m.per_layer_model_proj);
  const Vec ple_proj_norm = load(m.per_layer_proj_norm).w;

  // Per layer with a cache of its own: keys and values of every position.
  std::vector<std::vector<Vec>> kc(layers.size()), vc(layers.size());
  std::vector<Vec> out;
  std::vector<int32_t> seq = tokens;
  for (size_t pos = 0; pos < seq.size(); ++pos) {
    Vec x(embd.w.begin() + seq[pos] * embd.cols, embd.w.begin() + (seq[pos] + 1) * embd.cols);
    for (double& e : x) e *= std::sqrt(static_cast<double>(E));
    // Per-layer inputs: the normalised projection of the scaled embedding (the model scales the
    // projection by 1/sqrt(E) before its norm) plus the token's per-layer row times sqrt(P),
    // the sum times 1/sqrt(2).
    Vec ple;
    if (P > 0) {
      ple = mul(ple_model_proj, x.data());
      for (double& e : ple) e /= std::sqrt(static_cast<double>(E));
      for (int64_t il = 0; il < n_layer; ++il) {
        double* part = &ple[static_cast<size_t>(il) * P];
        rms(part, P, ple_proj_norm, eps);
        for (size_t i = 0; i < P; ++i)
          part[i] = (part[i] + ple_embd.w[static_cast<size_t>(seq[pos]) * ple_embd.cols + static_cast<size_t>(il) * P + i] *
                                   std::sqrt(static_cast<double>(P))) / std::sqrt(2.0);
      }
    }
    for (size_t il = 0; il < layers.size(); ++il) {
      const Layer& L = layers[il];
      const int64_t n_head = L.n_head, n_kv = L.n_kv;
      const auto lhd = static_cast<size_t>(L.hd);
      const double rbase = L.windowed ? base_swa : base;
      const std::vector<float>* factors = L.windowed || m.rope_freqs.empty() ? nullptr : &m.rope_freqs;
      Vec xn = x;
      rms(xn.data(), E, L.attn_norm, eps);
      Vec q = mul(L.wq, xn.data());
      for (size_t h = 0; h < static_cast<size_t>(n_head); ++h) {
        rms(&q[h * lhd], lhd, L.q_norm, eps);
        rope_neox(&q[h * lhd], L.n_rot, static_cast<double>(pos), rbase, factors);
      }
      const size_t src = L.kv_from >= 0 ? static_cast<size_t>(L.kv_from) : il;
      if (L.kv_from < 0) {
        Vec k = mul(L.wk, xn.data());
        Vec v = L.wv.rows > 0 ? mul(L.wv, xn.data()) : k;
        for (size_t h = 0; h < static_cast<size_t>(n_kv); ++h) {
          rms(&k[h * lhd], lhd, L.k_norm, eps);
          rope_neox(&k[h * lhd], L.n_rot, static_cast<double>(pos), rbase, factors);
          rms(&v[h * lhd], lhd, {}, eps);
        }
        kc[il].push_back(std::move(k));
        vc[il].push_back(std::move(v));
      }
      const size_t from = L.windowed && pos + 1 > static_cast<size_t>(window) ? pos + 1 - static_cast<size_t>(window) : 0;
      Vec att(q.size(), 0.0);
      const auto group = static_cast<size_t>(n_head / n_kv);
      for (size_t h = 0; h < static_cast<size_t>(n_head); ++h) {
        const size_t kvo = h / group * lhd, qo = h * lhd;
        Vec s(pos + 1 - from);
        double mx = -INFINITY;
        for (size_t t = from; t <= pos; ++t) {
          double d = 0;
          for (size_t i = 0; i < lhd; ++i) d += q[qo + i] * kc[src][t][kvo + i];
          s[t - from] = d;  // scale 1
          mx = std::max(mx, d);
        }
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (size_t t = from; t <= pos; ++t)
          for (size_t i = 0; i < lhd; ++i) att[qo + i] += s[t - from] / sum * vc[src][t][kvo + i];
      }
      Vec o = mul(L.wo, att.data());
      rms(o.data(), E, L.post_attn, eps);
      for (size_t i = 0; i < E; ++i) x[i] += o[i];
      Vec xf = x;
      rms(xf.data(), E, L.ffn_norm, eps);
      Vec g = mul(L.gate, xf.data());
      const Vec u = mul(L.up, xf.data());
      for (size_t i = 0; i < g.size(); ++i) g[i] = gelu(g[i]) * u[i];
      Vec d = mul(L.down, g.data());
      if (L.moe) {
        rms(d.data(), E, L.post_norm_1, eps);
        Vec xr = x;
        rms(xr.data(), E, L.router_norm, eps);
        for (double& e : xr) e /= std::sqrt(static_cast<double>(E));  // the router's fixed input scale
        const Vec logits = mul(L.router, xr.data());
        const double mx = *std::max_element(logits.begin(), logits.end());
        Vec prob(n_expert);
        double total = 0;
        for (size_t e = 0; e < n_expert; ++e) total += (prob[e] = std::exp(logits[e] - mx));
        for (double& e : prob) e /= total;
        std::vector<size_t> order(n_expert);
        for (size_t e = 0; e < n_expert; ++e) order[e] = e;
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t c) { return prob[a] > prob[c]; });
        double picked = 0;
        for (size_t r = 0; r < n_used; ++r) picked += prob[order[r]];
        Vec xe = x;
        rms(xe.data(), E, L.pre_norm_2, eps);
        Vec moe(E, 0.0);
        const auto F = static_cast<int64_t>(L.down_exps.cols);
        for (size_t r = 0; r < n_used; ++r) {
          const auto e = static_cast<int64_t>(order[r]);
          double w = prob[order[r]] / picked;
          if (!L.expert_scale.empty()) w *= L.expert_scale[order[r]];
          Vec eg = L.gate_up_exps.rows > 0 ? mul(L.gate_up_exps, xe.data(), 2 * F * e, F) : mul(L.gate_exps, xe.data(), F * e, F);
          const Vec eu = L.gate_up_exps.rows > 0 ? mul(L.gate_up_exps, xe.data(), 2 * F * e + F, F) : mul(L.up_exps, xe.data(), F * e, F);
          for (size_t i = 0; i < eg.size(); ++i) eg[i] = gelu(eg[i]) * eu[i];
          const Vec y = mul(L.down_exps, eg.data(), static_cast<int64_t>(E) * e, static_cast<int64_t>(E));
          for (size_t i = 0; i < E; ++i) moe[i] += w * y[i];
        }
        rms(moe.data(), E, L.post_norm_2, eps);
        for (size_t i = 0; i < E; ++i) d[i] += moe[i];
      }
      rms(d.data(), E, L.post_ffn, eps);
      for (size_t i = 0; i < E; ++i) x[i] += d[i];
      if (P > 0) {
        Vec pg = mul(L.ple_gate, x.data());
        for (size_t i = 0; i < P; ++i) pg[i] = gelu(pg[i]) * ple[il * P + i];
        Vec pp = mul(L.ple_proj, pg.data());
        rms(pp.data(), E, L.ple_norm, eps);
        for (size_t i = 0; i < E; ++i) x[i] += pp[i];
      }
      for (double& e : x) e *= L.out_scale;
    }
    rms(x.data(), E, out_norm, eps);
    Vec logits = mul(output, x.data());
    if (cap > 0)
      for (double& l : logits) l = cap * std::tanh(l / cap);
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
