// Dequantizers of the lattice types (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M): each
// group of 8 (or 4) elements is a grid point of tensor/iq_grids.h, signed and scaled. Every
// element is computed with ggml's float operations in ggml's order, so the results are
// bit-identical to its dequantize_row_* (the sub-block scale first, then × grid, then × ±1).
#include <cstring>

#include "base/fp16.h"
#include "tensor/iq_grids.h"
#include "tensor/quant_blocks.h"
#include "tensor/quant_rows.h"

namespace corral::quant {
namespace {

inline uint8_t grid_byte(uint64_t entry, int j) { return static_cast<uint8_t>(entry >> (8 * j)); }

// 8 elements: scale × unsigned grid byte, negated where the sign byte's bit is set.
inline void signed_group8(uint64_t entry, uint8_t signs, float scale, float* y) {
  for (int j = 0; j < 8; ++j)
    y[j] = scale * static_cast<float>(grid_byte(entry, j)) * ((signs >> j) & 1 ? -1.0f : 1.0f);
}

// Two 4-element IQ3 grid points make one group of 8.
inline uint64_t join4(uint32_t lo, uint32_t hi) { return lo | static_cast<uint64_t>(hi) << 32; }

// IQ1: scale × (int8 grid value + delta).
inline void shifted_group8(uint64_t entry, float delta, float scale, float* y) {
  for (int j = 0; j < 8; ++j) y[j] = scale * (static_cast<float>(static_cast<int8_t>(grid_byte(entry, j))) + delta);
}

inline uint32_t load_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

void dequantize_row_iq2_xxs(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ2_XXS*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    const auto* q = reinterpret_cast<const uint8_t*>(b[i].qs);
    for (int s = 0; s < 8; ++s, dst += 32) {
      const uint32_t idx = load_u32(q + 8 * s), meta = load_u32(q + 8 * s + 4);
      const float db = d * (0.5f + static_cast<float>(meta >> 28)) * 0.25f;
      for (int l = 0; l < 4; ++l)
        signed_group8(kIQ2XXSGrid[(idx >> (8 * l)) & 0xFF], kIQSigns.v[(meta >> (7 * l)) & 127], db, dst + 8 * l);
    }
  }
}

void dequantize_row_iq2_xs(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ2_XS*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int s = 0; s < 8; ++s, dst += 32) {
      for (int l = 0; l < 4; ++l) {
        const int ls = (b[i].scales[s] >> (4 * (l / 2))) & 0xF;
        const float db = d * (0.5f + static_cast<float>(ls)) * 0.25f;
        const uint16_t q = b[i].qs[4 * s + l];
        signed_group8(kIQ2XSGrid[q & 511], kIQSigns.v[q >> 9], db, dst + 8 * l);
      }
    }
  }
}

void dequantize_row_iq2_s(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ2_S*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int s = 0; s < 8; ++s, dst += 32) {
      for (int l = 0; l < 4; ++l) {
        const int ls = (b[i].scales[s] >> (4 * (l / 2))) & 0xF;
        const float db = d * (0.5f + static_cast<float>(ls)) * 0.25f;
        const int idx = b[i].qs[4 * s + l] | (((b[i].qh[s] >> (2 * l)) & 3) << 8);
        signed_group8(kIQ2SGrid[idx], b[i].qs[32 + 4 * s + l], db, dst + 8 * l);
      }
    }
  }
}

void dequantize_row_iq3_xxs(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ3_XXS*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    const uint8_t* q = b[i].qs;
    for (int s = 0; s < 8; ++s, dst += 32) {
      const uint32_t meta = load_u32(q + 64 + 4 * s);
      const float db = d * (0.5f + static_cast<float>(meta >> 28)) * 0.5f;
      for (int l = 0; l < 4; ++l) {
        const uint64_t e = join4(kIQ3XXSGrid[q[8 * s + 2 * l]], kIQ3XXSGrid[q[8 * s + 2 * l + 1]]);
        signed_group8(e, kIQSigns.v[(meta >> (7 * l)) & 127], db, dst + 8 * l);
      }
    }
  }
}

void dequantize_row_iq3_s(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ3_S*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int s = 0; s < 8; ++s, dst += 32) {
      const int ls = (b[i].scales[s / 2] >> (4 * (s % 2))) & 0xF;
      const float db = d * static_cast<float>(1 + 2 * ls);
      const uint8_t* q = b[i].qs + 8 * s;
      const int h = b[i].qh[s];
      for (int l = 0; l < 4; ++l) {
        const int i0 = q[2 * l] | (((h >> (2 * l)) & 1) << 8);
        const int i1 = q[2 * l + 1] | (((h >> (2 * l + 1)) & 1) << 8);
        signed_group8(join4(kIQ3SGrid[i0], kIQ3SGrid[i1]), b[i].signs[4 * s + l], db, dst + 8 * l);
      }
    }
  }
}

void dequantize_row_iq1_s(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ1_S*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = fp16_to_f32(b[i].d);
    for (int s = 0; s < 8; ++s, dst += 32) {
      const int h = b[i].qh[s];
      const float dl = d * static_cast<float>(2 * ((h >> 12) & 7) + 1);
      const float delta = h & 0x8000 ? -kIQ1Delta : kIQ1Delta;
      for (int l = 0; l < 4; ++l)
        shifted_group8(kIQ1SGrid[b[i].qs[4 * s + l] | (((h >> (3 * l)) & 7) << 8)], delta, dl, dst + 8 * l);
    }
  }
}

// IQ1_M's fp16 block scale, gathered from the top nibbles of its four scale words.
uint16_t iq1_m_scale_bits(const uint8_t* scales) {
  uint16_t w[4];
  std::memcpy(w, scales, 8);
  return static_cast<uint16_t>((w[0] >> 12) | ((w[1] >> 8) & 0x00F0) | ((w[2] >> 4) & 0x0F00) | (w[3] & 0xF000));
}

void dequantize_row_iq1_m(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ1_M*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint16_t w[4];
    std::memcpy(w, b[i].scales, 8);
    const float d = fp16_to_f32(iq1_m_scale_bits(b[i].scales));
    for (int s = 0; s < 8; ++s, dst += 32) {
      for (int l = 0; l < 4; ++l) {
        const int ls = (w[s / 2] >> (6 * (s % 2) + 3 * (l / 2))) & 7;
        const float dl = d * static_cast<float>(2 * ls + 1);
        const int nib = (b[i].qh[2 * s + l / 2] >> (4 * (l % 2))) & 0xF;
        const float delta = nib & 8 ? -kIQ1Delta : kIQ1Delta;
        shifted_group8(kIQ1SGrid[b[i].qs[4 * s + l] | ((nib & 7) << 8)], delta, dl, dst + 8 * l);
      }
    }
  }
}

}  // namespace corral::quant
