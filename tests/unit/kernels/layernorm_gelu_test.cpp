// The encoders' element-wise ops (kernels/ops.h): LayerNorm with weight and bias, and GELU in
// its tanh form, against double-precision definitions.
#include <gtest/gtest.h>

#include <cmath>
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

}  // namespace
}  // namespace corral
