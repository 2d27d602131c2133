// Dequantize-then-multiply reference dot product, one block at a time (no allocation).
#include "kernels/ref/vec_dot_ref.h"

#include <cstdio>
#include <cstdlib>

#include "tensor/quant.h"
#include "tensor/quant_blocks.h"

namespace corral {

float vec_dot_ref(GgmlType type, const void* row, const float* x, int64_t n) {
  const QuantTraits* t = quant_traits(type);
  if (t == nullptr || n % t->block_elems != 0) {
    std::fprintf(stderr, "corral: vec_dot_ref: unsupported type %u or partial block (n %lld)\n",
                 static_cast<unsigned>(type), static_cast<long long>(n));
    std::abort();
  }
  // Dequantize a chunk of whole blocks at a time: kQK_K floats hold one K-quant block or eight
  // 32-element blocks (or 256 plain floats).
  constexpr int64_t kChunk = kQK_K;
  const int64_t blocks_per_chunk = kChunk / t->block_elems;
  float buf[kChunk];
  const auto* src = static_cast<const uint8_t*>(row);
  double sum = 0.0;
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = n - i < kChunk ? n - i : kChunk;
    t->dequantize(src, buf, len);
    for (int64_t j = 0; j < len; ++j) sum += static_cast<double>(buf[j]) * x[i + j];
    src += static_cast<size_t>(blocks_per_chunk) * t->block_bytes;
  }
  return static_cast<float>(sum);
}

}  // namespace corral
