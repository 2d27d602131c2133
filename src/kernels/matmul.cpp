// Reference matmul: dequantize one weight row, then dot it with every activation vector.
#include "kernels/matmul.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/ops.h"
#include "tensor/quant.h"

namespace corral {
namespace {

void matmul_rows_f32(const TensorView& w, int64_t row_begin, int64_t row_end, const float* x,
                     int64_t x_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t n = w.ne[0];
  for (int64_t r = row_begin; r < row_end; ++r) {
    const auto* row = reinterpret_cast<const float*>(w.row(r));
    for (int64_t t = 0; t < n_tokens; ++t) y[t * y_stride + r] = dot_f32(row, x + t * x_stride, n);
  }
}

void matmul_rows_dequant(const TensorView& w, int64_t row_begin, int64_t row_end, const float* x,
                         int64_t x_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t n = w.ne[0];
  thread_local std::vector<float> buf;
  if (buf.size() < static_cast<size_t>(n)) buf.resize(static_cast<size_t>(n));
  for (int64_t r = row_begin; r < row_end; ++r) {
    dequantize_row(w.type, w.row(r), buf.data(), n);
    for (int64_t t = 0; t < n_tokens; ++t) y[t * y_stride + r] = dot_f32(buf.data(), x + t * x_stride, n);
  }
}

KernelTable make_reference_table() {
  KernelTable t{};
  t.name = "ref";
  for (uint32_t id = 0; id < 40; ++id) {
    const GgmlTypeInfo* info = ggml_type_info(id);
    if (info != nullptr && info->compute_supported) t.matmul_rows[id] = matmul_rows_dequant;
  }
  t.matmul_rows[static_cast<uint32_t>(GgmlType::kF32)] = matmul_rows_f32;
  return t;
}

}  // namespace

const KernelTable& reference_kernel_table() {
  static const KernelTable table = make_reference_table();
  return table;
}

const KernelTable& kernel_table() { return reference_kernel_table(); }

void matmul_with(const KernelTable& table, const TensorView& w, const float* x, int64_t x_stride,
                 int64_t n_tokens, float* y, int64_t y_stride) {
  MatmulRowsFn fn = table.matmul_rows[static_cast<uint32_t>(w.type)];
  const int64_t rows = w.n_rows();
  ThreadPool& pool = ThreadPool::global();
  // Chunks of rows per task: enough work per task to amortise the wake-up.
  pool.parallel_for(static_cast<size_t>(rows), [&](size_t b, size_t e, int) {
    fn(w, static_cast<int64_t>(b), static_cast<int64_t>(e), x, x_stride, n_tokens, y, y_stride);
  });
}

void matmul(const TensorView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride) {
  matmul_with(kernel_table(), w, x, x_stride, n_tokens, y, y_stride);
}

void get_row_f32(const TensorView& w, int64_t i, float* dst) {
  dequantize_row(w.type, w.row(i), dst, w.ne[0]);
}

}  // namespace corral
