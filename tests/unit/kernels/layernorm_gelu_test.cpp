// The encoders' element-wise ops (kernels/ops.h): LayerNorm with weight and bias, and GELU in
// its tanh form, against double-precision definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "kernels/ops.h"

namespace corral {
namespace {

TEST(LayerNorm, MatchesDefinition) {
  const int64_t n = 67;
  std::vector<float> x(n), w(n), b(n), y(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = 3.0f + std::sin(static_cast<float>(i)) * 2.0f;  // a large mean, to test the centring
    w[i] = 1.0f + 0.01f * static_cast<float>(i % 7);
    b[i] = 0.1f * static_cast<float>(i % 5) - 0.2f;
  }
  layernorm(x.data(), w.data(), b.data(), y.data(), n, 1e-12f);
  double mean = 0, var = 0;
  for (float v : x) mean += v;
  mean /= n;
  for (float v : x) var += (v - mean) * (v - mean);
  var /= n;
  for (int64_t i = 0; i < n; ++i) {
    const double want = (x[i] - mean) / std::sqrt(var + 1e-12) * w[i] + b[i];
    EXPECT_NEAR(y[i], want, 1e-5) << i;
  }
  layernorm(x.data(), w.data(), b.data(), x.data(), n, 1e-12f);  // in place
  EXPECT_EQ(x, y);
}

TEST(Gelu, TanhForm) {
  std::vector<float> x = {-6.0f, -2.0f, -0.5f, 0.0f, 0.5f, 1.0f, 3.0f};
  std::vector<float> y = x;
  gelu(y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double want = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(y[i], want, 1e-6) << v;
  }
  EXPECT_NEAR(y[5], 0.841192, 1e-5);  // gelu(1), tanh form (the erf form gives 0.841345)
}

// The vectorised form (g / (1 + exp(-2u)) with its own exp) against the same function in double
// over a dense sweep and at the extremes: within a few float roundings (relative 2e-6, plus 1e-9
// absolute for the tiny negative tail, where exp's argument is large and its rounding relative
// to it). Rows of every length: the 1..3 values past the last whole vector go through the same
// arithmetic, so they get the same bits as inside a longer row.
TEST(Gelu, DenseSweepAndTails) {
  std::vector<float> x;
  for (float v = -40.0f; v <= 40.0f; v += 0.00731f) x.push_back(v);
  x.push_back(-1e30f);
  x.push_back(1e30f);
  x.push_back(0.0f);
  std::vector<float> y = x;
  gelu(y.data(), static_cast<int64_t>(y.size()));
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    // 0.5 v (1 + tanh(u)) written as v / (1 + exp(-2u)): in double, tanh(u) rounds to -1 below
    // u = -19 and loses the tiny negative values this form keeps.
    const double u = std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v);
    const double want = v / (1.0 + std::exp(-2.0 * u));
    const double err = std::fabs(y[i] - want);
    ASSERT_LE(err, 2e-6 * std::fabs(want) + 1e-9) << "gelu(" << v << ") = " << y[i] << ", want " << want;
    if (std::fabs(want) > 1e-3) worst = std::max(worst, err / std::fabs(want));
  }
  EXPECT_GT(worst, 0.0);  // the sweep did compare values
  std::printf("[ gelu     ] worst relative error where |gelu| > 1e-3: %.3g\n", worst);
  for (size_t len = 1; len <= 7; ++len) {
    std::vector<float> part(x.begin() + 1000, x.begin() + 1000 + static_cast<std::ptrdiff_t>(len));
    gelu(part.data(), static_cast<int64_t>(len));
    for (size_t i = 0; i < len; ++i) EXPECT_EQ(part[i], y[1000 + i]) << "length " << len << " value " << i;
  }
}

// Gemma's gate: geglu(g, up) is gelu(g) * up with the same GELU, bit for bit, at every row length.
TEST(Gelu, GegluIsGeluTimesUp) {
  std::vector<float> g, up;
  for (int i = 0; i < 203; ++i) {
    g.push_back(-9.0f + 0.0877f * static_cast<float>(i));
    up.push_back(0.5f - 0.013f * static_cast<float>(i));
  }
  for (size_t len : {size_t{1}, size_t{3}, size_t{4}, size_t{7}, g.size()}) {
    std::vector<float> gated(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(len)), plain = gated;
    geglu(gated.data(), up.data(), static_cast<int64_t>(len));
    gelu(plain.data(), static_cast<int64_t>(len));
    for (size_t i = 0; i < len; ++i) ASSERT_EQ(gated[i], plain[i] * up[i]) << "length " << len << " value " << i;
  }
}

}  // namespace
}  // namespace corral
