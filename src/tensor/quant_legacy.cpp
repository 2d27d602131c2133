// Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 rows (32-element blocks): dequantizers and ggml's
// round-to-nearest reference quantizers (quantize_row_*_ref), expression for expression so the
// float rounding matches.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "tensor/quant_blocks.h"
#include "tensor/quant_rows.h"

namespace corral::quant {
namespace {

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ggml's `(int8_t)(v)` truncation for the in-range values the quantizers produce.
int trunc_int(float v) { return static_cast<int>(v); }

}  // namespace

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK4_0; ++i, dst += kQK4_0) {
    const float d = fp16_to_f32(x[i].d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const int x0 = (x[i].qs[j] & 0x0F) - 8;
      const int x1 = (x[i].qs[j] >> 4) - 8;
      dst[j] = static_cast<float>(x0) * d;
      dst[j + kQK4_0 / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < n / kQK4_1; ++i, dst += kQK4_1) {
    const float d = fp16_to_f32(x[i].d);
    const float m = fp16_to_f32(x[i].m);
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      const int x0 = x[i].qs[j] & 0x0F;
      const int x1 = x[i].qs[j] >> 4;
      dst[j] = static_cast<float>(x0) * d + m;
      dst[j + kQK4_1 / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < n / kQK5_0; ++i, dst += kQK5_0) {
    const float d = fp16_to_f32(x[i].d);
    const uint32_t qh = load_u32(x[i].qh);
    for (int j = 0; j < kQK5_0 / 2; ++j) {
      const uint32_t xh0 = ((qh >> j) << 4) & 0x10u;
      const uint32_t xh1 = (qh >> (j + 12)) & 0x10u;
      const int x0 = static_cast<int>((x[i].qs[j] & 0x0Fu) | xh0) - 16;
      const int x1 = static_cast<int>((x[i].qs[j] >> 4u) | xh1) - 16;
      dst[j] = static_cast<float>(x0) * d;
      dst[j + kQK5_0 / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < n / kQK5_1; ++i, dst += kQK5_1) {
    const float d = fp16_to_f32(x[i].d);
    const float m = fp16_to_f32(x[i].m);
    const uint32_t qh = load_u32(x[i].qh);
    for (int j = 0; j < kQK5_1 / 2; ++j) {
      const uint32_t xh0 = ((qh >> j) << 4) & 0x10u;
      const uint32_t xh1 = (qh >> (j + 12)) & 0x10u;
      const int x0 = static_cast<int>((x[i].qs[j] & 0x0Fu) | xh0);
      const int x1 = static_cast<int>((x[i].qs[j] >> 4u) | xh1);
      dst[j] = static_cast<float>(x0) * d + m;
      dst[j + kQK5_1 / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK8_0; ++i, dst += kQK8_0) {
    const float d = fp16_to_f32(x[i].d);
    for (int j = 0; j < kQK8_0; ++j) dst[j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

// ---- reference quantizers ------------------------------------------------------------------

void quantize_row_q4_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    const float* x = src + i * kQK4_0;
    float amax = 0.0f;  // absolute max
    float max = 0.0f;   // the signed value with that magnitude
    for (int j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[kQK4_0 / 2 + j] * id;
      const int xi0 = std::min(15, trunc_int(x0 + 8.5f));
      const int xi1 = std::min(15, trunc_int(x1 + 8.5f));
      y[i].qs[j] = static_cast<uint8_t>(xi0 | (xi1 << 4));
    }
  }
}

void quantize_row_q4_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ4_1*>(dst);
  for (int64_t i = 0; i < n / kQK4_1; ++i) {
    const float* x = src + i * kQK4_1;
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < kQK4_1; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / ((1 << 4) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    y[i].m = f32_to_fp16(min);
    for (int j = 0; j < kQK4_1 / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[kQK4_1 / 2 + j] - min) * id;
      const int xi0 = std::min(15, trunc_int(x0 + 0.5f));
      const int xi1 = std::min(15, trunc_int(x1 + 0.5f));
      y[i].qs[j] = static_cast<uint8_t>(xi0 | (xi1 << 4));
    }
  }
}

void quantize_row_q5_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ5_0*>(dst);
  for (int64_t i = 0; i < n / kQK5_0; ++i) {
    const float* x = src + i * kQK5_0;
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < kQK5_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK5_0 / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[kQK5_0 / 2 + j] * id;
      const auto xi0 = static_cast<uint32_t>(std::min(31, trunc_int(x0 + 16.5f)));
      const auto xi1 = static_cast<uint32_t>(std::min(31, trunc_int(x1 + 16.5f)));
      y[i].qs[j] = static_cast<uint8_t>((xi0 & 0x0Fu) | ((xi1 & 0x0Fu) << 4));
      qh |= ((xi0 & 0x10u) >> 4) << j;
      qh |= ((xi1 & 0x10u) >> 4) << (j + kQK5_0 / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void quantize_row_q5_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ5_1*>(dst);
  for (int64_t i = 0; i < n / kQK5_1; ++i) {
    const float* x = src + i * kQK5_1;
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < kQK5_1; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / ((1 << 5) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    y[i].m = f32_to_fp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kQK5_1 / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[kQK5_1 / 2 + j] - min) * id;
      // ggml casts straight to uint8_t here (no clamp): x0 <= 31 + rounding slack.
      const auto xi0 = static_cast<uint32_t>(static_cast<uint8_t>(trunc_int(x0 + 0.5f)));
      const auto xi1 = static_cast<uint32_t>(static_cast<uint8_t>(trunc_int(x1 + 0.5f)));
      y[i].qs[j] = static_cast<uint8_t>((xi0 & 0x0Fu) | ((xi1 & 0x0Fu) << 4));
      qh |= ((xi0 & 0x10u) >> 4) << j;
      qh |= ((xi1 & 0x10u) >> 4) << (j + kQK5_1 / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof(qh));
  }
}

void quantize_row_q8_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const float* x = src + i * kQK8_0;
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / ((1 << 7) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    for (int j = 0; j < kQK8_0; ++j) y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
  }
}

}  // namespace corral::quant
