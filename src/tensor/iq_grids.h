// The lattice tables of the IQ1/IQ2/IQ3 types (format data, iq1/iq2/iq3_grids.cpp) and the sign code
// they share. An entry packs one grid point: byte j is element j (unsigned magnitudes for IQ2 and
// IQ3, int8 -1/0/+1 for IQ1). Plain data only, so that the ISA units may read it too.
#pragma once

#include <cstdint>

namespace corral::quant {

extern const uint64_t kIQ2XXSGrid[256];   // 8 elements from {8, 25, 43}
extern const uint64_t kIQ2XSGrid[512];    // 8 elements from {8, 25, 43}
extern const uint64_t kIQ2SGrid[1024];    // 8 elements from {8, 25, 43}
extern const uint32_t kIQ3XXSGrid[256];   // 4 elements from {4, 12, ..., 62}
extern const uint32_t kIQ3SGrid[512];     // 4 odd elements from 1..15
extern const uint64_t kIQ1SGrid[2048];    // 8 elements from {-1, 0, 1}; IQ1_S and IQ1_M

// IQ2_XXS, IQ2_XS and IQ3_XXS store 7 sign bits per 8 elements: the eighth makes the number of
// minus signs even. kIQSigns[s] is the full sign byte (bit j set: element j negative).
struct IQSignTable {
  uint8_t v[128];
};
inline constexpr IQSignTable kIQSigns = [] {
  IQSignTable t{};
  for (int s = 0; s < 128; ++s) {
    int ones = 0;
    for (int b = 0; b < 7; ++b) ones += (s >> b) & 1;
    t.v[s] = static_cast<uint8_t>(s | ((ones & 1) << 7));
  }
  return t;
}();

// A whole sign byte as 8 bytes of ±1 (byte j = -1 where bit j is set), for vector kernels that
// put the signs on the activations with one multiply-by-sign.
struct IQSignsPm1Table {
  uint64_t v[256];
};
inline constexpr IQSignsPm1Table kIQSignsPm1 = [] {
  IQSignsPm1Table t{};
  for (int s = 0; s < 256; ++s)
    for (int j = 0; j < 8; ++j) t.v[s] |= static_cast<uint64_t>((s >> j) & 1 ? 0xFF : 0x01) << (8 * j);
  return t;
}();

// IQ1_S / IQ1_M: each group of 8 is shifted by ±kIQ1Delta before scaling.
inline constexpr float kIQ1Delta = 0.125f;

}  // namespace corral::quant
