// Attention over a quantized (q8_0 / q4_0) KV cache: the dispatch to the table's kernel and the
// scalar reference (dequantize every row, then the float reference).
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "tensor/quant.h"

namespace corral {
namespace {

void attention_quant_ref(GgmlType type, const float* q, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                         int64_t n_pos, int64_t hd, float scale, float cap, float sink, float* out) {
  thread_local std::vector<float> kf, vf;
  const size_t n = static_cast<size_t>(n_pos) * static_cast<size_t>(hd);
  if (kf.size() < n) {
    kf.resize(n);
    vf.resize(n);
  }
  for (int64_t p = 0; p < n_pos; ++p) {
    const size_t at = static_cast<size_t>(p) * kv_stride_bytes;
    dequantize_row(type, k + at, &kf[static_cast<size_t>(p * hd)], hd);
    dequantize_row(type, v + at, &vf[static_cast<size_t>(p * hd)], hd);
  }
  attention_ext_f32_ref(q, kf.data(), vf.data(), static_cast<size_t>(hd), n_pos, hd, scale, cap, sink, out);
}

}  // namespace

void attention_q8_0_ref(const float* q, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                        int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out) {
  attention_quant_ref(GgmlType::kQ8_0, q, k, v, kv_stride_bytes, n_pos, head_dim, scale, cap, sink, out);
}

void attention_q4_0_ref(const float* q, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                        int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out) {
  attention_quant_ref(GgmlType::kQ4_0, q, k, v, kv_stride_bytes, n_pos, head_dim, scale, cap, sink, out);
}

void attention_q8_0(const float* q, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                    int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out) {
  const AttentionQuantFn fn = kernel_table().attention_q8_0;
  (fn != nullptr ? fn : attention_q8_0_ref)(q, k, v, kv_stride_bytes, n_pos, head_dim, scale, cap, sink, out);
}

void attention_q4_0(const float* q, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                    int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out) {
  const AttentionQuantFn fn = kernel_table().attention_q4_0;
  (fn != nullptr ? fn : attention_q4_0_ref)(q, k, v, kv_stride_bytes, n_pos, head_dim, scale, cap, sink, out);
}

}  // namespace corral
