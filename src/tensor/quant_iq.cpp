// Dequantizers of the 4-bit table types: IQ4_NL, IQ4_XS (kIQ4Values) and MXFP4 (E2M1 values
// with an E8M0 block exponent). Each element is one float product of a block scale and a table
// value, computed as ggml computes it, so the results are bit-identical. MXFP4 also has a
// reference quantizer (for test models of gpt-oss's MXFP4 experts).
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "tensor/quant_blocks.h"
#include "tensor/quant_rows.h"

namespace corral::quant {
namespace {

// One 32-element group: 16 bytes of nibbles, element j low and j + 16 high.
inline void table_nibbles(const uint8_t* qs, float scale, const int8_t* values, float* y) {
  for (int j = 0; j < 16; ++j) {
    y[j] = scale * static_cast<float>(values[qs[j] & 0xF]);
    y[j + 16] = scale * static_cast<float>(values[qs[j] >> 4]);
  }
}

}  // namespace

// 2^(e - 128) as a float, for every byte e (the E8M0 exponent, halved: kMXFP4Values are doubled).
// e = 0 and 1 give the subnormals 2^-128 and 2^-127.
float mxfp4_half_scale(uint8_t e) {
  const uint32_t bits = e >= 2 ? static_cast<uint32_t>(e - 1) << 23 : 0x00200000u << e;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void dequantize_row_iq4_nl(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_NL*>(src);
  for (int64_t i = 0; i < n / kQK4_NL; ++i) table_nibbles(b[i].qs, fp16_to_f32(b[i].d), kIQ4Values, dst + i * kQK4_NL);
}

void dequantize_row_iq4_xs(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_XS*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int s = 0; s < 8; ++s) {
      const float dl = d * static_cast<float>(iq4_xs_scale(b[i], s));
      table_nibbles(b[i].qs + 16 * s, dl, kIQ4Values, dst + i * kQK_K + 32 * s);
    }
  }
}

void dequantize_row_mxfp4(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockMXFP4*>(src);
  for (int64_t i = 0; i < n / kQK_MXFP4; ++i)
    table_nibbles(b[i].qs, mxfp4_half_scale(b[i].e), kMXFP4Values, dst + i * kQK_MXFP4);
}

// MXFP4 as ggml's reference quantizer writes it: the block exponent puts the largest magnitude
// in [4, 8) times 2^(e - 127) (e = floor(log2(amax)) - 2 + 127), and each element takes the
// nearest of the 16 codes (the first on ties). An all-zero block stays all zero (e = 0).
void quantize_row_mxfp4(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockMXFP4*>(dst);
  for (int64_t i = 0; i < n / kQK_MXFP4; ++i) {
    const float* x = src + i * kQK_MXFP4;
    std::memset(&b[i], 0, sizeof(BlockMXFP4));
    float amax = 0.0f;
    for (int j = 0; j < kQK_MXFP4; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    if (amax == 0.0f) continue;
    const auto e = static_cast<uint8_t>(std::floor(std::log2(amax)) - 2 + 127);
    const float d = mxfp4_half_scale(e);
    auto nearest = [&](float v) {
      int best = 0;
      float err = std::fabs(v - d * static_cast<float>(kMXFP4Values[0]));
      for (int k = 1; k < 16; ++k) {
        const float ek = std::fabs(v - d * static_cast<float>(kMXFP4Values[k]));
        if (ek < err) err = ek, best = k;
      }
      return static_cast<uint8_t>(best);
    };
    b[i].e = e;
    for (int j = 0; j < kQK_MXFP4 / 2; ++j)
      b[i].qs[j] = static_cast<uint8_t>(nearest(x[j]) | (nearest(x[j + kQK_MXFP4 / 2]) << 4));
  }
}

}  // namespace corral::quant
