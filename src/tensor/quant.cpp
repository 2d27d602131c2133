// The quant type table (one row per type) and the dequantize_row / quantize_row dispatch.
#include "tensor/quant.h"

#include <array>
#include <cstdio>
#include <cstdlib>

#include "tensor/quant_blocks.h"
#include "tensor/quant_rows.h"

namespace corral {
namespace {

using namespace quant;  // NOLINT: the row functions are the table's whole content

constexpr QuantTraits kQuantTable[] = {
    {GgmlType::kF32, 1, sizeof(float), dequantize_row_f32, quantize_row_f32},
    {GgmlType::kF16, 1, sizeof(Half), dequantize_row_f16, quantize_row_f16},
    {GgmlType::kBF16, 1, sizeof(uint16_t), dequantize_row_bf16, quantize_row_bf16},
    {GgmlType::kQ4_0, kQK4_0, sizeof(BlockQ4_0), dequantize_row_q4_0, quantize_row_q4_0},
    {GgmlType::kQ4_1, kQK4_1, sizeof(BlockQ4_1), dequantize_row_q4_1, quantize_row_q4_1},
    {GgmlType::kQ5_0, kQK5_0, sizeof(BlockQ5_0), dequantize_row_q5_0, quantize_row_q5_0},
    {GgmlType::kQ5_1, kQK5_1, sizeof(BlockQ5_1), dequantize_row_q5_1, quantize_row_q5_1},
    {GgmlType::kQ8_0, kQK8_0, sizeof(BlockQ8_0), dequantize_row_q8_0, quantize_row_q8_0},
    {GgmlType::kQ2_K, kQK_K, sizeof(BlockQ2_K), dequantize_row_q2_K, quantize_row_q2_K},
    {GgmlType::kQ3_K, kQK_K, sizeof(BlockQ3_K), dequantize_row_q3_K, quantize_row_q3_K},
    {GgmlType::kQ4_K, kQK_K, sizeof(BlockQ4_K), dequantize_row_q4_K, quantize_row_q4_K},
    {GgmlType::kQ5_K, kQK_K, sizeof(BlockQ5_K), dequantize_row_q5_K, quantize_row_q5_K},
    {GgmlType::kQ6_K, kQK_K, sizeof(BlockQ6_K), dequantize_row_q6_K, quantize_row_q6_K},
    {GgmlType::kIQ4_NL, kQK4_NL, sizeof(BlockIQ4_NL), dequantize_row_iq4_nl, nullptr},
    {GgmlType::kIQ4_XS, kQK_K, sizeof(BlockIQ4_XS), dequantize_row_iq4_xs, nullptr},
    {GgmlType::kMXFP4, kQK_MXFP4, sizeof(BlockMXFP4), dequantize_row_mxfp4, quantize_row_mxfp4},
    {GgmlType::kIQ2_XXS, kQK_K, sizeof(BlockIQ2_XXS), dequantize_row_iq2_xxs, nullptr},
    {GgmlType::kIQ2_XS, kQK_K, sizeof(BlockIQ2_XS), dequantize_row_iq2_xs, nullptr},
    {GgmlType::kIQ2_S, kQK_K, sizeof(BlockIQ2_S), dequantize_row_iq2_s, nullptr},
    {GgmlType::kIQ3_XXS, kQK_K, sizeof(BlockIQ3_XXS), dequantize_row_iq3_xxs, nullptr},
    {GgmlType::kIQ3_S, kQK_K, sizeof(BlockIQ3_S), dequantize_row_iq3_s, nullptr},
    {GgmlType::kIQ1_S, kQK_K, sizeof(BlockIQ1_S), dequantize_row_iq1_s, nullptr},
    {GgmlType::kIQ1_M, kQK_K, sizeof(BlockIQ1_M), dequantize_row_iq1_m, nullptr},
};

constexpr size_t kMaxTypeId = 64;

constexpr std::array<const QuantTraits*, kMaxTypeId> build_index() {
  std::array<const QuantTraits*, kMaxTypeId> index{};
  for (const auto& row : kQuantTable) index[static_cast<size_t>(row.type)] = &row;
  return index;
}

constexpr auto kQuantIndex = build_index();

// A caller passing an unsupported type or a partial block broke an invariant: the loader refuses
// such files before any row is converted.
[[noreturn]] void die(const char* what, GgmlType type, int64_t n) {
  const std::string_view name = ggml_type_name(type);
  std::fprintf(stderr, "corral: %s (type %.*s, n %lld)\n", what, static_cast<int>(name.size()),
               name.data(), static_cast<long long>(n));
  std::abort();
}

const QuantTraits& checked_traits(GgmlType type, int64_t n) {
  const QuantTraits* t = quant_traits(type);
  if (t == nullptr) die("no reference conversion for this tensor type", type, n);
  if (n < 0 || n % t->block_elems != 0) die("row length is not a whole number of blocks", type, n);
  return *t;
}

}  // namespace

const QuantTraits* quant_traits(GgmlType type) {
  const auto id = static_cast<size_t>(type);
  return id < kMaxTypeId ? kQuantIndex[id] : nullptr;
}

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  checked_traits(type, n).dequantize(src, dst, n);
}

void quantize_row(GgmlType type, const float* src, void* dst, int64_t n) {
  const QuantTraits& t = checked_traits(type, n);
  if (t.quantize == nullptr) die("no reference quantizer for this tensor type", type, n);
  t.quantize(src, dst, n);
}

}  // namespace corral
