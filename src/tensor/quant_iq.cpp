// Dequantizers of the 4-bit table types: IQ4_NL, IQ4_XS (kIQ4Values) and MXFP4 (E2M1 values
// with an E8M0 block exponent). Each element is one float product of a block scale and a table
// value, computed as ggml computes it, so the results are bit-identical.
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

}  // namespace corral::quant
