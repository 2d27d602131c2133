// The reference dot product of one weight row (any supported GGUF type) with float activations.
#pragma once

#include <cstdint>

#include "gguf/ggml_type.h"

namespace corral {

// sum_i dequant(row)[i] * x[i] over n elements (a whole number of blocks of `type`): the row is
// dequantized exactly (tensor/quant.h) and the products summed in double, in index order, then
// rounded to float once. The yardstick for every optimised dot kernel; not fast.
float vec_dot_ref(GgmlType type, const void* row, const float* x, int64_t n);

}  // namespace corral
