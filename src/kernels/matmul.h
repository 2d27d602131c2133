// Matrix products of weights (any supported GGUF type) with float activations, through the
// kernel table chosen once per process (dispatch.h). Model code calls only matmul(); a type
// without an optimised kernel in the table runs the reference one.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/dispatch.h"
#include "kernels/kernel_abi.h"
#include "tensor/tensor_view.h"

namespace corral {

// y[t * y_stride + r] = dot(W.row(r), x + t * x_stride) over all rows of W and n_tokens vectors,
// multithreaded over rows with the global pool. Types whose kernel wants 8-bit activations get
// x quantised per token first (into a per-thread buffer that only grows). The result for each
// (row, token) does not depend on n_tokens, the token's position in the batch, or the thread
// count.
void matmul(const TensorView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride);

// Same with an explicit table (tests and benchmarks compare tables).
void matmul_with(const KernelTable& table, const TensorView& w, const float* x, int64_t x_stride,
                 int64_t n_tokens, float* y, int64_t y_stride);

// Several products of the same activations (Q, K and V; gate and up): the activations are
// quantised once and all rows of all matrices are split over the pool in one loop, with the
// same per-row results as one matmul() each.
struct MatmulOut {
  const TensorView* w;
  float* y;
  int64_t y_stride;
};
void matmul_many(std::span<const MatmulOut> outs, const float* x, int64_t x_stride, int64_t n_tokens);
void matmul_many_with(const KernelTable& table, std::span<const MatmulOut> outs, const float* x, int64_t x_stride,
                      int64_t n_tokens);

// Products of different weights with different activations (the picked experts of a MoE
// prompt: each expert's rows over its own tokens): all activations are quantised in one loop,
// then the rows of all matrices are split over the pool in one loop; each job's results are
// those of one matmul() of it. A job reading the same x as the job before it (same pointer,
// tokens and format) shares its quantised activations. A job of no tokens does nothing.
struct MatmulJob {
  const TensorView* w;
  const float* x;
  int64_t x_stride;
  int64_t n_tokens;
  float* y;
  int64_t y_stride;
};
void matmul_jobs(std::span<const MatmulJob> jobs);
void matmul_jobs_with(const KernelTable& table, std::span<const MatmulJob> jobs);

// Copies row `i` of W (any supported type) into dst as floats (embedding lookups).
void get_row_f32(const TensorView& w, int64_t i, float* dst);

}  // namespace corral
