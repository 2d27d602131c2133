// fp16/bf16 conversions: exhaustive round trip over every half value, and rounding rules.
#include <gtest/gtest.h>

#include <cmath>

#include "base/fp16.h"

namespace corral {
namespace {

TEST(Fp16, EveryFiniteHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const float f = fp16_to_f32(bits);
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_fp16(f), bits) << "half bits " << h;
  }
}

TEST(Fp16, RoundsToNearestEven) {
  EXPECT_EQ(fp16_to_f32(f32_to_fp16(1.0f + 1.0f / 2048.0f)), 1.0f);  // halfway: to even (1.0)
  EXPECT_EQ(fp16_to_f32(f32_to_fp16(1.0f + 3.0f / 2048.0f)), 1.0f + 2.0f / 1024.0f);
  EXPECT_EQ(fp16_to_f32(f32_to_fp16(65520.0f)), INFINITY);
  EXPECT_EQ(fp16_to_f32(f32_to_fp16(5.9604644775390625e-8f)), 5.9604644775390625e-8f);
}

TEST(Bf16, RoundTripAndRounding) {
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.5f)), 1.5f);
  EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 256.0f), f32_to_bf16(1.0f));  // halfway to even
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

}  // namespace
}  // namespace corral
