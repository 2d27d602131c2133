// An independent float64 forward pass written here from the architecture definitions, and the
// check that corral's F32 path agrees with it on every F32 conformance file.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/context.h"
#include "model/model.h"
#include "tensor/quant.h"

namespace corral {
namespace {

using Vec = std::vector<double>;

Vec row_f64(const TensorView& t, int64_t r) {
  std::vector<float> f(static_cast<size_t>(t.ne[0]));
  dequantize_row(t.type, t.row(r), f.data(), t.ne[0]);
  return Vec(f.begin(), f.end());
}

Vec vec_f64(const TensorView& t) { return row_f64(t, 0); }

// y = W x with W rows of length x.size()
Vec matvec(const TensorView& w, const Vec& x) {
  Vec y(static_cast<size_t>(w.n_rows()));
  for (int64_t r = 0; r < w.n_rows(); ++r) {
    const Vec row = row_f64(w, r);
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) s += row[i] * x[i];
    y[static_cast<size_t>(r)] = s;
  }
  return y;
}

Vec rmsnorm(const Vec& x, const Vec& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w[i];
  return y;
}

void rope(double* x, int64_t n_rot, int64_t pos, double base, bool neox, const std::vector<float>& factors) {
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    double freq = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
    if (!factors.empty()) freq /= factors[static_cast<size_t>(i)];
    const double th = static_cast<double>(pos) * freq;
    const int64_t a = neox ? i : 2 * i, b = neox ? i + n_rot / 2 : 2 * i + 1;
    const double x0 = x[a], x1 = x[b];
    x[a] = x0 * std::cos(th) - x1 * std::sin(th);
    x[b] = x0 * std::sin(th) + x1 * std::cos(th);
  }
}

// Logits for every position of `tokens`, one token at a time with a float64 KV cache.
std::vector<Vec> forward_f64(const Model& m, const std::vector<int32_t>& tokens) {
  const HParams& h = m.hp;
  const auto hd = static_cast<size_t>(h.head_dim);
  std::vector<std::vector<Vec>> kc(static_cast<size_t>(h.n_layer)), vc(static_cast<size_t>(h.n_layer));
  std::vector<Vec> out;
  for (size_t pos = 0; pos < tokens.size(); ++pos) {
    Vec x = row_f64(m.token_embd, tokens[pos]);
    for (int64_t il = 0; il < h.n_layer; ++il) {
      const LayerWeights& L = m.layers[static_cast<size_t>(il)];
      const Vec xn = rmsnorm(x, vec_f64(L.attn_norm), h.rms_eps);
      Vec q = matvec(L.wq, xn), k = matvec(L.wk, xn), v = matvec(L.wv, xn);
      if (L.bq.data) {
        const Vec bq = vec_f64(L.bq), bk = vec_f64(L.bk), bv = vec_f64(L.bv);
        for (size_t i = 0; i < q.size(); ++i) q[i] += bq[i];
        for (size_t i = 0; i < k.size(); ++i) k[i] += bk[i], v[i] += bv[i];
      }
      for (int64_t hh = 0; hh < h.n_head; ++hh) {
        double* qh = &q[static_cast<size_t>(hh) * hd];
        if (L.q_norm.data) {
          Vec t(qh, qh + hd);
          t = rmsnorm(t, vec_f64(L.q_norm), h.rms_eps);
          std::copy(t.begin(), t.end(), qh);
        }
        rope(qh, h.n_rot, static_cast<int64_t>(pos), h.rope_freq_base, h.rope_neox, m.rope_freqs);
      }
      for (int64_t hh = 0; hh < h.n_head_kv; ++hh) {
        double* kh = &k[static_cast<size_t>(hh) * hd];
        if (L.k_norm.data) {
          Vec t(kh, kh + hd);
          t = rmsnorm(t, vec_f64(L.k_norm), h.rms_eps);
          std::copy(t.begin(), t.end(), kh);
        }
        rope(kh, h.n_rot, static_cast<int64_t>(pos), h.rope_freq_base, h.rope_neox, m.rope_freqs);
      }
      kc[static_cast<size_t>(il)].push_back(k);
      vc[static_cast<size_t>(il)].push_back(v);
      Vec att(q.size(), 0.0);
      const int64_t group = h.n_head / h.n_head_kv;
      for (int64_t hh = 0; hh < h.n_head; ++hh) {
        const size_t kvo = static_cast<size_t>(hh / group) * hd, qo = static_cast<size_t>(hh) * hd;
        Vec s(pos + 1);
        double mx = -INFINITY;
        for (size_t p = 0; p <= pos; ++p) {
          double d = 0;
          for (size_t i = 0; i < hd; ++i) d += q[qo + i] * kc[static_cast<size_t>(il)][p][kvo + i];
          s[p] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[p]);
        }
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (size_t p = 0; p <= pos; ++p)
          for (size_t i = 0; i < hd; ++i) att[qo + i] += s[p] / sum * vc[static_cast<size_t>(il)][p][kvo + i];
      }
      const Vec o = matvec(L.wo, att);
      for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
      const Vec xf = rmsnorm(x, vec_f64(L.ffn_norm), h.rms_eps);
      Vec g = matvec(L.ffn_gate, xf);
      const Vec u = matvec(L.ffn_up, xf);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const Vec d = matvec(L.ffn_down, g);
      for (size_t i = 0; i < x.size(); ++i) x[i] += d[i];
    }
    out.push_back(matvec(m.output, rmsnorm(x, vec_f64(m.output_norm), h.rms_eps)));
  }
  return out;
}

class Float64Agreement : public testing::TestWithParam<std::string> {};

TEST_P(Float64Agreement, F32PathAgreesWithFloat64) {
  auto m = Model::load(GetParam());
  ASSERT_TRUE(m.ok()) << m.error().message;
  const std::vector<int32_t> tokens = {1, 330, 60, 15, 382, 143, 128, 117, 42, 7, 300, 200};
  const auto ref = forward_f64(**m, tokens);
  ContextParams cp;
  cp.n_ctx = 32;
  cp.kv_type = KvType::kF32;
  auto ctx = Context::create(*m, cp);
  ASSERT_TRUE(ctx.ok());
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], static_cast<int32_t>(i), 0, true);
  auto out = (*ctx)->forward(b);
  ASSERT_TRUE(out.ok());
  const auto n_vocab = static_cast<size_t>((*m)->hp.n_vocab);
  double max_diff = 0, max_mag = 0;
  for (size_t p = 0; p < tokens.size(); ++p)
    for (size_t v = 0; v < n_vocab; ++v) {
      max_diff = std::max(max_diff, std::fabs(ref[p][v] - static_cast<double>((*out)[p * n_vocab + v])));
      max_mag = std::max(max_mag, std::fabs(ref[p][v]));
    }
  // float32 arithmetic over a few hundred terms: relative error well below 1e-4 of the range.
  EXPECT_LE(max_diff, 1e-4 * std::max(1.0, max_mag)) << "max |logit diff| " << max_diff;
}

std::string file_label(const testing::TestParamInfo<std::string>& param) {
  static const char* kNames[] = {"llama", "llama3", "qwen2", "qwen3", "stories260K"};
  return kNames[param.index];
}

INSTANTIATE_TEST_SUITE_P(
    F32Files, Float64Agreement,
    testing::Values(CORRAL_SHARED_DIR "/conformance/models/llama-tok512-f32.gguf",
                    CORRAL_SHARED_DIR "/conformance/models/llama3-tok512-f32.gguf",
                    CORRAL_SHARED_DIR "/conformance/models/qwen2-tok512-f32.gguf",
                    CORRAL_SHARED_DIR "/conformance/models/qwen3-tok512-f32.gguf",
                    CORRAL_SHARED_DIR "/models/stories260K.gguf"),
    file_label);

}  // namespace
}  // namespace corral
