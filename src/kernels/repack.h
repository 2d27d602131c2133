// Weight repacking for the kernels that compute 8 rows at once: the 8 rows' blocks of one
// column range are interleaved by 4-byte groups (kernel_abi.h: BlockQ4_Kx8, BlockQ6_Kx8). The
// bytes are the file's, reordered, so a repacked tensor takes exactly the file's size and its
// results are the same integers. Done once at load, when the kernel table in use has a kernel
// for the interleaved layout.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/ggml_type.h"
#include "kernels/kernel_abi.h"

namespace corral {

// True when `type` has an interleaved layout and a matrix of rows x n can use it.
bool can_interleave_rows8(GgmlType type, int64_t rows, int64_t n);

// 8 rows of row_bytes each (the file layout, one after another) -> the interleaved group.
void pack_rows8(GgmlType type, const uint8_t* src, size_t row_bytes, uint8_t* dst);

// The inverse: one interleaved group -> 8 rows in the file layout.
void unpack_rows8(GgmlType type, const uint8_t* src, size_t row_bytes, uint8_t* dst);

}  // namespace corral
