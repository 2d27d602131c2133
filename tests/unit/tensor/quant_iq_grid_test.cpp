// The lattice tables of tensor/iq_grids.h against properties of the format definitions (value
// sets, distinct sorted entries, the sign parity rule), plus a digest of each table so that an
// edit of one entry is caught; and small hand-built blocks whose dequantization follows from the
// layout comments of tensor/quant_blocks.h. (Bit-identity with ggml on real and random blocks is
// in quant_iq_test.cpp.)
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "base/fp16.h"
#include "tensor/iq_grids.h"
#include "tensor/quant.h"
#include "tensor/quant_blocks.h"

namespace corral {
namespace {

using namespace quant;  // NOLINT: the tables under test

template <class T>
uint64_t fnv1a(const T* v, int n) {
  uint64_t h = 1469598103934665603ull;
  const auto* p = reinterpret_cast<const uint8_t*>(v);
  for (size_t i = 0; i < n * sizeof(T); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

template <class T>
void check_grid(const T* grid, int n, int elems, std::set<int> values, bool is_signed) {
  std::set<uint64_t> seen;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < elems; ++j) {
      const int b = static_cast<int>((grid[i] >> (8 * j)) & 0xFF);
      EXPECT_TRUE(values.count(is_signed ? static_cast<int8_t>(b) : b)) << i << " " << j;
    }
    seen.insert(grid[i]);
    if (i == 0) continue;
    // Sorted as numbers written with element elems-1 as the most significant digit.
    bool less = false;
    for (int j = elems - 1; j >= 0; --j) {
      const int a = static_cast<int>((grid[i - 1] >> (8 * j)) & 0xFF), b = static_cast<int>((grid[i] >> (8 * j)) & 0xFF);
      const int sa = is_signed ? static_cast<int8_t>(a) : a, sb = is_signed ? static_cast<int8_t>(b) : b;
      if (sa != sb) {
        less = sa < sb;
        break;
      }
    }
    EXPECT_TRUE(less) << "entry " << i << " is not above entry " << i - 1;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(n));
}

TEST(IQGrids, IQ2ValueSetsOrderAndDigests) {
  check_grid(kIQ2XXSGrid, 256, 8, {8, 25, 43}, false);
  check_grid(kIQ2XSGrid, 512, 8, {8, 25, 43}, false);
  check_grid(kIQ2SGrid, 1024, 8, {8, 25, 43}, false);
  EXPECT_EQ(fnv1a(kIQ2XXSGrid, 256), 0x5bd45ef8a547a7e8ull) << std::hex << fnv1a(kIQ2XXSGrid, 256);
  EXPECT_EQ(fnv1a(kIQ2XSGrid, 512), 0xa3e52388268ca2a3ull) << std::hex << fnv1a(kIQ2XSGrid, 512);
  EXPECT_EQ(fnv1a(kIQ2SGrid, 1024), 0xcdb5ae5bcfe7fb32ull) << std::hex << fnv1a(kIQ2SGrid, 1024);
}

TEST(IQGrids, IQ3ValueSetsOrderAndDigests) {
  check_grid(kIQ3XXSGrid, 256, 4, {4, 12, 20, 28, 36, 44, 52, 62}, false);
  check_grid(kIQ3SGrid, 512, 4, {1, 3, 5, 7, 9, 11, 13, 15}, false);
  EXPECT_EQ(fnv1a(kIQ3XXSGrid, 256), 0x2748ed45beb63233ull) << std::hex << fnv1a(kIQ3XXSGrid, 256);
  EXPECT_EQ(fnv1a(kIQ3SGrid, 512), 0x5f1781aa06d14fbfull) << std::hex << fnv1a(kIQ3SGrid, 512);
}

TEST(IQGrids, IQ1ValueSetOrderAndDigest) {
  check_grid(kIQ1SGrid, 2048, 8, {-1, 0, 1}, true);
  EXPECT_EQ(fnv1a(kIQ1SGrid, 2048), 0x31aaba1fc89a41d0ull) << std::hex << fnv1a(kIQ1SGrid, 2048);
}

TEST(IQGrids, SignBytesHaveEvenParity) {
  for (int s = 0; s < 128; ++s) {
    EXPECT_EQ(kIQSigns.v[s] & 127, s);
    EXPECT_EQ(__builtin_popcount(kIQSigns.v[s]) % 2, 0) << s;
  }
}

TEST(IQGrids, SignBytesAsPlusMinusOnes) {
  for (int s = 0; s < 256; ++s)
    for (int j = 0; j < 8; ++j)
      EXPECT_EQ(static_cast<int8_t>(kIQSignsPm1.v[s] >> (8 * j)), (s >> j) & 1 ? -1 : 1) << s << " " << j;
}

TEST(IQTypes, NamesAndBlockSizesAsGgmlPrintsThem) {
  struct Row {
    GgmlType type;
    const char* name;
    size_t bytes;  // per 256 elements
  };
  for (const Row& r : {Row{GgmlType::kIQ2_XXS, "iq2_xxs", 66}, Row{GgmlType::kIQ2_XS, "iq2_xs", 74},
                       Row{GgmlType::kIQ2_S, "iq2_s", 82}, Row{GgmlType::kIQ3_XXS, "iq3_xxs", 98},
                       Row{GgmlType::kIQ3_S, "iq3_s", 110}, Row{GgmlType::kIQ1_S, "iq1_s", 50},
                       Row{GgmlType::kIQ1_M, "iq1_m", 56}}) {
    const GgmlTypeInfo& info = ggml_type_info(r.type);
    EXPECT_EQ(info.name, r.name);
    EXPECT_EQ(info.block_elems, 256);
    EXPECT_EQ(info.block_bytes, r.bytes) << r.name;
    EXPECT_TRUE(info.compute_supported) << r.name;
    EXPECT_EQ(ggml_row_bytes(r.type, 2048), 8 * r.bytes);
  }
}

TEST(DequantizeKnown, IQ2_XXSGroupScaleAndSigns) {
  BlockIQ2_XXS b{};
  b.d = f32_to_fp16(2.0f);
  // sub-block 1: group l uses grid entry 10 + l, signs 0b0000101 on group 2, scale ls = 3
  auto* q = reinterpret_cast<uint8_t*>(b.qs) + 8;
  for (int l = 0; l < 4; ++l) q[l] = static_cast<uint8_t>(10 + l);
  const uint32_t meta = (5u << 14) | (3u << 28);
  std::memcpy(q + 4, &meta, 4);
  float y[256];
  dequantize_row(GgmlType::kIQ2_XXS, &b, y, 256);
  const float db = 2.0f * 3.5f * 0.25f;
  for (int l = 0; l < 4; ++l)
    for (int j = 0; j < 8; ++j) {
      const float g = static_cast<float>((kIQ2XXSGrid[10 + l] >> (8 * j)) & 0xFF);
      const bool neg = l == 2 && (j == 0 || j == 2);  // 0b101 has two bits: parity bit stays 0
      EXPECT_EQ(y[32 + 8 * l + j], neg ? -db * g : db * g) << l << " " << j;
    }
  // sub-block 0: index 0 (all 8s), scale 0 -> d * 0.5 / 4 * 8 = 2
  EXPECT_EQ(y[0], 2.0f);
}

TEST(DequantizeKnown, IQ1_MScaleFromTopNibbles) {
  BlockIQ1_M b{};
  const uint16_t half = f32_to_fp16(0.75f);
  uint16_t w[4];
  for (int k = 0; k < 4; ++k) w[k] = static_cast<uint16_t>(((half >> (4 * k)) & 0xF) << 12);
  w[0] = static_cast<uint16_t>(w[0] | 2);  // sub-block 0, groups 0-1: ls = 2 -> factor 5
  std::memcpy(b.scales, w, 8);
  b.qh[0] = 0x08;  // group 0: negative delta; group 1: positive
  float y[256];
  dequantize_row(GgmlType::kIQ1_M, &b, y, 256);
  const float g0 = static_cast<float>(static_cast<int8_t>(kIQ1SGrid[0] & 0xFF));
  EXPECT_EQ(y[0], 0.75f * 5.0f * (g0 - kIQ1Delta));
  EXPECT_EQ(y[8], 0.75f * 5.0f * (g0 + kIQ1Delta));
  EXPECT_EQ(y[16], 0.75f * 1.0f * (g0 + kIQ1Delta));  // groups 2-3: ls = 0
}

}  // namespace
}  // namespace corral
