// The row ops gpt-oss added, against formulas written here:
// - YaRN's frequency divisors and attention factor (rope_yarn_factors, rope_yarn_mscale)
//   against the paper's per-dimension blend, evaluated as the GGUF engines evaluate it (the
//   angle interpolated then mixed with the extrapolated one), at gpt-oss's own parameters;
// - the clamped SwiGLU (swiglu_clamped) on both sides of its limit;
// - attention with a sink logit (attention_sink_f32/f16) against an explicit softmax with one
//   more term, and the limits: no sink is plain attention, a dominant sink attends to nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "base/fp16.h"
#include "kernels/ops.h"

namespace corral {
namespace {

constexpr double kPi = 3.14159265358979323846;

// The angle of pair i at `pos`, as ggml's rope_yarn computes it: the interpolated angle and the
// extrapolated one mixed by a ramp that is 1 below `low` and 0 above `high` (pair indices).
double yarn_angle(int64_t i, double pos, int64_t n_rot, double base, double factor, double low, double high) {
  const double extrap = pos * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
  const double interp = extrap / factor;
  const double y = (static_cast<double>(i) - low) / std::max(0.001, high - low);
  const double ramp = 1.0 - std::min(1.0, std::max(0.0, y));
  return interp * (1.0 - ramp) + extrap * ramp;
}

TEST(RopeYarn, MatchesThePerDimensionBlendAtGptOssParameters) {
  // gpt-oss: 64 rotary dimensions, base 150000, 32x from 4096 positions, beta 32 and 1. The
  // correction range: pair d(b) = 64 ln(4096 / (2 pi b)) / (2 ln 150000): d(32) = 8.08 -> 8,
  // d(1) = 17.4 -> 18.
  const int64_t n_rot = 64;
  const double base = 150000, factor = 32;
  const double d32 = 64 * std::log(4096 / (2 * kPi * 32)) / (2 * std::log(base));
  const double d1 = 64 * std::log(4096 / (2 * kPi * 1)) / (2 * std::log(base));
  ASSERT_EQ(std::floor(d32), 8.0);
  ASSERT_EQ(std::ceil(d1), 18.0);
  std::vector<float> div(static_cast<size_t>(n_rot / 2));
  rope_yarn_factors(n_rot, base, factor, 4096, 32, 1, div.data());
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    const float d = div[static_cast<size_t>(i)];
    if (i <= 8) {
      EXPECT_FLOAT_EQ(d, 1.0f) << i;  // high frequencies kept
    } else if (i >= 18) {
      EXPECT_FLOAT_EQ(d, 32.0f) << i;  // low frequencies interpolated
    } else {
      EXPECT_TRUE(d > 1.0f && d < 32.0f) << i;
    }
    for (double pos : {1.0, 37.0, 4095.0, 100000.0}) {
      const double want = yarn_angle(i, pos, n_rot, base, factor, 8, 18);
      const double got = pos * std::pow(base, -2.0 * static_cast<double>(i) / 64.0) / d;
      EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, std::fabs(want))) << "pair " << i << " pos " << pos;
    }
  }
  // Pair 13 is halfway along the ramp: frequency times (1/2 + 1/64).
  EXPECT_NEAR(div[13], 1.0 / (0.5 + 0.5 / 32), 1e-5);
  EXPECT_NEAR(rope_yarn_mscale(32), 1.0 + 0.1 * std::log(32.0), 1e-12);  // 1.3466
  EXPECT_EQ(rope_yarn_mscale(1), 1.0);
}

TEST(RopeYarn, RangeIsClampedToTheRotaryDimensions) {
  // A short original context puts d(32) below 0 and a long one d(1) past the last pair.
  std::vector<float> div(16);
  rope_yarn_factors(32, 10000, 4, 64, 32, 1, div.data());  // d(32) = -1.99: the ramp runs 0..5
  EXPECT_FLOAT_EQ(div[0], 1.0f);
  EXPECT_NEAR(div[1], 1.0 / (0.8 + 0.2 / 4), 1e-6);
  EXPECT_FLOAT_EQ(div[15], 4.0f);
  rope_yarn_factors(32, 10000, 4, 1 << 30, 32, 1, div.data());  // both past the end: all kept
  for (float d : div) EXPECT_FLOAT_EQ(d, 1.0f);
}

TEST(SwigluClamped, ClampsGateAboveAndUpBothWays) {
  const float alpha = 1.702f, limit = 7.0f;
  const std::vector<float> g0 = {-20.0f, -3.0f, 0.0f, 0.5f, 6.9f, 7.0f, 12.0f, 100.0f, 2.0f, 2.0f};
  const std::vector<float> up = {1.0f, -0.5f, 3.0f, -9.0f, 2.0f, 0.0f, 1.0f, 20.0f, -7.5f, 7.5f};
  std::vector<float> g = g0;
  swiglu_clamped(g.data(), up.data(), static_cast<int64_t>(g.size()), alpha, limit);
  for (size_t i = 0; i < g.size(); ++i) {
    const double x = std::min<double>(g0[i], limit);
    const double u = std::clamp<double>(up[i], -limit, limit);
    const double want = x / (1.0 + std::exp(-alpha * x)) * (u + 1.0);
    EXPECT_NEAR(g[i], want, 1e-5 * std::max(1.0, std::fabs(want))) << i;
  }
  // Past the limit the output no longer grows: 12 and 100 give what 7 gives (up 1).
  EXPECT_FLOAT_EQ(g[6], 7.0f / (1.0f + std::exp(-alpha * 7.0f)) * 2.0f);
  EXPECT_FLOAT_EQ(g[7], 7.0f / (1.0f + std::exp(-alpha * 7.0f)) * 8.0f);
  // up -7.5 is -7 (times -6), +7.5 is 7 (times 8); the gate is negative-unbounded (-20 stays).
  EXPECT_NEAR(g[8] / g[9], -6.0 / 8.0, 1e-6);
  EXPECT_LT(g[0], 0.0f);
}

TEST(AttentionSink, IsOneMoreTermInTheSoftmax) {
  const int64_t n_pos = 5, hd = 8;
  const size_t stride = 12;  // rows further apart than a head, as in the cache
  std::vector<float> q(hd), k(stride * n_pos), v(stride * n_pos);
  for (int64_t i = 0; i < hd; ++i) q[static_cast<size_t>(i)] = std::sin(0.7f * static_cast<float>(i) + 0.3f);
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = std::cos(0.37f * static_cast<float>(i));
    v[i] = std::sin(0.23f * static_cast<float>(i) + 1.0f);
  }
  std::vector<uint16_t> k16(k.size()), v16(v.size());
  for (size_t i = 0; i < k.size(); ++i) k16[i] = f32_to_fp16(k[i]), v16[i] = f32_to_fp16(v[i]);
  const float scale = 0.4f;
  for (float sink : {-1.5f, 0.0f, 0.8f, 3.0f}) {
    std::vector<double> s(n_pos);
    double mx = sink;
    for (int64_t p = 0; p < n_pos; ++p) {
      double d = 0;
      for (int64_t i = 0; i < hd; ++i) d += q[static_cast<size_t>(i)] * k[static_cast<size_t>(p) * stride + static_cast<size_t>(i)];
      s[static_cast<size_t>(p)] = d * scale;
      mx = std::max(mx, s[static_cast<size_t>(p)]);
    }
    double sum = std::exp(sink - mx);
    for (double& e : s) sum += (e = std::exp(e - mx));
    std::vector<float> out(hd), out16(hd);
    attention_sink_f32(q.data(), k.data(), v.data(), stride, n_pos, hd, scale, sink, out.data());
    attention_sink_f16(q.data(), k16.data(), v16.data(), stride, n_pos, hd, scale, sink, out16.data());
    for (int64_t i = 0; i < hd; ++i) {
      double want = 0;
      for (int64_t p = 0; p < n_pos; ++p) want += s[static_cast<size_t>(p)] / sum * v[static_cast<size_t>(p) * stride + static_cast<size_t>(i)];
      EXPECT_NEAR(out[static_cast<size_t>(i)], want, 1e-6) << "sink " << sink << " dim " << i;
      EXPECT_NEAR(out16[static_cast<size_t>(i)], want, 2e-3) << "sink " << sink << " dim " << i;
    }
  }
  // A sink of -infinity is plain attention (the same kernel, the same bits); a dominant sink leaves (almost) nothing.
  std::vector<float> plain(hd), none(hd), drowned(hd);
  attention_f32(q.data(), k.data(), v.data(), stride, n_pos, hd, scale, plain.data());
  attention_sink_f32(q.data(), k.data(), v.data(), stride, n_pos, hd, scale,
                     -std::numeric_limits<float>::infinity(), none.data());
  attention_sink_f32(q.data(), k.data(), v.data(), stride, n_pos, hd, scale, 60.0f, drowned.data());
  for (int64_t i = 0; i < hd; ++i) {
    EXPECT_EQ(none[static_cast<size_t>(i)], plain[static_cast<size_t>(i)]);
    EXPECT_NEAR(drowned[static_cast<size_t>(i)], 0.0f, 1e-20f);
  }
}

}  // namespace
}  // namespace corral
