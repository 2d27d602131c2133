// The GGUF quant block structs, byte-for-byte as ggml-common.h lays them out (QK_K = 256).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace corral {

// Multi-byte fields (fp16 scales, Q5 high-bit words) are read as little-endian, like GGUF.
static_assert(std::endian::native == std::endian::little, "corral assumes a little-endian host");

inline constexpr int kQK4_0 = 32;
inline constexpr int kQK4_1 = 32;
inline constexpr int kQK5_0 = 32;
inline constexpr int kQK5_1 = 32;
inline constexpr int kQK8_0 = 32;
inline constexpr int kQK4_NL = 32;
inline constexpr int kQK_MXFP4 = 32;
inline constexpr int kQK_K = 256;
inline constexpr int kKScaleBytes = 12;  // packed 6-bit scales and mins of Q4_K / Q5_K

// Raw IEEE half bits; convert with fp16_to_f32 / f32_to_fp16 from base/fp16.h.
using Half = uint16_t;

// x = d * (q - 8), q in 0..15; qs[j] holds element j (low nibble) and j + 16 (high nibble).
struct BlockQ4_0 {
  Half d;
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// x = d * q + m, q in 0..15; nibble order as Q4_0.
struct BlockQ4_1 {
  Half d;
  Half m;
  uint8_t qs[kQK4_1 / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// x = d * (q - 16), q in 0..31; low 4 bits as Q4_0, bit 4 of element j is bit j of qh (LE u32).
struct BlockQ5_0 {
  Half d;
  uint8_t qh[4];
  uint8_t qs[kQK5_0 / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

// x = d * q + m, q in 0..31; bits as Q5_0.
struct BlockQ5_1 {
  Half d;
  Half m;
  uint8_t qh[4];
  uint8_t qs[kQK5_1 / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

// x = d * q, q in -128..127 (the reference quantizer uses -127..127).
struct BlockQ8_0 {
  Half d;
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

// 16 sub-blocks of 16: x = d * (scales[s] & 15) * q - dmin * (scales[s] >> 4), q in 0..3.
// qs: for each half of 128, byte l (0..31) holds 2-bit q of elements l, l+32, l+64, l+96
// (bits 0-1, 2-3, 4-5, 6-7).
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  Half d;
  Half dmin;
};
static_assert(sizeof(BlockQ2_K) == 84);

// 16 sub-blocks of 16: x = d * (s - 32) * (q - 4 * !hbit), s 6 bits packed in 12 bytes, q low
// 2 bits packed as Q2_K, high bit of element j in hmask[j % 32] bit (j / 32).
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  Half d;
};
static_assert(sizeof(BlockQ3_K) == 110);

// 8 sub-blocks of 32: x = d * sc * q - dmin * m, 6-bit sc/m packed in scales (get_scale_min_k4),
// q in 0..15; each 64-element chunk uses 32 bytes: low nibbles first 32, high nibbles next 32.
struct BlockQ4_K {
  Half d;
  Half dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// As Q4_K with a fifth bit: chunk c (0..3) takes bit 2c (first 32) and 2c+1 (next 32) of qh[l].
struct BlockQ5_K {
  Half d;
  Half dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// 16 sub-blocks of 16: x = d * scales[s] * (q - 32), q 6 bits: 4 low bits in ql, 2 high in qh.
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  Half d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// ---- non-linear 4-bit types: a 4-bit code indexes a table of 16 values -----------------------

// The 16 values of IQ4_NL and IQ4_XS codes (int8, as the GGUF format defines them): a
// non-uniform grid, densest near zero, fitted to bell-shaped weights. Format data, checked by
// tests/unit/tensor/quant_iq_test.cpp (increasing, gaps shrinking towards zero, endpoints).
inline constexpr int8_t kIQ4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};

// MXFP4 codes are OCP Microscaling E2M1 numbers (sign, 2 exponent bits, 1 mantissa bit:
// ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}), stored here doubled so that they are integers; the block
// scale is halved to match: 2^(e - 128). Checked against the E2M1 bit definition in tests.
inline constexpr int8_t kMXFP4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// x = d * kIQ4Values[q]; nibble order as Q4_0 (qs[j]: element j low, j + 16 high).
struct BlockIQ4_NL {
  Half d;
  uint8_t qs[kQK4_NL / 2];
};
static_assert(sizeof(BlockIQ4_NL) == 18);

// 8 sub-blocks of 32: x = d * (ls - 32) * kIQ4Values[q], ls 6 bits: low 4 in scales_l[s / 2]
// (nibble s % 2), high 2 in scales_h bits 2s..2s+1 (LE u16). Sub-block s's codes are
// qs[16s .. 16s+15], nibble order as IQ4_NL.
struct BlockIQ4_XS {
  Half d;
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockIQ4_XS) == 136);

// x = 2^(e - 127) * E2M1(q) = 2^(e - 128) * kMXFP4Values[q]; e is an E8M0 exponent byte
// (ggml uses all 256 values, 255 included, as powers of two). Nibble order as Q4_0.
struct BlockMXFP4 {
  uint8_t e;
  uint8_t qs[kQK_MXFP4 / 2];
};
static_assert(sizeof(BlockMXFP4) == 17);

// ---- lattice types: 8 (IQ2, IQ1) or 4 (IQ3) elements per grid index (tensor/iq_grids.h) ------
// Each 256-element block has 8 sub-blocks of 32 = 4 groups of 8.

// Per sub-block s: 4 bytes of grid indices (kIQ2XXSGrid), then a word whose bits 7l..7l+6 are
// group l's signs (kIQSigns) and bits 28..31 the scale ls: x = d * (0.5 + ls) / 4 * grid * sign.
struct BlockIQ2_XXS {
  Half d;
  uint16_t qs[kQK_K / 8];
};
static_assert(sizeof(BlockIQ2_XXS) == 66);

// qs[4s + l]: group l's 9-bit index (kIQ2XSGrid) and 7 sign bits above it; scales[s]: 4-bit
// scales of groups 0-1 (low nibble) and 2-3 (high): x = d * (0.5 + ls) / 4 * grid * sign.
struct BlockIQ2_XS {
  Half d;
  uint16_t qs[kQK_K / 8];
  uint8_t scales[kQK_K / 32];
};
static_assert(sizeof(BlockIQ2_XS) == 74);

// qs[4s + l] with bits 2l..2l+1 of qh[s] above it index kIQ2SGrid; the sign bytes (all 8 bits
// stored) follow at qs[32 + 4s + l]; scales as IQ2_XS.
struct BlockIQ2_S {
  Half d;
  uint8_t qs[kQK_K / 4];
  uint8_t qh[kQK_K / 32];
  uint8_t scales[kQK_K / 32];
};
static_assert(sizeof(BlockIQ2_S) == 82);

// qs[8s + 2l], qs[8s + 2l + 1]: kIQ3XXSGrid indices of group l's halves; then per sub-block a
// word as IQ2_XXS's second one (7 sign bits per group, scale in bits 28..31):
// x = d * (0.5 + ls) / 2 * grid * sign.
struct BlockIQ3_XXS {
  Half d;
  uint8_t qs[3 * kQK_K / 8];
};
static_assert(sizeof(BlockIQ3_XXS) == 98);

// 9-bit kIQ3SGrid indices: qs[8s + k] with bit k of qh[s] above; signs[4s + l] whole bytes;
// scales[s / 2] nibble s % 2: x = d * (1 + 2 ls) * grid * sign.
struct BlockIQ3_S {
  Half d;
  uint8_t qs[kQK_K / 4];
  uint8_t qh[kQK_K / 32];
  uint8_t signs[kQK_K / 8];
  uint8_t scales[kQK_K / 64];
};
static_assert(sizeof(BlockIQ3_S) == 110);

// 11-bit kIQ1SGrid indices: qs[4s + l] with bits 3l..3l+2 of qh[s] above; qh[s] bits 12..14 are
// the scale ls, bit 15 the sign of the delta: x = d * (2 ls + 1) * (grid ± kIQ1Delta).
struct BlockIQ1_S {
  Half d;
  uint8_t qs[kQK_K / 8];
  uint16_t qh[kQK_K / 32];
};
static_assert(sizeof(BlockIQ1_S) == 50);

// IQ1_M: no block-wide field; the fp16 scale's 16 bits are the top nibbles of the four LE u16
// words of `scales` (word k gives bits 4k..4k+3). The rest of word s / 2 holds 3-bit scales:
// bits 6(s%2)..+2 for groups 0-1 of sub-block s, bits 6(s%2)+3..+2 for groups 2-3. Group l's
// index: qs[4s + l] with 3 bits of qh[2s + l / 2] (low nibble for even l, high for odd) above;
// bit 3 of that nibble is the sign of its delta: x = d * (2 ls + 1) * (grid ± kIQ1Delta).
struct BlockIQ1_M {
  uint8_t qs[kQK_K / 8];
  uint8_t qh[kQK_K / 16];
  uint8_t scales[kQK_K / 32];
};
static_assert(sizeof(BlockIQ1_M) == 56);

// IQ4_XS: the 6-bit scale of sub-block s (0..7), minus its offset 32.
// (Not for the ISA units: they must not instantiate shared inline code, see kernels/x86/README.md.)
inline int iq4_xs_scale(const BlockIQ4_XS& b, int s) {
  const int lo = (b.scales_l[s / 2] >> (4 * (s % 2))) & 0xF;
  const int hi = (b.scales_h >> (2 * s)) & 3;
  return (lo | (hi << 4)) - 32;
}

// Q4_K / Q5_K: the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes.
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = static_cast<uint8_t>(q[j] & 63);
    *m = static_cast<uint8_t>(q[j + 4] & 63);
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

}  // namespace corral
