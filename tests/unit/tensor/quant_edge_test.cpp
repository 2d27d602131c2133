// Edge cases: every F16/BF16 bit pattern, NaN/inf/denormals, extreme block scales, tiny and
// huge inputs to the quantizers, and the invariant checks on type and row length.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "tensor/quant.h"
#include "tensor/quant_blocks.h"

namespace corral {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(QuantEdge, F16AllPatternsWidenExactlyAndNarrowBack) {
  std::vector<uint16_t> h(65536);
  for (uint32_t i = 0; i < 65536; ++i) h[i] = static_cast<uint16_t>(i);
  std::vector<float> y(65536);
  dequantize_row(GgmlType::kF16, h.data(), y.data(), 65536);
  std::vector<uint16_t> back(65536);
  quantize_row(GgmlType::kF16, y.data(), back.data(), 65536);
  for (uint32_t i = 0; i < 65536; ++i) {
    const uint32_t exp = (i >> 10) & 0x1f;
    const uint32_t mant = i & 0x3ff;
    const double sign = (i & 0x8000) ? -1.0 : 1.0;
    if (exp == 31 && mant != 0) {
      ASSERT_TRUE(std::isnan(y[i])) << i;
      ASSERT_EQ(back[i] & 0x7c00, 0x7c00) << i;
      ASSERT_NE(back[i] & 0x3ff, 0) << i;  // still a NaN
      continue;
    }
    double want;
    if (exp == 31) {
      want = sign * std::numeric_limits<double>::infinity();
    } else if (exp == 0) {
      want = sign * std::ldexp(static_cast<double>(mant), -24);  // subnormal
    } else {
      want = sign * std::ldexp(1024.0 + mant, static_cast<int>(exp) - 25);
    }
    ASSERT_EQ(static_cast<double>(y[i]), want) << i;
    ASSERT_EQ(std::signbit(y[i]), (i & 0x8000) != 0) << i;  // -0 stays -0
    ASSERT_EQ(back[i], h[i]) << i;
  }
}

TEST(QuantEdge, BF16AllPatternsWidenExactlyAndNarrowBack) {
  std::vector<uint16_t> b(65536);
  for (uint32_t i = 0; i < 65536; ++i) b[i] = static_cast<uint16_t>(i);
  std::vector<float> y(65536);
  dequantize_row(GgmlType::kBF16, b.data(), y.data(), 65536);
  std::vector<uint16_t> back(65536);
  quantize_row(GgmlType::kBF16, y.data(), back.data(), 65536);
  for (uint32_t i = 0; i < 65536; ++i) {
    ASSERT_EQ(bits(y[i]), i << 16) << i;
    if (std::isnan(y[i])) {
      ASSERT_TRUE(std::isnan(bf16_to_f32(back[i]))) << i;
      ASSERT_NE(back[i] & 0x40, 0) << i;  // quiet
    } else {
      ASSERT_EQ(back[i], b[i]) << i;
    }
  }
}

TEST(QuantEdge, F16NarrowingRoundsToNearestEven) {
  const float in[] = {65504.0f, 65519.0f, 65520.0f, 1e9f, -1e9f,
                      std::ldexp(1.0f, -25),                 // half the smallest subnormal: tie -> 0
                      std::ldexp(1.0f, -25) * 1.0000001f,    // just above: smallest subnormal
                      std::ldexp(3.0f, -25),                 // 1.5 subnormal steps: tie -> 2
                      1.0f + std::ldexp(1.0f, -11),          // tie between 1 and 1+2^-10 -> 1
                      1.0f + std::ldexp(3.0f, -11),          // tie -> 1 + 2^-9 (even)
                      std::numeric_limits<float>::infinity(), std::ldexp(1.0f, -14)};
  const uint16_t want[] = {0x7bff, 0x7bff, 0x7c00, 0x7c00, 0xfc00, 0x0000, 0x0001,
                           0x0002, 0x3c00, 0x3c02, 0x7c00, 0x0400};
  constexpr int kN = sizeof(in) / sizeof(in[0]);
  uint16_t out[kN];
  quantize_row(GgmlType::kF16, in, out, kN);
  for (int i = 0; i < kN; ++i) EXPECT_EQ(out[i], want[i]) << i << " " << in[i];
}

TEST(QuantEdge, BF16NarrowingRoundsToNearestEven) {
  const float in[] = {1.0f + std::ldexp(1.0f, -8),   // tie -> 1 (even)
                      1.0f + std::ldexp(3.0f, -8),   // tie -> 1 + 2^-6 (even)
                      1.0f + std::ldexp(1.0f, -9),   // below the tie -> 1
                      std::numeric_limits<float>::max(),  // rounds up to inf, as ggml does
                      -std::numeric_limits<float>::infinity(),
                      std::numeric_limits<float>::denorm_min()};
  const uint16_t want[] = {0x3f80, 0x3f82, 0x3f80, 0x7f80, 0xff80, 0x0000};
  constexpr int kN = sizeof(in) / sizeof(in[0]);
  uint16_t out[kN];
  quantize_row(GgmlType::kBF16, in, out, kN);
  for (int i = 0; i < kN; ++i) EXPECT_EQ(out[i], want[i]) << i;
}

TEST(QuantEdge, Q8_0ExtremeScales) {
  BlockQ8_0 b[3]{};
  b[0].d = 0x7bff;  // 65504
  b[0].qs[0] = -128;
  b[0].qs[1] = 127;
  b[1].d = 0x0001;  // smallest subnormal, 2^-24
  b[1].qs[0] = -128;
  b[1].qs[1] = 3;
  b[2].d = 0x7c00;  // inf: an element of 0 gives NaN (0 * inf), as in ggml
  b[2].qs[0] = 1;
  float y[96];
  dequantize_row(GgmlType::kQ8_0, b, y, 96);
  EXPECT_EQ(y[0], -128.0f * 65504.0f);
  EXPECT_EQ(y[1], 127.0f * 65504.0f);
  EXPECT_EQ(y[32], -128.0f * std::ldexp(1.0f, -24));
  EXPECT_EQ(y[33], 3.0f * std::ldexp(1.0f, -24));
  EXPECT_EQ(y[64], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(y[65]));
}

TEST(QuantEdge, KQuantsWithLargestScalesStayFinite) {
  // Every fp16 scale field at 65504 and every quant byte at its largest value.
  for (GgmlType type : {GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K, GgmlType::kQ5_K,
                        GgmlType::kQ6_K, GgmlType::kQ4_1, GgmlType::kQ5_1}) {
    const QuantTraits& t = *quant_traits(type);
    std::vector<uint8_t> blk(t.block_bytes, 0xff);
    // Overwrite fp16 fields (their offsets: see quant_blocks.h) with 0x7bff.
    auto put = [&](size_t off) { blk[off] = 0xff; blk[off + 1] = 0x7b; };
    switch (type) {
      case GgmlType::kQ2_K: put(80); put(82); break;
      case GgmlType::kQ3_K: put(108); break;
      case GgmlType::kQ6_K: put(208); break;
      default: put(0); put(2); break;
    }
    std::vector<float> y(static_cast<size_t>(t.block_elems));
    dequantize_row(type, blk.data(), y.data(), t.block_elems);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << ggml_type_name(type);
  }
}

class QuantizeInputRange : public ::testing::TestWithParam<GgmlType> {};

TEST_P(QuantizeInputRange, TinyAndLargeMagnitudes) {
  const GgmlType type = GetParam();
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float scale : {1e-30f, 1e-6f, 1e-3f, 1e3f}) {
    std::vector<float> x(512);
    for (auto& v : x) v = dist(rng) * scale;
    std::vector<uint8_t> q(ggml_row_bytes(type, 512));
    quantize_row(type, x.data(), q.data(), 512);
    std::vector<float> y(512);
    dequantize_row(type, q.data(), y.data(), 512);
    double err2 = 0;
    double ref2 = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << ggml_type_name(type) << " scale " << scale;
      err2 += (static_cast<double>(y[i]) - x[i]) * (y[i] - x[i]);
      ref2 += static_cast<double>(x[i]) * x[i];
    }
    // Within fp16's range the usual bounds hold (0.4 covers Q2_K). Far below it every scale
    // flushes to zero and so does the row. In between (1e-6) only finiteness is promised: as in
    // ggml, Q4_K/Q5_K can keep a subnormal dmin while d flushes to zero, leaving a pure offset
    // (relative error ~3).
    const double rel = std::sqrt(err2 / ref2);
    if (scale >= 1e-3f) {
      EXPECT_LE(rel, 0.4) << ggml_type_name(type) << " scale " << scale;
    } else if (scale <= 1e-30f) {
      EXPECT_LE(rel, 1.0) << ggml_type_name(type) << " scale " << scale;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Quant, QuantizeInputRange,
    ::testing::Values(GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                      GgmlType::kQ8_0, GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K,
                      GgmlType::kQ5_K, GgmlType::kQ6_K),
    [](const auto& p) { return std::string(ggml_type_name(p.param)); });

TEST(QuantEdgeDeathTest, UnsupportedTypeOrPartialBlockAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<uint8_t> src(1024);
  std::vector<float> dst(512);
  EXPECT_DEATH(dequantize_row(GgmlType::kTQ1_0, src.data(), dst.data(), 256), "tq1_0");
  EXPECT_DEATH(dequantize_row(GgmlType::kQ4_K, src.data(), dst.data(), 100), "whole number");
  EXPECT_DEATH(quantize_row(GgmlType::kQ8_0, dst.data(), src.data(), 33), "whole number");
}

}  // namespace
}  // namespace corral
