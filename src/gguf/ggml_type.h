// The ggml tensor type table: ids as stored in GGUF, names, block sizes and block byte sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace corral {

// Numeric ids are the on-disk values; gaps are ids ggml has retired.
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kIQ2_XXS = 16, kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21,
  kIQ2_S = 22, kIQ4_XS = 23, kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28,
  kIQ1_M = 29, kBF16 = 30, kTQ1_0 = 34, kTQ2_0 = 35, kMXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;   // as ggml prints it: "f32", "q4_K", ...
  int64_t block_elems;     // elements per block
  size_t block_bytes;      // bytes per block
  bool compute_supported;  // corral has dequantisation and dot kernels for it
};

// nullptr for ids that are not ggml types at all.
const GgmlTypeInfo* ggml_type_info(uint32_t id);
inline const GgmlTypeInfo& ggml_type_info(GgmlType t) { return *ggml_type_info(static_cast<uint32_t>(t)); }
std::string_view ggml_type_name(GgmlType t);

// Bytes of one row of n elements; n must be a multiple of the block size.
inline size_t ggml_row_bytes(GgmlType t, int64_t n) {
  const GgmlTypeInfo& info = ggml_type_info(t);
  return static_cast<size_t>(n / info.block_elems) * info.block_bytes;
}

}  // namespace corral
