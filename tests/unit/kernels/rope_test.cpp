// Rotary embedding in its two steps (angles once per position, then the rotation per head)
// against a float64 rotation computed here, for both pairings and with Llama 3 frequency factors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ops.h"

namespace corral {
namespace {

// x rotated in double precision: pair i turns by pos * base^(-2i/n_rot) / factor_i.
std::vector<double> rotated(const std::vector<float>& x, int64_t n_rot, int64_t pos, double base, bool neox,
                            const float* factors) {
  std::vector<double> y(x.begin(), x.end());
  const int64_t half = n_rot / 2;
  for (int64_t i = 0; i < half; ++i) {
    double freq = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
    if (factors != nullptr) freq /= factors[i];
    const double th = static_cast<double>(pos) * freq;
    const int64_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
    y[static_cast<size_t>(a)] = x[static_cast<size_t>(a)] * std::cos(th) - x[static_cast<size_t>(b)] * std::sin(th);
    y[static_cast<size_t>(b)] = x[static_cast<size_t>(a)] * std::sin(th) + x[static_cast<size_t>(b)] * std::cos(th);
  }
  return y;
}

std::vector<float> head(int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = std::sin(0.37f * static_cast<float>(i) + 0.1f) * 3.0f;
  return x;
}

TEST(Rope, PositionZeroIsTheIdentity) {
  std::vector<float> cs(64);
  rope_angles(64, 0, 10000.0, nullptr, cs.data());
  for (size_t i = 0; i < cs.size(); i += 2) {
    EXPECT_EQ(cs[i], 1.0f);
    EXPECT_EQ(cs[i + 1], 0.0f);
  }
  auto x = head(64);
  const auto before = x;
  rope_rotate(x.data(), 64, false, cs.data());
  EXPECT_EQ(x, before);
}

TEST(Rope, MatchesAFloat64RotationForBothPairingsAndPartialRotation) {
  std::vector<float> factors(24);
  for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + 0.5f * static_cast<float>(i);
  for (const bool neox : {false, true}) {
    for (const float* f : {static_cast<const float*>(nullptr), static_cast<const float*>(factors.data())}) {
      for (const int64_t pos : {1, 17, 4095, 32767}) {
        const int64_t head_dim = 64, n_rot = 48;  // the last 16 dimensions are not rotated
        auto x = head(head_dim);
        const auto want = rotated(x, n_rot, pos, 500000.0, neox, f);
        std::vector<float> cs(static_cast<size_t>(n_rot));
        rope_angles(n_rot, static_cast<double>(pos), 500000.0, f, cs.data());
        rope_rotate(x.data(), n_rot, neox, cs.data());
        for (int64_t i = 0; i < head_dim; ++i)
          EXPECT_NEAR(x[static_cast<size_t>(i)], want[static_cast<size_t>(i)], 4e-6)
              << "neox " << neox << " factors " << (f != nullptr) << " pos " << pos << " i " << i;
        for (int64_t i = n_rot; i < head_dim; ++i) EXPECT_EQ(x[static_cast<size_t>(i)], head(head_dim)[static_cast<size_t>(i)]);
      }
    }
  }
}

TEST(Rope, OneTableServesEveryHeadOfAPosition) {
  // The forward pass computes the angles once per token and rotates all heads of all layers with
  // them: each head must come out as if rotated alone.
  const int64_t n_rot = 64;
  std::vector<float> cs(static_cast<size_t>(n_rot));
  rope_angles(n_rot, 123, 10000.0, nullptr, cs.data());
  auto a = head(n_rot), b = head(n_rot);
  for (auto& v : b) v = -2.0f * v;
  rope_rotate(a.data(), n_rot, true, cs.data());
  rope_rotate(b.data(), n_rot, true, cs.data());
  const auto wa = rotated(head(n_rot), n_rot, 123, 10000.0, true, nullptr);
  for (int64_t i = 0; i < n_rot; ++i) {
    EXPECT_NEAR(a[static_cast<size_t>(i)], wa[static_cast<size_t>(i)], 1e-5);
    EXPECT_NEAR(b[static_cast<size_t>(i)], -2.0 * wa[static_cast<size_t>(i)], 2e-5);
  }
}

}  // namespace
}  // namespace corral
