// Dequantizers against hand-built blocks with known values, and against a second, per-element
// reading of each block layout (written from ggml-common.h, not from quant_*.cpp) on random bytes.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "tensor/quant.h"
#include "tensor/quant_blocks.h"

namespace corral {
namespace {

TEST(QuantTraits, TableAgreesWithGgmlTypeTable) {
  int n_supported = 0;
  for (uint32_t id = 0; id < 64; ++id) {
    const GgmlTypeInfo* info = ggml_type_info(id);
    const QuantTraits* q = info ? quant_traits(info->type) : nullptr;
    if (info == nullptr || !info->compute_supported) {
      EXPECT_EQ(q, nullptr) << id;
      continue;
    }
    ASSERT_NE(q, nullptr) << info->name;
    EXPECT_EQ(q->type, info->type);
    EXPECT_EQ(q->block_elems, info->block_elems) << info->name;
    EXPECT_EQ(q->block_bytes, info->block_bytes) << info->name;
    EXPECT_NE(q->dequantize, nullptr);
    // The IQ types have no quantizer here (their test files come from ggml).
    const bool no_quantizer = info->name.substr(0, 2) == "iq";
    EXPECT_EQ(q->quantize == nullptr, no_quantizer) << info->name;
    ++n_supported;
  }
  EXPECT_EQ(n_supported, 23);
}

TEST(DequantizeKnown, Q8_0) {
  BlockQ8_0 b{};
  b.d = f32_to_fp16(0.5f);
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j - 16);
  b.qs[0] = -3;
  b.qs[31] = 127;
  b.qs[30] = -128;
  float y[32];
  dequantize_row(GgmlType::kQ8_0, &b, y, 32);
  EXPECT_EQ(y[0], -1.5f);
  EXPECT_EQ(y[1], -7.5f);
  EXPECT_EQ(y[16], 0.0f);
  EXPECT_EQ(y[30], -64.0f);
  EXPECT_EQ(y[31], 63.5f);
}

TEST(DequantizeKnown, Q4_0LowNibblesFirst) {
  BlockQ4_0 b{};
  b.d = f32_to_fp16(2.0f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  dequantize_row(GgmlType::kQ4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.0f * static_cast<float>(j - 8)) << j;             // low nibble: 0..15
    EXPECT_EQ(y[j + 16], 2.0f * static_cast<float>(7 - j)) << j + 16;   // high nibble: 16..31
  }
}

TEST(DequantizeKnown, Q4_1AddsMin) {
  BlockQ4_1 b{};
  b.d = f32_to_fp16(0.25f);
  b.m = f32_to_fp16(-1.0f);
  std::memset(b.qs, 0x5a, sizeof(b.qs));  // low 0xa, high 0x5
  float y[32];
  dequantize_row(GgmlType::kQ4_1, &b, y, 32);
  EXPECT_EQ(y[0], 10 * 0.25f - 1.0f);
  EXPECT_EQ(y[16], 5 * 0.25f - 1.0f);
}

TEST(DequantizeKnown, Q5_0HighBitsFromQh) {
  BlockQ5_0 b{};
  b.d = f32_to_fp16(1.0f);
  const uint32_t qh = (1u << 0) | (1u << 17);  // element 0 and element 17 get bit 4
  std::memcpy(b.qh, &qh, 4);
  std::memset(b.qs, 0x31, sizeof(b.qs));  // low 1, high 3
  float y[32];
  dequantize_row(GgmlType::kQ5_0, &b, y, 32);
  EXPECT_EQ(y[0], 17.0f - 16.0f);
  EXPECT_EQ(y[1], 1.0f - 16.0f);
  EXPECT_EQ(y[16], 3.0f - 16.0f);
  EXPECT_EQ(y[17], 19.0f - 16.0f);
}

TEST(DequantizeKnown, Q5_1) {
  BlockQ5_1 b{};
  b.d = f32_to_fp16(0.5f);
  b.m = f32_to_fp16(2.0f);
  const uint32_t qh = 0xffffffffu;
  std::memcpy(b.qh, &qh, 4);
  std::memset(b.qs, 0xf0, sizeof(b.qs));
  float y[32];
  dequantize_row(GgmlType::kQ5_1, &b, y, 32);
  EXPECT_EQ(y[0], 16 * 0.5f + 2.0f);
  EXPECT_EQ(y[31], 31 * 0.5f + 2.0f);
}

TEST(DequantizeKnown, Q2_KScalesAndShifts) {
  BlockQ2_K b{};
  b.d = f32_to_fp16(1.0f);
  b.dmin = f32_to_fp16(0.5f);
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<uint8_t>((s % 16) | ((15 - s) << 4));
  // Byte 0 of the first half: elements 0, 32, 64, 96 get q = 1, 2, 3, 0.
  b.qs[0] = 0x01 | (0x02 << 2) | (0x03 << 4);
  float y[256];
  dequantize_row(GgmlType::kQ2_K, &b, y, 256);
  EXPECT_EQ(y[0], 0 * 1 - 0.5f * 15);          // sub-block 0: sc 0, m 15
  EXPECT_EQ(y[32], 2.0f * 2 - 0.5f * 13);      // sub-block 2
  EXPECT_EQ(y[64], 4.0f * 3 - 0.5f * 11);      // sub-block 4
  EXPECT_EQ(y[96], 6.0f * 0 - 0.5f * 9);       // sub-block 6
  EXPECT_EQ(y[255], 15.0f * 0 - 0.5f * 0);     // sub-block 15
}

TEST(DequantizeKnown, Q6_KSignedScales) {
  BlockQ6_K b{};
  b.d = f32_to_fp16(0.125f);
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s - 8);
  std::memset(b.ql, 0, sizeof(b.ql));
  std::memset(b.qh, 0xff, sizeof(b.qh));  // q = 48 everywhere -> q - 32 = 16
  float y[256];
  dequantize_row(GgmlType::kQ6_K, &b, y, 256);
  for (int e = 0; e < 256; ++e) EXPECT_EQ(y[e], 0.125f * static_cast<float>(e / 16 - 8) * 16) << e;
}

TEST(DequantizeKnown, FloatsAreExact) {
  const uint16_t h[4] = {0x3c00, 0xc000, 0x0001, 0x7bff};  // 1, -2, smallest subnormal, 65504
  float y[4];
  dequantize_row(GgmlType::kF16, h, y, 4);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[2], 5.9604644775390625e-8f);
  EXPECT_EQ(y[3], 65504.0f);
  const uint16_t bf[2] = {0x3f80, 0xc2f7};  // 1, -123.5
  dequantize_row(GgmlType::kBF16, bf, y, 2);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -123.5f);
}

// ---- per-element layout reading --------------------------------------------------------------

float h2f(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_f32(h);
}

// Element e of one block at b, read straight from the ggml-common.h layout.
float element(GgmlType type, const uint8_t* b, int e) {
  switch (type) {
    case GgmlType::kQ4_0: {  // d, qs[16]
      const int q = e < 16 ? b[2 + e] & 15 : b[2 + e - 16] >> 4;
      return static_cast<float>(q - 8) * h2f(b);
    }
    case GgmlType::kQ4_1: {  // d, m, qs[16]
      const int q = e < 16 ? b[4 + e] & 15 : b[4 + e - 16] >> 4;
      return static_cast<float>(q) * h2f(b) + h2f(b + 2);
    }
    case GgmlType::kQ5_0: {  // d, qh[4], qs[16]
      const int lo = e < 16 ? b[6 + e] & 15 : b[6 + e - 16] >> 4;
      const int hi = (b[2 + e / 8] >> (e % 8)) & 1;
      return static_cast<float>((lo | hi << 4) - 16) * h2f(b);
    }
    case GgmlType::kQ5_1: {  // d, m, qh[4], qs[16]
      const int lo = e < 16 ? b[8 + e] & 15 : b[8 + e - 16] >> 4;
      const int hi = (b[4 + e / 8] >> (e % 8)) & 1;
      return static_cast<float>(lo | hi << 4) * h2f(b) + h2f(b + 2);
    }
    case GgmlType::kQ8_0:  // d, qs[32]
      return static_cast<float>(static_cast<int8_t>(b[2 + e])) * h2f(b);
    case GgmlType::kQ2_K: {  // scales[16], qs[64], d, dmin
      const int q = (b[16 + 32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      const int sc = b[e / 16];
      return h2f(b + 80) * static_cast<float>(sc & 15) * static_cast<float>(q) -
             h2f(b + 82) * static_cast<float>(sc >> 4);
    }
    case GgmlType::kQ3_K: {  // hmask[32], qs[64], scales[12], d
      const int lo = (b[32 + 32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      const int hbit = (b[e % 32] >> (e / 32)) & 1;
      const int s = e / 16;
      const uint8_t* sc = b + 96;
      const int sc_lo = s < 8 ? sc[s] & 15 : sc[s - 8] >> 4;
      const int sc_hi = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
      return h2f(b + 108) * static_cast<float>((sc_lo | sc_hi << 4) - 32) *
             static_cast<float>(lo - (hbit ? 0 : 4));
    }
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K: {  // d, dmin, scales[12], [qh[32]], qs[128]
      const bool five = type == GgmlType::kQ5_K;
      const uint8_t* qs = b + 16 + (five ? 32 : 0);
      const int k = e % 64;
      const uint8_t byte = qs[32 * (e / 64) + k % 32];
      int q = k < 32 ? byte & 15 : byte >> 4;
      if (five) q |= ((b[16 + e % 32] >> (e / 32)) & 1) << 4;
      const int s = e / 32;
      const uint8_t* sc = b + 4;
      const int scale = s < 4 ? sc[s] & 63 : (sc[s + 4] & 15) | (sc[s - 4] >> 6) << 4;
      const int min = s < 4 ? sc[s + 4] & 63 : (sc[s + 4] >> 4) | (sc[s] >> 6) << 4;
      return h2f(b) * static_cast<float>(scale) * static_cast<float>(q) -
             h2f(b + 2) * static_cast<float>(min);
    }
    case GgmlType::kQ6_K: {  // ql[128], qh[64], scales[16], d
      const int h = e / 128;
      const int g = (e % 128) / 32;
      const int l = e % 32;
      const uint8_t lbyte = b[64 * h + 32 * (g % 2) + l];
      const int lo = g < 2 ? lbyte & 15 : lbyte >> 4;
      const int hi = (b[128 + 32 * h + l] >> (2 * g)) & 3;
      const auto sc = static_cast<int8_t>(b[192 + e / 16]);
      return h2f(b + 208) * static_cast<float>(sc) * static_cast<float>((lo | hi << 4) - 32);
    }
    default:
      ADD_FAILURE() << "no layout reading for " << ggml_type_name(type);
      return 0;
  }
}

// Byte offsets of the fp16 scale fields of each block layout.
std::vector<int> half_offsets(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0: case GgmlType::kQ5_0: case GgmlType::kQ8_0: return {0};
    case GgmlType::kQ4_1: case GgmlType::kQ5_1: case GgmlType::kQ4_K: case GgmlType::kQ5_K:
      return {0, 2};
    case GgmlType::kQ2_K: return {80, 82};
    case GgmlType::kQ3_K: return {108};
    case GgmlType::kQ6_K: return {208};
    default: return {};
  }
}

class DequantizeLayout : public ::testing::TestWithParam<GgmlType> {};

TEST_P(DequantizeLayout, RandomBlocksMatchPerElementReading) {
  const GgmlType type = GetParam();
  const QuantTraits& t = *quant_traits(type);
  constexpr int kBlocks = 64;
  std::mt19937 rng(1234 + static_cast<unsigned>(type));
  std::vector<uint8_t> bytes(t.block_bytes * kBlocks);
  for (auto& v : bytes) v = static_cast<uint8_t>(rng());
  // Finite scales of either sign between 2^-12 and 2^3.
  std::uniform_real_distribution<float> mag(-12.0f, 3.0f);
  for (int i = 0; i < kBlocks; ++i) {
    for (int off : half_offsets(type)) {
      const float v = std::exp2(mag(rng)) * ((rng() & 1) ? -1.0f : 1.0f);
      const uint16_t h = f32_to_fp16(v);
      std::memcpy(&bytes[t.block_bytes * static_cast<size_t>(i) + static_cast<size_t>(off)], &h, 2);
    }
  }
  std::vector<float> y(static_cast<size_t>(t.block_elems * kBlocks));
  dequantize_row(type, bytes.data(), y.data(), t.block_elems * kBlocks);
  for (int i = 0; i < kBlocks; ++i) {
    const uint8_t* b = &bytes[t.block_bytes * static_cast<size_t>(i)];
    for (int e = 0; e < t.block_elems; ++e) {
      ASSERT_EQ(y[static_cast<size_t>(i * t.block_elems + e)], element(type, b, e))
          << ggml_type_name(type) << " block " << i << " element " << e;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Quant, DequantizeLayout,
    ::testing::Values(GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                      GgmlType::kQ8_0, GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K,
                      GgmlType::kQ5_K, GgmlType::kQ6_K),
    [](const auto& p) { return std::string(ggml_type_name(p.param)); });

}  // namespace
}  // namespace corral
