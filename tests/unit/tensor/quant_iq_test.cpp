// IQ4_NL, IQ4_XS, MXFP4 and the lattice types (IQ1/IQ2/IQ3): the value tables against properties of their format definitions, and
// the dequantizers bit for bit against ggml's on the blocks of tests/testdata/iq (random floats
// quantized by each reference engine, and random block bytes; see that folder's README).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "tensor/quant.h"
#include "tensor/quant_blocks.h"

namespace corral {
namespace {

const std::string kData = CORRAL_SOURCE_DIR "/tests/testdata/iq/";

TEST(IQ4Values, IncreasingAndDensestNearZero) {
  EXPECT_EQ(kIQ4Values[0], -127);  // the scale maps the largest magnitude to ±127 (int8 range)
  for (int i = 1; i < 16; ++i) EXPECT_LT(kIQ4Values[i - 1], kIQ4Values[i]) << i;
  // 8 codes below zero and 8 above, the smallest positive value close to zero
  EXPECT_LT(kIQ4Values[7], 0);
  EXPECT_GT(kIQ4Values[8], 0);
  EXPECT_LE(kIQ4Values[8] - 0, 2);
  // Gaps shrink towards the middle and grow towards both ends (a grid fitted to a bell curve).
  int gap[16] = {};
  int at = 1;  // index of the smallest gap
  for (int i = 1; i < 16; ++i) {
    gap[i] = kIQ4Values[i] - kIQ4Values[i - 1];
    if (gap[i] < gap[at]) at = i;
  }
  EXPECT_EQ(at, 8);  // the gap that straddles zero
  for (int i = 2; i <= at; ++i) EXPECT_LE(gap[i], gap[i - 1]) << i;
  for (int i = at + 1; i < 16; ++i) EXPECT_GE(gap[i], gap[i - 1]) << i;
  // Nearly symmetric: each value and its mirror differ by less than one smallest gap.
  for (int i = 0; i < 8; ++i) EXPECT_LE(std::abs(kIQ4Values[i] + kIQ4Values[15 - i]), 15) << i;
}

TEST(MXFP4Values, AreDoubledE2M1) {
  // E2M1 (OCP Microscaling formats v1.0): bit 3 sign, bits 2-1 exponent (bias 1), bit 0 mantissa;
  // exponent 0 is subnormal (0.5 * m).
  for (int code = 0; code < 16; ++code) {
    const int s = code >> 3, e = (code >> 1) & 3, m = code & 1;
    const double mag = e == 0 ? 0.5 * m : std::ldexp(1.0 + 0.5 * m, e - 1);
    EXPECT_EQ(static_cast<double>(kMXFP4Values[code]), 2.0 * (s ? -mag : mag)) << code;
  }
}

TEST(MXFP4Scale, IsPowerOfTwoForEveryByte) {
  BlockMXFP4 b{};
  std::memset(b.qs, 0x22, sizeof(b.qs));  // code 2: E2M1 1.0, so x = 2^(e - 127)
  float y[32];
  for (int e = 0; e < 256; ++e) {
    b.e = static_cast<uint8_t>(e);
    dequantize_row(GgmlType::kMXFP4, &b, y, 32);
    EXPECT_EQ(y[0], std::ldexp(1.0f, e - 127)) << e;
    EXPECT_EQ(y[31], y[0]);
  }
}

TEST(DequantizeKnown, IQ4_XSScalesPerSubBlock) {
  BlockIQ4_XS b{};
  b.d = f32_to_fp16(0.5f);
  // sub-block s gets ls = 32 + s - 4 (low 4 bits in scales_l, high 2 in scales_h)
  for (int s = 0; s < 8; ++s) {
    const int ls = 28 + s;
    b.scales_l[s / 2] = static_cast<uint8_t>(b.scales_l[s / 2] | ((ls & 15) << (4 * (s % 2))));
    b.scales_h = static_cast<uint16_t>(b.scales_h | ((ls >> 4) << (2 * s)));
  }
  for (int j = 0; j < 128; ++j) b.qs[j] = static_cast<uint8_t>((j % 16) | (15 - j % 16) << 4);
  float y[256];
  dequantize_row(GgmlType::kIQ4_XS, &b, y, 256);
  for (int s = 0; s < 8; ++s) {
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(y[32 * s + j], 0.5f * static_cast<float>(s - 4) * kIQ4Values[j]) << s << " " << j;
      EXPECT_EQ(y[32 * s + 16 + j], 0.5f * static_cast<float>(s - 4) * kIQ4Values[15 - j]) << s << " " << j;
    }
  }
}

// A data file: u32 rows, u32 cols, rows * row_bytes block bytes, rows * cols floats (ggml's).
struct RefFile {
  uint32_t rows = 0, cols = 0;
  std::vector<uint8_t> blocks;
  std::vector<float> floats;
};

RefFile read_ref(const std::string& name, GgmlType type) {
  RefFile f;
  FILE* fp = std::fopen((kData + name).c_str(), "rb");
  if (fp == nullptr) return f;
  if (std::fread(&f.rows, 4, 1, fp) == 1 && std::fread(&f.cols, 4, 1, fp) == 1) {
    f.blocks.resize(ggml_row_bytes(type, f.cols) * f.rows);
    f.floats.resize(static_cast<size_t>(f.rows) * f.cols);
    const bool ok = std::fread(f.blocks.data(), 1, f.blocks.size(), fp) == f.blocks.size() &&
                    std::fread(f.floats.data(), 4, f.floats.size(), fp) == f.floats.size() && std::fgetc(fp) == EOF;
    if (!ok) f.rows = 0;
  }
  std::fclose(fp);
  return f;
}

struct RefCase {
  const char* file;
  GgmlType type;
};

class DequantizeMatchesGgml : public ::testing::TestWithParam<RefCase> {};

TEST_P(DequantizeMatchesGgml, BitIdentical) {
  const RefCase& c = GetParam();
  const RefFile f = read_ref(c.file, c.type);
  ASSERT_GT(f.rows, 0u) << c.file;
  const size_t row_bytes = ggml_row_bytes(c.type, f.cols);
  std::vector<float> got(f.cols);
  size_t mismatches = 0;
  for (uint32_t r = 0; r < f.rows; ++r) {
    dequantize_row(c.type, &f.blocks[r * row_bytes], got.data(), f.cols);
    mismatches += std::memcmp(got.data(), &f.floats[static_cast<size_t>(r) * f.cols], f.cols * sizeof(float)) != 0;
  }
  EXPECT_EQ(mismatches, 0u) << c.file;
  const int64_t blocks = static_cast<int64_t>(f.rows) * f.cols / ggml_type_info(c.type).block_elems;
  std::printf("  %s: %lld blocks, %u rows bit-identical\n", c.file, static_cast<long long>(blocks), f.rows);
}

// MXFP4's reference quantizer against ik_llama.cpp's: requantizing the values of blocks its
// quantizer wrote gives back the same bytes (each block's largest magnitude sits at code 4 or 6,
// so the exponent is found again, and every value is exactly a code).
TEST(QuantizeMXFP4, ReproducesIkBlocks) {
  const RefFile f = read_ref("ik-mxfp4-quantized.bin", GgmlType::kMXFP4);
  ASSERT_GT(f.rows, 0u);
  const size_t row_bytes = ggml_row_bytes(GgmlType::kMXFP4, f.cols);
  std::vector<float> values(f.cols);
  std::vector<uint8_t> again(row_bytes);
  size_t mismatches = 0;
  for (uint32_t r = 0; r < f.rows; ++r) {
    dequantize_row(GgmlType::kMXFP4, &f.blocks[r * row_bytes], values.data(), f.cols);
    quantize_row(GgmlType::kMXFP4, values.data(), again.data(), f.cols);
    mismatches += std::memcmp(again.data(), &f.blocks[r * row_bytes], row_bytes) != 0;
  }
  EXPECT_EQ(mismatches, 0u);
  // And a known block: amax 5 gives e = floor(log2 5) - 2 + 127 = 127 (scale 1), 5 -> 4 or 6
  // (a tie: the first code, 4), 0.2 -> 0, -0.8 -> -1, 2.6 -> 3.
  float x[32] = {5.0f, 0.2f, -0.8f, 2.6f};
  BlockMXFP4 b{};
  quantize_row(GgmlType::kMXFP4, x, &b, 32);
  EXPECT_EQ(b.e, 127);
  EXPECT_EQ(b.qs[0] & 0xF, 6);   // 4.0 = kMXFP4Values[6] / 2
  EXPECT_EQ(b.qs[1] & 0xF, 0);
  EXPECT_EQ(b.qs[2] & 0xF, 10);  // -1.0
  EXPECT_EQ(b.qs[3] & 0xF, 5);   // 3.0
}

INSTANTIATE_TEST_SUITE_P(
    Files, DequantizeMatchesGgml,
    ::testing::Values(RefCase{"mainline-iq4_nl-quantized.bin", GgmlType::kIQ4_NL},
                      RefCase{"ik-iq4_nl-quantized.bin", GgmlType::kIQ4_NL},
                      RefCase{"mainline-iq4_nl-random.bin", GgmlType::kIQ4_NL},
                      RefCase{"mainline-iq4_xs-quantized.bin", GgmlType::kIQ4_XS},
                      RefCase{"ik-iq4_xs-quantized.bin", GgmlType::kIQ4_XS},
                      RefCase{"mainline-iq4_xs-random.bin", GgmlType::kIQ4_XS},
                      RefCase{"ik-mxfp4-quantized.bin", GgmlType::kMXFP4},
                      RefCase{"ik-mxfp4-random.bin", GgmlType::kMXFP4},
                      RefCase{"mainline-iq2_xxs-quantized.bin", GgmlType::kIQ2_XXS},
                      RefCase{"mainline-iq2_xxs-random.bin", GgmlType::kIQ2_XXS},
                      RefCase{"mainline-iq2_xs-quantized.bin", GgmlType::kIQ2_XS},
                      RefCase{"mainline-iq2_xs-random.bin", GgmlType::kIQ2_XS},
                      RefCase{"mainline-iq2_s-quantized.bin", GgmlType::kIQ2_S},
                      RefCase{"mainline-iq2_s-random.bin", GgmlType::kIQ2_S},
                      RefCase{"mainline-iq3_xxs-quantized.bin", GgmlType::kIQ3_XXS},
                      RefCase{"mainline-iq3_xxs-random.bin", GgmlType::kIQ3_XXS},
                      RefCase{"mainline-iq3_s-quantized.bin", GgmlType::kIQ3_S},
                      RefCase{"mainline-iq3_s-random.bin", GgmlType::kIQ3_S},
                      RefCase{"mainline-iq1_s-quantized.bin", GgmlType::kIQ1_S},
                      RefCase{"mainline-iq1_s-random.bin", GgmlType::kIQ1_S},
                      RefCase{"mainline-iq1_m-quantized.bin", GgmlType::kIQ1_M},
                      RefCase{"mainline-iq1_m-random.bin", GgmlType::kIQ1_M}),
    [](const auto& p) {
      std::string s = p.param.file;
      for (char& ch : s)
        if (ch == '-' || ch == '.') ch = '_';
      return s;
    });

}  // namespace
}  // namespace corral
