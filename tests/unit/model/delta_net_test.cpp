// Gated DeltaNet (delta_net.h) and the recurrent state beside the KV cache (context.h).
// - the recurrence and the short convolution against independent float64 code;
// - one qwen35 DeltaNet layer in a model built in memory (F32; the feed-forward's down
//   projection is zero, so the logits are the output projection of the norm of the residual
//   plus the layer) against a float64 computation of that layer from the same weights;
// - a hybrid model (DeltaNet, then attention): batched, one token at a time and behind another
//   sequence's tokens give the same bits; a sequence continues only where its state is, or
//   restarts at 0; the state's memory does not grow with the context.
// - the chunked form of the recurrence against the token form and float64, and the same bits
//   however a sequence is split into calls or batches (across chunk ends).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf_writer.h"
#include "model/context.h"
#include "model/delta_net.h"
#include "model/model.h"

namespace corral {
namespace {

double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double silu(double x) { return x * sigm(x); }

TEST(DeltaRule, MatchesAFloat64Recurrence) {
  const int64_t dk = 32, dv = 24, T = 80;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f), unit(0.0f, 1.0f);
  std::vector<float> state(static_cast<size_t>(dk * dv), 0.0f), out(static_cast<size_t>(dv));
  std::vector<double> S(static_cast<size_t>(dk * dv), 0.0);
  double worst = 0, largest = 0;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> q(static_cast<size_t>(dk)), k(static_cast<size_t>(dk)), v(static_cast<size_t>(dv));
    for (auto* vec : {&q, &k}) {
      double n = 0;
      for (float& x : *vec) {
        x = u(rng);
        n += x * x;
      }
      for (float& x : *vec) x = static_cast<float>(x / std::sqrt(n));
    }
    for (float& x : v) x = 2.0f * u(rng);
    const float decay = 0.3f + 0.7f * unit(rng), beta = unit(rng);
    delta_rule_step(state.data(), q.data(), k.data(), v.data(), decay, beta, dk, dv, out.data());
    // float64: S = decay S; u = beta (v - S^T k); S += k u^T; o = S^T q / sqrt(dk)
    for (double& s : S) s *= decay;
    for (int64_t j = 0; j < dv; ++j) {
      double sk = 0;
      for (int64_t i = 0; i < dk; ++i) sk += S[static_cast<size_t>(i * dv + j)] * k[static_cast<size_t>(i)];
      const double upd = beta * (v[static_cast<size_t>(j)] - sk);
      for (int64_t i = 0; i < dk; ++i) S[static_cast<size_t>(i * dv + j)] += k[static_cast<size_t>(i)] * upd;
    }
    for (int64_t j = 0; j < dv; ++j) {
      double o = 0;
      for (int64_t i = 0; i < dk; ++i) o += S[static_cast<size_t>(i * dv + j)] * q[static_cast<size_t>(i)];
      o /= std::sqrt(static_cast<double>(dk));
      worst = std::max(worst, std::fabs(o - out[static_cast<size_t>(j)]));
      largest = std::max(largest, std::fabs(o));
    }
  }
  for (size_t i = 0; i < S.size(); ++i) worst = std::max(worst, std::fabs(S[i] - state[i]));
  EXPECT_GT(largest, 0.05);
  EXPECT_LE(worst, 2e-5);
}

// Random inputs for the chunked form: unit-norm q/k, v in [-2, 2], log decay of a decay in
// [0.3, 1], beta in [0, 1]; token t's q/k/v at t * 3 * dk (dk == dv here).
struct ChunkInputs {
  std::vector<float> qkv, g, beta;
};
ChunkInputs chunk_inputs(int64_t dk, int64_t T, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f), unit(0.0f, 1.0f);
  ChunkInputs in;
  for (int64_t t = 0; t < T; ++t) {
    for (int part = 0; part < 3; ++part) {
      std::vector<float> x(static_cast<size_t>(dk));
      double n = 0;
      for (float& e : x) {
        e = u(rng);
        n += e * e;
      }
      for (float& e : x) e = part < 2 ? static_cast<float>(e / std::sqrt(n)) : 2.0f * e;
      in.qkv.insert(in.qkv.end(), x.begin(), x.end());
    }
    in.g.push_back(std::log(0.3f + 0.7f * unit(rng)));
    in.beta.push_back(unit(rng));
  }
  return in;
}

// The chunked form over `T` tokens split into calls of the given sizes (cycled).
std::vector<float> run_chunked(const ChunkInputs& in, int64_t dk, int64_t chunk, int64_t T,
                               const std::vector<int64_t>& splits, std::vector<float>& head) {
  head.assign(static_cast<size_t>(delta_chunk_head_floats(dk, dk, chunk)), 0.0f);
  std::vector<float> out(static_cast<size_t>(T * dk), -1.0f);
  std::vector<int64_t> rows(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) rows[static_cast<size_t>(t)] = t;
  size_t s = 0;
  for (int64_t t = 0; t < T;) {
    const int64_t n = std::min(splits[s++ % splits.size()], T - t);
    delta_chunk_run(head.data(), chunk, t % chunk, &rows[static_cast<size_t>(t)], n, in.qkv.data(), in.qkv.data() + dk,
                    in.qkv.data() + 2 * dk, 3 * dk, in.g.data(), in.beta.data(), 1, dk, dk, out.data(), dk);
    t += n;
  }
  return out;
}

// The chunked form against the token form and a float64 recurrence, over several chunks
// (T a multiple of the chunk, so the final S0 is the whole state). The two float32 forms
// round differently (the chunked form sums the within-chunk terms one by one, with decays
// e^{G_i - G_j} rather than products of per-token decays), each within a few float32 ulps of
// values of order 1 per step: both stay within 4e-6 of float64 here (measured: 1.3e-7 with
// chunks of 16, 6.6e-7 with chunks of 64, on outputs up to 0.18).
TEST(DeltaChunk, MatchesTheTokenFormAndAFloat64Recurrence) {
  const int64_t dk = 32, T = 192;
  const ChunkInputs in = chunk_inputs(dk, T, 11);
  for (const int64_t chunk : {int64_t{16}, int64_t{64}}) {
    std::vector<float> head;
    const std::vector<float> got = run_chunked(in, dk, chunk, T, {T}, head);
    std::vector<float> state(static_cast<size_t>(dk * dk), 0.0f), tok(static_cast<size_t>(T * dk));
    std::vector<double> S(static_cast<size_t>(dk * dk), 0.0);
    double worst_f64 = 0, worst_tok = 0, largest = 0;
    for (int64_t t = 0; t < T; ++t) {
      const float* q = &in.qkv[static_cast<size_t>(t * 3 * dk)];
      const float* k = q + dk;
      const float* v = k + dk;
      const float decay = std::exp(in.g[static_cast<size_t>(t)]), beta = in.beta[static_cast<size_t>(t)];
      delta_rule_step(state.data(), q, k, v, decay, beta, dk, dk, &tok[static_cast<size_t>(t * dk)]);
      for (double& e : S) e *= decay;
      for (int64_t j = 0; j < dk; ++j) {
        double sk = 0;
        for (int64_t i = 0; i < dk; ++i) sk += S[static_cast<size_t>(i * dk + j)] * k[i];
        for (int64_t i = 0; i < dk; ++i) S[static_cast<size_t>(i * dk + j)] += k[i] * beta * (v[j] - sk);
      }
      for (int64_t j = 0; j < dk; ++j) {
        double o = 0;
        for (int64_t i = 0; i < dk; ++i) o += S[static_cast<size_t>(i * dk + j)] * q[i];
        o /= std::sqrt(static_cast<double>(dk));
        const auto at = static_cast<size_t>(t * dk + j);
        worst_f64 = std::max(worst_f64, std::fabs(o - got[at]));
        worst_tok = std::max(worst_tok, static_cast<double>(std::fabs(tok[at] - got[at])));
        largest = std::max(largest, std::fabs(o));
      }
    }
    for (size_t i = 0; i < S.size(); ++i) {
      worst_f64 = std::max(worst_f64, std::fabs(S[i] - head[i]));
      worst_tok = std::max(worst_tok, static_cast<double>(std::fabs(state[i] - head[i])));
    }
    EXPECT_GT(largest, 0.05);
    std::printf("chunk %lld: worst vs float64 %.3g, vs token form %.3g (largest %.3g)\n", static_cast<long long>(chunk), worst_f64, worst_tok, largest);
    EXPECT_LE(worst_f64, 4e-6) << "chunk " << chunk;
    EXPECT_LE(worst_tok, 4e-6) << "chunk " << chunk;
    EXPECT_GT(worst_tok, 0.0) << "the two forms round alike: is the chunked form running?";
  }
}

// However a sequence's tokens are split into calls (one token at a time, a whole prompt, odd
// sizes straddling chunk ends), the outputs and the state are the same bits.
TEST(DeltaChunk, AnySplitGivesTheSameBits) {
  const int64_t dk = 24, chunk = 16, T = 150;
  const ChunkInputs in = chunk_inputs(dk, T, 12);
  std::vector<float> head_whole;
  const std::vector<float> whole = run_chunked(in, dk, chunk, T, {T}, head_whole);
  for (const auto& splits : std::vector<std::vector<int64_t>>{{1}, {7}, {16}, {5, 30, 1, 64}, {17, 3}}) {
    std::vector<float> head;
    EXPECT_EQ(run_chunked(in, dk, chunk, T, splits, head), whole) << "split " << splits[0];
    EXPECT_EQ(head, head_whole) << "split " << splits[0];
  }
}

TEST(CausalConv, IsTheConvolutionOverThePreviousInputs) {
  const int64_t channels = 5, taps = 4, T = 9;
  std::vector<float> w(static_cast<size_t>(channels * taps)), window(static_cast<size_t>(channels * (taps - 1)), 0.0f);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  std::vector<std::vector<float>> xs;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> x(static_cast<size_t>(channels)), y(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) x[static_cast<size_t>(c)] = static_cast<float>(std::sin(1.0 + static_cast<double>(t) * 0.7 + static_cast<double>(c)));
    xs.push_back(x);
    causal_conv_step(window.data(), w.data(), x.data(), channels, taps, y.data());
    for (int64_t c = 0; c < channels; ++c) {
      double want = 0;  // tap j reads input t - (taps - 1) + j; inputs before 0 are zero
      for (int64_t j = 0; j < taps; ++j) {
        const int64_t src = t - (taps - 1) + j;
        if (src >= 0) want += w[static_cast<size_t>(c * taps + j)] * xs[static_cast<size_t>(src)][static_cast<size_t>(c)];
      }
      EXPECT_NEAR(y[static_cast<size_t>(c)], want, 1e-6) << "token " << t << " channel " << c;
    }
  }
}

constexpr int64_t kEmbd = 64, kVocab = 40, kDk = 16, kGroups = 2, kHeads = 4, kConv = 4, kHeadDim = 16;
constexpr int64_t kKeyDim = kGroups * kDk, kValueDim = kHeads * kDk, kConvDim = 2 * kKeyDim + kValueDim;

struct Weights {
  std::vector<float> embd, out_norm, output, attn_norm, qkv, z, beta, alpha, conv, dt, a, norm, out;
};

// A qwen35 model of `n_layer` layers, full attention every `interval` (1 DeltaNet layer with
// interval 2 and n_layer 1). Every layer's feed-forward is there but writes nothing (its down
// projection is zero) when `zero_ffn`. The first DeltaNet layer's weights go to `w`.
// With `mtp`, the file also has a multi-token-prediction layer after them (block_count one more,
// nextn_predict_layers 1), whose tensors the model must not need.
std::shared_ptr<const Model> make_model(int64_t n_layer, int64_t interval, bool zero_ffn, Weights& w, std::string& image,
                                        bool mtp = false) {
  const std::string p = "qwen35.";
  GgufWriter g;
  g.set_string("general.architecture", "qwen35");
  g.set_u32(p + "embedding_length", kEmbd);
  g.set_u32(p + "block_count", static_cast<uint32_t>(n_layer + (mtp ? 1 : 0)));
  if (mtp) g.set_u32(p + "nextn_predict_layers", 1);
  g.set_u32(p + "feed_forward_length", 32);
  g.set_u32(p + "attention.head_count", 2);
  g.set_u32(p + "attention.head_count_kv", 1);
  g.set_u32(p + "attention.key_length", kHeadDim);
  g.set_u32(p + "attention.value_length", kHeadDim);
  g.set_u32(p + "rope.dimension_count", 8);
  g.set_i32_array(p + "rope.dimension_sections", {2, 1, 1, 0});
  g.set_f32(p + "attention.layer_norm_rms_epsilon", 1e-6f);
  g.set_u32(p + "ssm.conv_kernel", kConv);
  g.set_u32(p + "ssm.state_size", kDk);
  g.set_u32(p + "ssm.group_count", kGroups);
  g.set_u32(p + "ssm.time_step_rank", kHeads);
  g.set_u32(p + "ssm.inner_size", kValueDim);
  g.set_u32(p + "full_attention_interval", static_cast<uint32_t>(interval));
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  auto values = [&](int64_t n, float center) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = center + nd(rng);
    return v;
  };
  auto add = [&](const std::string& name, std::vector<int64_t> ne, const std::vector<float>& v) {
    std::vector<uint8_t> bytes(v.size() * 4);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    ASSERT_TRUE(g.add_tensor(name, GgmlType::kF32, ne, bytes).ok());
  };
  w.embd = values(kEmbd * kVocab, 0.0f);
  add("token_embd.weight", {kEmbd, kVocab}, w.embd);
  w.out_norm = values(kEmbd, 1.0f);
  add("output_norm.weight", {kEmbd}, w.out_norm);
  w.output = values(kEmbd * kVocab, 0.0f);
  add("output.weight", {kEmbd, kVocab}, w.output);
  bool first = true;
  for (int64_t il = 0; il < n_layer; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    const std::vector<float> attn_norm = values(kEmbd, 1.0f);
    add(b + "attn_norm.weight", {kEmbd}, attn_norm);
    add(b + "post_attention_norm.weight", {kEmbd}, values(kEmbd, 1.0f));
    if ((il + 1) % interval != 0) {
      Weights d;
      d.attn_norm = attn_norm;
      d.qkv = values(kEmbd * kConvDim, 0.0f), d.z = values(kEmbd * kValueDim, 0.0f);
      d.beta = values(kEmbd * kHeads, 0.0f), d.alpha = values(kEmbd * kHeads, 0.0f);
      d.conv = values(kConv * kConvDim, 0.0f), d.dt = values(kHeads, 0.5f), d.a = values(kHeads, -0.6f);
      d.norm = values(kDk, 1.0f), d.out = values(kValueDim * kEmbd, 0.0f);
      add(b + "attn_qkv.weight", {kEmbd, kConvDim}, d.qkv);
      add(b + "attn_gate.weight", {kEmbd, kValueDim}, d.z);
      add(b + "ssm_beta.weight", {kEmbd, kHeads}, d.beta);
      add(b + "ssm_alpha.weight", {kEmbd, kHeads}, d.alpha);
      add(b + "ssm_conv1d.weight", {kConv, kConvDim}, d.conv);
      add(b + "ssm_dt.bias", {kHeads}, d.dt);
      add(b + "ssm_a", {kHeads}, d.a);
      add(b + "ssm_norm.weight", {kDk}, d.norm);
      add(b + "ssm_out.weight", {kValueDim, kEmbd}, d.out);
      if (first) w = {w.embd, w.out_norm, w.output, d.attn_norm, d.qkv, d.z, d.beta, d.alpha, d.conv, d.dt, d.a, d.norm, d.out};
      first = false;
    } else {
      add(b + "attn_q.weight", {kEmbd, 2 * 2 * kHeadDim}, values(kEmbd * 4 * kHeadDim, 0.0f));
      add(b + "attn_k.weight", {kEmbd, kHeadDim}, values(kEmbd * kHeadDim, 0.0f));
      add(b + "attn_v.weight", {kEmbd, kHeadDim}, values(kEmbd * kHeadDim, 0.0f));
      add(b + "attn_q_norm.weight", {kHeadDim}, values(kHeadDim, 1.0f));
      add(b + "attn_k_norm.weight", {kHeadDim}, values(kHeadDim, 1.0f));
      add(b + "attn_output.weight", {2 * kHeadDim, kEmbd}, values(2 * kHeadDim * kEmbd, 0.0f));
    }
    add(b + "ffn_gate.weight", {kEmbd, 32}, values(kEmbd * 32, 0.0f));
    add(b + "ffn_up.weight", {kEmbd, 32}, values(kEmbd * 32, 0.0f));
    std::vector<float> down = values(32 * kEmbd, 0.0f);
    if (zero_ffn) down.assign(down.size(), 0.0f);
    add(b + "ffn_down.weight", {32, kEmbd}, down);
  }
  if (mtp) {  // a few of the MTP layer's tensors, in the converter's names
    const std::string b = "blk." + std::to_string(n_layer) + ".";
    add(b + "nextn.enorm.weight", {kEmbd}, values(kEmbd, 1.0f));
    add(b + "nextn.hnorm.weight", {kEmbd}, values(kEmbd, 1.0f));
    add(b + "nextn.eh_proj.weight", {2 * kEmbd, kEmbd}, values(2 * kEmbd * kEmbd, 0.0f));
    add(b + "attn_norm.weight", {kEmbd}, values(kEmbd, 1.0f));
  }
  image = g.serialize();
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "delta-net-test");
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  if (!f.ok()) return nullptr;
  auto m = Model::from_gguf(*f);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return m.ok() ? *m : nullptr;
}

std::vector<double> matvec(const std::vector<float>& m, const std::vector<double>& x, int64_t rows) {
  const auto cols = static_cast<int64_t>(x.size());
  std::vector<double> y(static_cast<size_t>(rows), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < cols; ++i) y[static_cast<size_t>(r)] += m[static_cast<size_t>(r * cols + i)] * x[static_cast<size_t>(i)];
  return y;
}

void rms(double* x, int64_t n, const std::vector<float>& w) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const double s = 1.0 / std::sqrt(ss / static_cast<double>(n) + 1e-6);
  for (int64_t i = 0; i < n; ++i) x[i] *= s * w[static_cast<size_t>(i)];
}

// The one-layer model's logits in float64, token by token.
std::vector<std::vector<double>> float64_logits(const Weights& w, const std::vector<int32_t>& tokens) {
  std::vector<std::vector<double>> hist;  // pre-convolution q/k/v of the tokens so far
  std::vector<double> S(static_cast<size_t>(kHeads * kDk * kDk), 0.0);
  std::vector<std::vector<double>> out;
  for (int32_t tok : tokens) {
    std::vector<double> x(w.embd.begin() + tok * kEmbd, w.embd.begin() + (tok + 1) * kEmbd);
    std::vector<double> xn = x;
    rms(xn.data(), kEmbd, w.attn_norm);
    hist.push_back(matvec(w.qkv, xn, kConvDim));
    const std::vector<double> z = matvec(w.z, xn, kValueDim), b = matvec(w.beta, xn, kHeads), al = matvec(w.alpha, xn, kHeads);
    std::vector<double> c(static_cast<size_t>(kConvDim));
    for (int64_t ch = 0; ch < kConvDim; ++ch) {
      double s = 0;
      for (int64_t j = 0; j < kConv; ++j) {
        const auto src = static_cast<int64_t>(hist.size()) - kConv + j;
        if (src >= 0) s += w.conv[static_cast<size_t>(ch * kConv + j)] * hist[static_cast<size_t>(src)][static_cast<size_t>(ch)];
      }
      c[static_cast<size_t>(ch)] = silu(s);
    }
    for (int64_t hh = 0; hh < 2 * kGroups; ++hh) {
      double n = 0;
      for (int64_t i = 0; i < kDk; ++i) n += c[static_cast<size_t>(hh * kDk + i)] * c[static_cast<size_t>(hh * kDk + i)];
      for (int64_t i = 0; i < kDk; ++i) c[static_cast<size_t>(hh * kDk + i)] /= std::max(std::sqrt(n), 1e-6);
    }
    std::vector<double> o(static_cast<size_t>(kValueDim));
    for (int64_t h = 0; h < kHeads; ++h) {
      const double* q = &c[static_cast<size_t>((h % kGroups) * kDk)];
      const double* k = &c[static_cast<size_t>(kKeyDim + (h % kGroups) * kDk)];
      const double* v = &c[static_cast<size_t>(2 * kKeyDim + h * kDk)];
      const double decay = std::exp(std::log1p(std::exp(al[static_cast<size_t>(h)] + w.dt[static_cast<size_t>(h)])) * w.a[static_cast<size_t>(h)]);
      const double beta = sigm(b[static_cast<size_t>(h)]);
      double* Sh = &S[static_cast<size_t>(h * kDk * kDk)];
      for (int64_t i = 0; i < kDk * kDk; ++i) Sh[i] *= decay;
      for (int64_t j = 0; j < kDk; ++j) {
        double sk = 0;
        for (int64_t i = 0; i < kDk; ++i) sk += Sh[i * kDk + j] * k[i];
        for (int64_t i = 0; i < kDk; ++i) Sh[i * kDk + j] += k[i] * beta * (v[j] - sk);
      }
      for (int64_t j = 0; j < kDk; ++j) {
        double s = 0;
        for (int64_t i = 0; i < kDk; ++i) s += Sh[i * kDk + j] * q[i];
        o[static_cast<size_t>(h * kDk + j)] = s / std::sqrt(static_cast<double>(kDk));
      }
      rms(&o[static_cast<size_t>(h * kDk)], kDk, w.norm);
      for (int64_t j = 0; j < kDk; ++j) o[static_cast<size_t>(h * kDk + j)] *= silu(z[static_cast<size_t>(h * kDk + j)]);
    }
    const std::vector<double> y = matvec(w.out, o, kEmbd);
    for (int64_t i = 0; i < kEmbd; ++i) x[static_cast<size_t>(i)] += y[static_cast<size_t>(i)];
    rms(x.data(), kEmbd, w.out_norm);
    out.push_back(matvec(w.output, x, kVocab));
  }
  return out;
}

// The logits of every token of `tokens` (one sequence), sent in batches of `batch` tokens.
std::vector<float> run_batches(const std::shared_ptr<const Model>& m, const std::vector<int32_t>& tokens, size_t batch) {
  ContextParams p;
  p.n_ctx = 256;
  p.kv_type = KvType::kF32;
  auto c = Context::create(m, p);
  EXPECT_TRUE(c.ok());
  std::vector<float> out;
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) {
    b.add(tokens[i], static_cast<int32_t>(i), 0, true);
    if (b.size() < batch && i + 1 < tokens.size()) continue;
    auto r = (*c)->forward(b);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (r.ok()) out.insert(out.end(), r->begin(), r->end());
    b.clear();
  }
  return out;
}

std::vector<float> run(const std::shared_ptr<const Model>& m, const std::vector<int32_t>& tokens, bool whole) {
  ContextParams p;
  p.n_ctx = 64;
  p.kv_type = KvType::kF32;
  auto c = Context::create(m, p);
  EXPECT_TRUE(c.ok());
  std::vector<float> out;
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) {
    b.add(tokens[i], static_cast<int32_t>(i), 0, true);
    if (whole && i + 1 < tokens.size()) continue;
    auto r = (*c)->forward(b);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (r.ok()) out.insert(out.end(), r->begin(), r->end());
    b.clear();
  }
  return out;
}

const std::vector<int32_t> kTokens = {1, 7, 30, 2, 39, 12, 12, 3, 19, 38, 8, 22, 5, 5, 17, 0, 33, 21};

TEST(DeltaNetLayer, MatchesFloat64) {
  Weights w;
  std::string image;
  const auto m = make_model(1, 2, true, w, image);
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->hp.layers[0].recurrent);
  const auto want = float64_logits(w, kTokens);
  for (const bool whole : {true, false}) {
    const std::vector<float> got = run(m, kTokens, whole);
    ASSERT_EQ(got.size(), kTokens.size() * static_cast<size_t>(kVocab));
    double worst = 0;
    for (size_t t = 0; t < kTokens.size(); ++t)
      for (int64_t i = 0; i < kVocab; ++i)
        worst = std::max(worst, std::fabs(want[t][static_cast<size_t>(i)] - got[t * static_cast<size_t>(kVocab) + static_cast<size_t>(i)]));
    EXPECT_LE(worst, 2e-4) << (whole ? "batched" : "one token at a time");
  }
}

// 150 tokens: two complete chunks of the DeltaNet's recurrence and part of a third.
std::vector<int32_t> long_prompt() {
  std::vector<int32_t> t;
  for (int32_t i = 0; i < 150; ++i) t.push_back((i * 17 + i / 7) % static_cast<int32_t>(kVocab));
  return t;
}

TEST(DeltaNetLayer, MatchesFloat64AcrossChunks) {
  Weights w;
  std::string image;
  const auto m = make_model(1, 2, true, w, image);
  ASSERT_NE(m, nullptr);
  const std::vector<int32_t> tokens = long_prompt();
  const auto want = float64_logits(w, tokens);
  const std::vector<float> got = run_batches(m, tokens, tokens.size());
  ASSERT_EQ(got.size(), tokens.size() * static_cast<size_t>(kVocab));
  double worst = 0;
  for (size_t t = 0; t < tokens.size(); ++t)
    for (int64_t i = 0; i < kVocab; ++i)
      worst = std::max(worst, std::fabs(want[t][static_cast<size_t>(i)] - got[t * static_cast<size_t>(kVocab) + static_cast<size_t>(i)]));
  EXPECT_LE(worst, 2e-4);
}

// The determinism guarantee: a prompt split into batches of any size (one token at a time,
// sizes that straddle the chunk ends, whole) gives the same bits.
TEST(HybridModel, APromptSplitIntoAnyBatchSizesGivesTheSameBits) {
  Weights w;
  std::string image;
  const auto m = make_model(4, 2, false, w, image);  // DeltaNet, attention, DeltaNet, attention
  ASSERT_NE(m, nullptr);
  const std::vector<int32_t> tokens = long_prompt();
  const std::vector<float> whole = run_batches(m, tokens, tokens.size());
  ASSERT_EQ(whole.size(), tokens.size() * static_cast<size_t>(kVocab));
  for (const size_t batch : {size_t{1}, size_t{7}, size_t{64}, size_t{100}})
    EXPECT_EQ(run_batches(m, tokens, batch), whole) << "batches of " << batch;
}

TEST(HybridModel, BatchedOneTokenAndMixedBatchesGiveTheSameBits) {
  Weights w;
  std::string image;
  const auto m = make_model(4, 2, false, w, image);  // DeltaNet, attention, DeltaNet, attention
  ASSERT_NE(m, nullptr);
  const std::vector<float> whole = run(m, kTokens, true), single = run(m, kTokens, false);
  ASSERT_EQ(whole, single);
  ContextParams p;
  p.n_ctx = 64;
  p.n_seq = 2;
  p.kv_type = KvType::kF32;
  auto c = Context::create(m, p);
  ASSERT_TRUE(c.ok());
  Batch b;
  for (int32_t i = 0; i < 5; ++i) b.add(static_cast<int32_t>((i * 13 + 5) % kVocab), i, 0, false);
  for (size_t i = 0; i < kTokens.size(); ++i) b.add(kTokens[i], static_cast<int32_t>(i), 1, true);
  auto r = (*c)->forward(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::vector<float>(r->begin(), r->end()), whole);
}

TEST(HybridModel, ASequenceContinuesWhereItsStateIsOrRestarts) {
  Weights w;
  std::string image;
  const auto m = make_model(4, 2, false, w, image);
  ASSERT_NE(m, nullptr);
  const std::vector<float> want = run(m, kTokens, true);
  ContextParams p;
  p.n_ctx = 64;
  p.kv_type = KvType::kF32;
  auto c = Context::create(m, p);
  ASSERT_TRUE(c.ok());
  Context& ctx = **c;
  Batch b;
  for (int32_t i = 0; i < 10; ++i) b.add(kTokens[static_cast<size_t>(i)], i, 0, false);
  ASSERT_TRUE(ctx.forward(b).ok());
  EXPECT_EQ(ctx.recurrent_position(0), 10);
  EXPECT_EQ(ctx.reusable_prefix(0, 10), 10);
  EXPECT_EQ(ctx.reusable_prefix(0, 6), 0);  // the state cannot be rewound (no checkpoint yet)
  Batch skip;
  skip.add(kTokens[11], 11, 0, true);
  EXPECT_FALSE(ctx.forward(skip).ok());
  Batch again;  // position 6 again: refused too
  again.add(kTokens[6], 6, 0, true);
  EXPECT_FALSE(ctx.forward(again).ok());
  // Continuing at 10 gives the logits of the whole prompt.
  Batch rest;
  for (size_t i = 10; i < kTokens.size(); ++i) rest.add(kTokens[i], static_cast<int32_t>(i), 0, true);
  auto r = ctx.forward(rest);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::vector<float>(r->begin(), r->end()),
            std::vector<float>(want.begin() + 10 * kVocab, want.end()));
  // A checkpoint at 10: the sequence may go on elsewhere and later resume from it.
  Batch head;
  for (int32_t i = 0; i < 10; ++i) head.add(kTokens[static_cast<size_t>(i)], i, 0, false);
  ASSERT_TRUE(ctx.forward(head).ok());
  ctx.checkpoint(0);
  Batch other;
  for (int32_t i = 10; i < 14; ++i) other.add(static_cast<int32_t>(i % 5), i, 0, false);
  ASSERT_TRUE(ctx.forward(other).ok());
  EXPECT_EQ(ctx.reusable_prefix(0, 10), 10);
  EXPECT_EQ(ctx.reusable_prefix(0, 14), 14);
  EXPECT_EQ(ctx.reusable_prefix(0, 12), 10);  // back to the checkpoint
  EXPECT_EQ(ctx.reusable_prefix(0, 8), 0);
  auto r3 = ctx.forward(rest);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(std::vector<float>(r3->begin(), r3->end()), std::vector<float>(want.begin() + 10 * kVocab, want.end()));
  // Restarting at 0 forgets the old state.
  Batch restart;
  for (size_t i = 0; i < kTokens.size(); ++i) restart.add(kTokens[i], static_cast<int32_t>(i), 0, true);
  auto r2 = ctx.forward(restart);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(std::vector<float>(r2->begin(), r2->end()), want);
}

TEST(HybridModel, MultiTokenPredictionLayersAreReadPastAndNotRun) {
  Weights w, w2;
  std::string image, image2;
  const auto plain = make_model(4, 2, false, w, image);
  const auto with_mtp = make_model(4, 2, false, w2, image2, true);
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(with_mtp, nullptr);
  EXPECT_EQ(with_mtp->hp.n_layer, 4);
  EXPECT_EQ(with_mtp->layers.size(), 4u);
  // The same weights drawn in the same order (the MTP tensors come last): the same logits.
  EXPECT_EQ(run(with_mtp, kTokens, true), run(plain, kTokens, true));
}

TEST(HybridModel, RecurrentMemoryDoesNotGrowWithTheContext) {
  Weights w;
  std::string image;
  const auto m = make_model(4, 2, false, w, image);
  ASSERT_NE(m, nullptr);
  size_t rec[2], kv[2];
  for (int i = 0; i < 2; ++i) {
    ContextParams p;
    p.n_ctx = i == 0 ? 1024 : 8192;
    p.n_seq = 2;
    auto c = Context::create(m, p);
    ASSERT_TRUE(c.ok());
    rec[i] = (*c)->recurrent_elements();
    kv[i] = (*c)->kv_elements();
  }
  // two DeltaNet layers x two sequences x ((taps - 1) x conv channels + heads x (dk x dv and
  // the chunk's keys, corrected values and log decays)), and as much again for the checkpoints
  const size_t per = static_cast<size_t>((kConv - 1) * kConvDim +
                                         kHeads * (kDk * kDk + HParams::kDeltaChunk * (2 * kDk + 1)));
  EXPECT_EQ(rec[0], 2 * 2 * 2 * per);
  EXPECT_EQ(rec[1], rec[0]);
  // K and V only for the two attention layers
  EXPECT_EQ(kv[0], static_cast<size_t>(2 * 2 * 2 * 1024 * kHeadDim));
  EXPECT_EQ(kv[1], 8 * kv[0]);
}

}  // namespace
}  // namespace corral
