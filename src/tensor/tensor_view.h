// A non-owning view of a 1-D..4-D tensor (weights in the mmap, activations in an arena).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gguf/ggml_type.h"

namespace corral {

struct TensorView {
  const void* data = nullptr;
  GgmlType type = GgmlType::kF32;
  int64_t ne[4] = {1, 1, 1, 1};  // ne[0]: elements per row (contiguous)
  size_t row_bytes = 0;          // bytes of one row in the type's own layout
  // 1: rows one after another (row(i) is valid). 8: groups of 8 rows repacked so that their
  // blocks interleave (kernels/repack.h); only matmul() and get_row_f32() may read them.
  int interleave = 1;
  std::string name;

  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  const uint8_t* row(int64_t i) const {
    return static_cast<const uint8_t*>(data) + static_cast<size_t>(i) * row_bytes;
  }
};

}  // namespace corral
