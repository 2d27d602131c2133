// The x86 kernels built for AVX-512 (F/BW/VL) with VNNI: 8-bit dot products as vpdpbusd on
// 256-bit vectors. Integer results equal the AVX2 ones exactly (no saturation on either path).
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include <type_traits>

#include "gguf/ggml_type.h"
#include "kernels/kernel_abi.h"
#include "kernels/x86/x86_tables.h"
#include "tensor/iq_grids.h"
#include "tensor/quant_blocks.h"

namespace corral::avx512 {

inline __m256i dot_u8s8(__m256i w, __m256i a) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, a);
}
inline __m256i scale_pair(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi32(hi), _mm_set1_epi32(lo));
}
inline __m256i dot_u8s8_scaled(__m256i w, __m256i a, __m256i scales) {
  return _mm256_mullo_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), w, a), scales);
}

#include "kernels/x86/kernels_x86.inc"

}  // namespace corral::avx512

namespace corral {

const KernelTable* avx512_kernel_table() {
  static const KernelTable table = avx512::make_table("avx512");
  return &table;
}

}  // namespace corral
