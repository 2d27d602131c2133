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
  size_t row_bytes = 0;          // bytes between consecutive rows
  std::string name;

  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  const uint8_t* row(int64_t i) const {
    return static_cast<const uint8_t*>(data) + static_cast<size_t>(i) * row_bytes;
  }
};

}  // namespace corral
