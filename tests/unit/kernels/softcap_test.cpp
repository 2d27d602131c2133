// Soft-capping (kernels/ops.h softcap: cap * tanh(x / cap), Gemma 2's attention scores and final
// logits), vectorised with its own tanh, against the definition in double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "kernels/ops.h"

namespace corral {
namespace {

// A dense sweep through both of tanh's branches (the polynomial below |x / cap| = 0.625, the
// exponential form above) and far into saturation: within 3e-7 of cap (a few float roundings
// of values up to cap) and within 4 ulp relative where the result is small, so tiny scores keep
// their precision.
TEST(Softcap, DenseSweepMatchesTanh) {
  for (const float cap : {50.0f, 30.0f, 1.0f}) {
    std::vector<float> x;
    for (float v = -3.0f * cap; v <= 3.0f * cap; v += cap * 0.000917f) x.push_back(v);
    for (const float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, 0.625f * cap, -0.625f * cap, 1e30f, -1e30f})
      x.push_back(v);
    std::vector<float> y = x;
    softcap(y.data(), static_cast<int64_t>(y.size()), cap);
    double worst = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double want = cap * std::tanh(static_cast<double>(x[i]) / cap);
      const double err = std::fabs(y[i] - want);
      ASSERT_LE(err, 3e-7 * cap + 5e-7 * std::fabs(want)) << "softcap(" << x[i] << ", " << cap << ") = " << y[i];
      if (std::fabs(want) < 0.5 * cap) {
        ASSERT_LE(err, 5e-7 * std::fabs(want)) << x[i];
      }
      worst = std::max(worst, err / cap);
    }
    EXPECT_EQ(std::signbit(y[x.size() - 8]), true);  // -0 stays -0
    EXPECT_EQ(y[x.size() - 2], cap);                  // saturates at exactly +-cap
    EXPECT_EQ(y[x.size() - 1], -cap);
    std::printf("[ softcap  ] cap %g: worst error / cap %.3g\n", cap, worst);
  }
  float inf[2] = {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
  softcap(inf, 2, 50.0f);
  EXPECT_EQ(inf[0], 50.0f);
  EXPECT_TRUE(std::isnan(inf[1]));
}

// The 1..3 values past the last group of four go through the same arithmetic: a value gets the
// same bits whatever the row's length and its place in it.
TEST(Softcap, SameBitsAtEveryLength) {
  std::vector<float> x;
  for (int i = 0; i < 37; ++i) x.push_back(-70.0f + 3.9f * static_cast<float>(i));
  std::vector<float> whole = x;
  softcap(whole.data(), static_cast<int64_t>(whole.size()), 50.0f);
  for (size_t start = 0; start < 5; ++start)
    for (size_t len = 1; len <= 9; ++len) {
      std::vector<float> part(x.begin() + static_cast<std::ptrdiff_t>(start),
                              x.begin() + static_cast<std::ptrdiff_t>(start + len));
      softcap(part.data(), static_cast<int64_t>(len), 50.0f);
      for (size_t i = 0; i < len; ++i) ASSERT_EQ(part[i], whole[start + i]) << start << " " << len << " " << i;
    }
}

}  // namespace
}  // namespace corral
