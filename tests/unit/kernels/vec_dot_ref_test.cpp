// vec_dot_ref: known answers, agreement with an explicit dequantize-and-sum, and the dot of the
// quantized row against the exact float dot within the type's error.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "kernels/ref/vec_dot_ref.h"
#include "tensor/quant.h"
#include "tensor/quant_blocks.h"
#include "unit/kernels/random_weights.h"

namespace corral {
namespace {

TEST(VecDotRef, Q8_0KnownAnswer) {
  BlockQ8_0 b[2]{};
  for (auto& blk : b) {
    blk.d = f32_to_fp16(0.5f);
    for (int j = 0; j < 32; ++j) blk.qs[j] = static_cast<int8_t>(j - 16);
  }
  b[1].qs[0] = 100;  // -16 -> 100 in the second block
  std::vector<float> x(64, 1.0f);
  x[32] = 2.0f;
  // Block 0: 0.5 * sum(-16..15) = -8. Block 1: -8 + 0.5 * (100 + 16) + 0.5 * 100 (x = 2).
  EXPECT_EQ(vec_dot_ref(GgmlType::kQ8_0, b, x.data(), 64), -8.0f + (-8.0f + 58.0f + 50.0f));
}

TEST(VecDotRef, F32SumsInDouble) {
  // 1 + 1e8 - 1e8 in float order loses the 1; the double sum keeps it.
  const float w[4] = {1.0f, 1e8f, -1e8f, 0.0f};
  const float x[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  EXPECT_EQ(vec_dot_ref(GgmlType::kF32, w, x, 4), 1.0f);
}

struct Case {
  GgmlType type;
  double rel_bound;  // |dot_q - dot_f32| / (|w| |x|): the quantizer's relative RMS error
};

class VecDotRefTypes : public ::testing::TestWithParam<Case> {};

TEST_P(VecDotRefTypes, MatchesDequantizedSumAndFloatDot) {
  const auto [type, rel_bound] = GetParam();
  const int64_t n = 256 * 12;  // long rows cross several dequantization chunks
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(n));
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : w) v = dist(rng);
  for (auto& v : x) v = dist(rng);
  std::vector<uint8_t> q(ggml_row_bytes(type, n));
  quantize_row_for_tests(type, w.data(), q.data(), n);

  std::vector<float> wd(static_cast<size_t>(n));
  dequantize_row(type, q.data(), wd.data(), n);
  double want = 0;
  double exact = 0;
  double w2 = 0;
  double x2 = 0;
  for (size_t i = 0; i < wd.size(); ++i) {
    want += static_cast<double>(wd[i]) * x[i];
    exact += static_cast<double>(w[i]) * x[i];
    w2 += static_cast<double>(w[i]) * w[i];
    x2 += static_cast<double>(x[i]) * x[i];
  }
  const float got = vec_dot_ref(type, q.data(), x.data(), n);
  EXPECT_EQ(got, static_cast<float>(want)) << ggml_type_name(type);
  EXPECT_LE(std::fabs(got - exact), rel_bound * std::sqrt(w2 * x2)) << ggml_type_name(type);
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, VecDotRefTypes,
    ::testing::Values(Case{GgmlType::kF32, 1e-7}, Case{GgmlType::kF16, 3e-4},
                      Case{GgmlType::kBF16, 2.5e-3}, Case{GgmlType::kQ8_0, 0.007},
                      Case{GgmlType::kQ5_0, 0.05}, Case{GgmlType::kQ5_1, 0.05},
                      Case{GgmlType::kQ4_0, 0.1}, Case{GgmlType::kQ4_1, 0.1},
                      Case{GgmlType::kQ6_K, 0.025}, Case{GgmlType::kQ5_K, 0.05},
                      Case{GgmlType::kQ4_K, 0.09}, Case{GgmlType::kQ3_K, 0.2},
                      Case{GgmlType::kQ2_K, 0.35}, Case{GgmlType::kIQ4_NL, 0.1},
                      Case{GgmlType::kIQ4_XS, 0.1}, Case{GgmlType::kMXFP4, 0.15}),
    [](const auto& p) { return std::string(ggml_type_name(p.param.type)); });

}  // namespace
}  // namespace corral
