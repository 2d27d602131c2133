// The x86 kernels built for AVX-512 (F/BW/VL) with VNNI: 8-bit dot products as vpdpbusd on
// 256-bit vectors. Integer results equal the AVX2 ones exactly (no saturation on either path).
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
#include "kernels/x86/avx512/zmm_common.inc"
#include "kernels/x86/avx512/rows8_zmm.inc"
#include "kernels/x86/avx512/rows8_zmm_k.inc"

// The int8 peak with the widest vpdpbusd (512 bits): the kernels above use 256-bit vectors, but
// a CPU with 512-bit units (Zen 4/5, Intel) retires twice the multiply-adds per instruction, and
// `corral bench` reports prompt speed as a fraction of what the CPU can do, not of what the
// current kernels do. Same six chains as int8_peak on 64 bytes each.
constexpr int64_t kZmmPeakMaddsPerIter = 6 * 64;

int64_t int8_peak_zmm(int64_t iters) {
  __m512i w0 = _mm512_set1_epi8(1), w1 = _mm512_set1_epi8(2), w2 = _mm512_set1_epi8(3);
  __m512i x0 = _mm512_set1_epi8(static_cast<char>((iters & 1) + 1)), x1 = _mm512_set1_epi8(5);
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  for (int64_t it = 0; it < iters; ++it) {
    __asm__ volatile("" : "+v"(w0), "+v"(w1), "+v"(w2), "+v"(x0), "+v"(x1));
    a0 = _mm512_dpbusd_epi32(a0, w0, x0);
    a1 = _mm512_dpbusd_epi32(a1, w1, x0);
    a2 = _mm512_dpbusd_epi32(a2, w2, x0);
    a3 = _mm512_dpbusd_epi32(a3, w0, x1);
    a4 = _mm512_dpbusd_epi32(a4, w1, x1);
    a5 = _mm512_dpbusd_epi32(a5, w2, x1);
  }
  const __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                                     _mm512_add_epi32(a4, a5));
  alignas(64) int32_t lanes[16];  // (GCC 12's _mm512_reduce_add_epi32 trips -Wuninitialized)
  _mm512_store_si512(lanes, s);
  int64_t sum = 0;
  for (int32_t v : lanes) sum += v;
  return sum;
}

// A batch of fewer than 8 tokens (a decode step of 2..7 streams) streams the weights from memory
// once, and there the 256-bit kernels ran faster than the 512-bit ones: Q4_K_M, 2 threads, 2 / 4
// streams gave 1.97x / 2.49x one stream on the avx2 table and 1.09x / 1.74x with the zmm
// kernels (docs/performance.md). Both give the same bits, so the choice is by batch size only.
template <RowsKernel Wide, RowsKernel Narrow>
void rows8_by_batch(const MatmulArgs& args, int64_t row_begin, int64_t row_end) {
  if (args.n_tokens < 8) Narrow(args, row_begin, row_end);
  else Wide(args, row_begin, row_end);
}

}  // namespace corral::avx512

namespace corral {

const KernelTable* avx512_kernel_table() {
  static const KernelTable table = [] {
    KernelTable t = avx512::make_table("avx512");
    t.int8_peak = avx512::int8_peak_zmm;
    t.int8_peak_madds_per_iter = avx512::kZmmPeakMaddsPerIter;
    // Q4_0, Q8_0, IQ4_NL, MXFP4, Q4_K, Q6_K, IQ4_XS interleaved: 512-bit vpdpbusd from 8 tokens.
    using namespace avx512;
    auto set = [&t](GgmlType type, RowsKernel fn) { t.matmul_rows8[static_cast<int>(type)].rows = fn; };
    set(GgmlType::kQ4_0, rows8_by_batch<rows8_zmm<Q4_0x16Zmm, kZmmTile>, rows8_quant<Q4_0x8Kernel, 4>>);
    set(GgmlType::kQ8_0, rows8_by_batch<rows8_zmm<Q8_0x16Zmm, kZmmTile>, rows8_quant<Q8_0x8Kernel, 4>>);
    set(GgmlType::kIQ4_NL, rows8_by_batch<rows8_zmm<Table32x16Zmm<BlockIQ4_NLx8, false>, kZmmTile>,
                                          rows8_quant<Table32x8Kernel<BlockIQ4_NLx8, false>, 4>>);
    set(GgmlType::kMXFP4, rows8_by_batch<rows8_zmm<Table32x16Zmm<BlockMXFP4x8, true>, kZmmTile>,
                                         rows8_quant<Table32x8Kernel<BlockMXFP4x8, true>, 4>>);
    set(GgmlType::kQ4_K, rows8_by_batch<rows8_quant<Q4Kx16Kernel, 8>, rows8_quant<Q4Kx8Kernel, 4>>);
    set(GgmlType::kQ6_K, rows8_by_batch<rows8_quant<Q6Kx16Kernel, 8>, rows8_quant<Q6Kx8Kernel, 4>>);
    set(GgmlType::kIQ4_XS, rows8_by_batch<rows8_quant<IQ4XSx16Kernel, 8>, rows8_quant<IQ4XSx8Kernel, 4>>);
    return t;
  }();
  return &table;
}

}  // namespace corral
