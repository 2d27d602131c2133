// K-quant reference quantizers (placeholder until the make_q*_quants ports land).
#include <cstdio>
#include <cstdlib>

#include "tensor/quant_rows.h"

namespace corral::quant {
namespace {
[[noreturn]] void not_yet(const char* name) {
  std::fprintf(stderr, "corral: %s is not implemented yet\n", name);
  std::abort();
}
}  // namespace

void quantize_row_q2_K(const float*, void*, int64_t) { not_yet("quantize_row_q2_K"); }
void quantize_row_q3_K(const float*, void*, int64_t) { not_yet("quantize_row_q3_K"); }
void quantize_row_q4_K(const float*, void*, int64_t) { not_yet("quantize_row_q4_K"); }
void quantize_row_q5_K(const float*, void*, int64_t) { not_yet("quantize_row_q5_K"); }
void quantize_row_q6_K(const float*, void*, int64_t) { not_yet("quantize_row_q6_K"); }

}  // namespace corral::quant
