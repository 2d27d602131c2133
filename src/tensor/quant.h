// Per-type row conversion between GGUF block layouts and float: the scalar references that
// every optimised kernel is tested against. Rows are whole blocks (n % block_elems == 0).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/ggml_type.h"

namespace corral {

// Dequantizes n elements of `type` stored at src into dst. For every compute_supported type.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

// Quantizes n floats into `type`'s block layout, bit-compatible with ggml's reference
// quantizers (quantize_row_*_ref). For the types whose QuantTraits::quantize is set (not IQ4_NL,
// IQ4_XS: their files come from other quantizers).
void quantize_row(GgmlType type, const float* src, void* dst, int64_t n);

using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);

// One row per supported type (style rule 4). block_elems/block_bytes restate ggml_type.h and are
// checked against it in the tests; the functions take whole blocks.
struct QuantTraits {
  GgmlType type;
  int64_t block_elems;
  size_t block_bytes;
  DequantizeRowFn dequantize;
  QuantizeRowFn quantize;  // null: no reference quantizer (IQ4_NL, IQ4_XS)
};

// The row for `type`, or nullptr when corral cannot compute with it (IQ2/IQ3/IQ1, TQ*, ...).
const QuantTraits* quant_traits(GgmlType type);

}  // namespace corral
