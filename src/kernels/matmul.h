// Matrix products of weights (any supported GGUF type) with float activations, through a kernel
// table chosen once per process. Model code calls only matmul(); an optimised kernel replaces
// the reference one per quant type by registering a different table row.
#pragma once

#include <cstdint>

#include "gguf/ggml_type.h"
#include "tensor/tensor_view.h"

namespace corral {

// Computes rows [row_begin, row_end) of y = W·x for n_tokens activation vectors:
// y[t * y_stride + r] = dot(W.row(r), x + t * x_stride). Single-threaded; the caller splits rows.
using MatmulRowsFn = void (*)(const TensorView& w, int64_t row_begin, int64_t row_end,
                              const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                              int64_t y_stride);

struct KernelTable {
  const char* name;                // "ref", "avx2", "avx512", ...
  MatmulRowsFn matmul_rows[40];    // indexed by GgmlType id; null where unsupported
};

// The table in use (selected from CPU features, or CORRAL_KERNELS=ref|... to override).
const KernelTable& kernel_table();
const KernelTable& reference_kernel_table();

// y = W·x over all rows of W, multithreaded over rows with the global pool. The result for
// each (row, token) is independent of the thread count and of n_tokens.
void matmul(const TensorView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride);

// Same with an explicit table (tests compare tables against the reference).
void matmul_with(const KernelTable& table, const TensorView& w, const float* x, int64_t x_stride,
                 int64_t n_tokens, float* y, int64_t y_stride);

// Copies row `i` of W (any supported type) into dst as floats (embedding lookups).
void get_row_f32(const TensorView& w, int64_t i, float* dst);

}  // namespace corral
