// The x86 kernels built for AVX2 + FMA + F16C: 8-bit dot products as maddubs + madd.
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include <type_traits>

#include "gguf/ggml_type.h"
#include "kernels/kernel_abi.h"
#include "kernels/ops.h"
#include "kernels/x86/x86_tables.h"
#include "tensor/iq_grids.h"
#include "tensor/quant_blocks.h"

namespace corral::avx2 {

// Σ of the four u8·s8 products per 32-bit lane. maddubs saturates at 16 bits, which the codes
// here never reach: |w| <= 128 (Q8_0 magnitude) or <= 63, |a| <= 127, so a pair is <= 32512.
inline __m256i dot_u8s8(__m256i w, __m256i a) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1));
}
// Per-16-byte-half scales in the form dot_u8s8_scaled multiplies by.
inline __m256i scale_pair(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<short>(hi)), _mm_set1_epi16(static_cast<short>(lo)));
}
inline __m256i dot_u8s8_scaled(__m256i w, __m256i a, __m256i scales) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), scales);
}

#include "kernels/x86/kernels_x86.inc"

}  // namespace corral::avx2

namespace corral {

const KernelTable* avx2_kernel_table() {
  static const KernelTable table = avx2::make_table("avx2");
  return &table;
}

}  // namespace corral
