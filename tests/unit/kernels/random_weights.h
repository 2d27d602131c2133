// Random quantised weights and activations with outliers, and the error bound a kernel's
// (row, token) result must meet against the scalar reference (shared by the kernel tests).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "base/fp16.h"
#include "gguf/ggml_type.h"
#include "kernels/dispatch.h"
#include "kernels/repack.h"
#include "tensor/quant.h"
#include "tensor/quant_blocks.h"
#include "tensor/tensor_view.h"

namespace corral {

// A weight matrix quantised from random floats (normal, with a few large outliers).
struct Weights {
  std::vector<uint8_t> bytes;
  std::vector<float> deq;  // the exact dequantised values
  TensorView view;
};

// The view and exact dequantised values of rows x n weights already quantised into `bytes`.
inline Weights weights_from_bytes(GgmlType type, int64_t rows, int64_t n, std::vector<uint8_t> bytes) {
  Weights w;
  const size_t row_bytes = ggml_row_bytes(type, n);
  w.bytes = std::move(bytes);
  w.deq.resize(static_cast<size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r)
    dequantize_row(type, &w.bytes[static_cast<size_t>(r) * row_bytes], &w.deq[static_cast<size_t>(r * n)], n);
  w.view.data = w.bytes.data();
  w.view.type = type;
  w.view.ne[0] = n;
  w.view.ne[1] = rows;
  w.view.row_bytes = row_bytes;
  return w;
}

// The code of `values` nearest to v (first on ties).
inline uint8_t nearest_code(const int8_t* values, float v) {
  int best = 0;
  for (int i = 1; i < 16; ++i)
    if (std::fabs(v - values[i]) < std::fabs(v - values[best])) best = i;
  return static_cast<uint8_t>(best);
}

// 32 floats -> 16 bytes of codes (element j low nibble, j + 16 high) for x ≈ scale * values[q].
inline void table_codes32(const float* x, float scale, const int8_t* values, uint8_t* qs) {
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  for (int j = 0; j < 16; ++j)
    qs[j] = static_cast<uint8_t>(nearest_code(values, x[j] * inv) | (nearest_code(values, x[j + 16] * inv) << 4));
}

// The element of largest magnitude.
inline float signed_absmax(const float* x, int n) {
  float m = 0.0f;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > std::fabs(m)) m = x[i];
  return m;
}

inline bool is_lattice_type(GgmlType t) {
  return t == GgmlType::kIQ2_XXS || t == GgmlType::kIQ2_XS || t == GgmlType::kIQ2_S || t == GgmlType::kIQ3_XXS ||
         t == GgmlType::kIQ3_S || t == GgmlType::kIQ1_S || t == GgmlType::kIQ1_M;
}

// The lattice types (IQ1/IQ2/IQ3) have no simple quantizer: their test rows are random block
// bytes (every index, sign and sub-block scale is valid), seeded by the row's floats, with the
// fp16 block scale set from the row's magnitude so that values stay in a normal range.
// (Blocks made by ggml's own quantizer are in tests/testdata/iq.)
inline void lattice_blocks_for_tests(GgmlType type, const float* x, uint8_t* dst, int64_t n) {
  uint32_t seed = 2166136261u;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], 4);
    seed = (seed ^ bits) * 16777619u;
  }
  std::mt19937 rng(seed);
  const size_t block_bytes = ggml_type_info(type).block_bytes;
  const size_t bytes = ggml_row_bytes(type, n);
  for (size_t i = 0; i < bytes; ++i) dst[i] = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < bytes; off += block_bytes) {
    const float amax = std::fabs(signed_absmax(x + (off / block_bytes) * 256, 256));
    const uint16_t d = f32_to_fp16(amax / 256.0f);
    if (type == GgmlType::kIQ1_M) {  // the scale's nibbles are the top of the four scale words
      uint8_t* sc = dst + off + 48;
      for (int k = 0; k < 4; ++k) sc[2 * k + 1] = static_cast<uint8_t>((sc[2 * k + 1] & 0x0F) | (((d >> (4 * k)) & 0xF) << 4));
    } else {
      std::memcpy(dst + off, &d, 2);
    }
  }
}

// Rows of the types that have no reference quantizer (IQ4_NL, IQ4_XS, MXFP4), by a plain
// nearest-value rounding written for the tests (not ggml's quantizer: the kernels only need
// valid blocks that span the codes and scales); every other type through quantize_row.
inline void quantize_row_for_tests(GgmlType type, const float* x, uint8_t* dst, int64_t n) {
  if (type == GgmlType::kIQ4_NL) {
    auto* b = reinterpret_cast<BlockIQ4_NL*>(dst);
    for (int64_t i = 0; i < n / 32; ++i, x += 32) {
      const float d = signed_absmax(x, 32) / kIQ4Values[0];
      b[i].d = f32_to_fp16(d);
      table_codes32(x, fp16_to_f32(b[i].d), kIQ4Values, b[i].qs);
    }
  } else if (type == GgmlType::kIQ4_XS) {
    auto* b = reinterpret_cast<BlockIQ4_XS*>(dst);
    for (int64_t i = 0; i < n / 256; ++i, x += 256) {
      float sub[8], dmax = 0.0f;
      for (int s = 0; s < 8; ++s) {
        sub[s] = signed_absmax(x + 32 * s, 32) / kIQ4Values[0];
        dmax = std::max(dmax, std::fabs(sub[s]));
      }
      b[i] = BlockIQ4_XS{};
      b[i].d = f32_to_fp16(dmax / 31.0f);
      const float d = fp16_to_f32(b[i].d);
      for (int s = 0; s < 8; ++s) {
        const int ls = d > 0.0f ? std::clamp(static_cast<int>(std::lround(sub[s] / d)), -32, 31) + 32 : 32;
        b[i].scales_l[s / 2] = static_cast<uint8_t>(b[i].scales_l[s / 2] | ((ls & 15) << (4 * (s % 2))));
        b[i].scales_h = static_cast<uint16_t>(b[i].scales_h | ((ls >> 4) << (2 * s)));
        table_codes32(x + 32 * s, d * static_cast<float>(ls - 32), kIQ4Values, b[i].qs + 16 * s);
      }
    }
  } else if (type == GgmlType::kMXFP4) {
    auto* b = reinterpret_cast<BlockMXFP4*>(dst);
    for (int64_t i = 0; i < n / 32; ++i, x += 32) {
      const float amax = std::fabs(signed_absmax(x, 32));
      // the smallest power of two 2^(e - 128) with amax / 2^(e - 128) <= 12
      const int e = amax > 0.0f ? std::clamp(static_cast<int>(std::ceil(std::log2(amax / 12.0f))) + 128, 0, 254) : 0;
      b[i].e = static_cast<uint8_t>(e);
      table_codes32(x, std::ldexp(1.0f, e - 128), kMXFP4Values, b[i].qs);
    }
  } else if (is_lattice_type(type)) {
    lattice_blocks_for_tests(type, x, dst, n);
  } else {
    quantize_row(type, x, dst, n);
  }
}

inline Weights make_weights(GgmlType type, int64_t rows, int64_t n, std::mt19937& rng) {
  const size_t row_bytes = ggml_row_bytes(type, n);
  std::vector<uint8_t> bytes(row_bytes * static_cast<size_t>(rows), 0);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = nd(rng);
    row[static_cast<size_t>(r % n)] *= 8.0f;  // an outlier per row
    quantize_row_for_tests(type, row.data(), &bytes[static_cast<size_t>(r) * row_bytes], n);
  }
  return weights_from_bytes(type, rows, n, std::move(bytes));
}

// The same matrix interleaved by 8 rows (kernels/repack.h), and a view of it.
inline std::vector<uint8_t> interleave(const Weights& w) {
  std::vector<uint8_t> out(w.bytes.size());
  const size_t group = w.view.row_bytes * kRowsInterleaved;
  for (size_t off = 0; off < out.size(); off += group) pack_rows8(w.view.type, &w.bytes[off], w.view.row_bytes, &out[off]);
  return out;
}

inline TensorView interleaved_view(const Weights& w, const std::vector<uint8_t>& packed) {
  TensorView v = w.view;
  v.data = packed.data();
  v.interleave = kRowsInterleaved;
  return v;
}

inline std::vector<float> make_acts(int64_t n_tokens, int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n_tokens * n));
  for (auto& v : x) v = nd(rng);
  for (int64_t t = 0; t < n_tokens; ++t) x[static_cast<size_t>(t * n + (7 * t) % n)] = 12.0f;  // outliers
  return x;
}

// The activation block a kernel of `type` quantises x in (1: float activations).
inline int64_t act_block(const KernelTable& table, GgmlType type) {
  const TypeKernel& k = table.matmul[static_cast<uint32_t>(type)];
  if (k.rows == nullptr || k.act == ActFormat::kF32) return 1;
  return k.act == ActFormat::kQ8_0 ? 32 : 256;
}

// |kernel - reference| for one (row, token) may be at most: half a quantisation step of each
// activation block times Σ|w| over the block (the 8-bit activation error), plus the float
// rounding of two differently ordered sums of n products (each <= (n/8 + 8) ulp-ish of Σ|w·x|).
inline double error_bound(const float* w, const float* x, int64_t n, int64_t block) {
  double abs_dot = 0.0, quant = 0.0;
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    double amax = 0.0, wsum = 0.0;
    for (int64_t i = b0; i < b0 + block; ++i) {
      amax = std::max(amax, static_cast<double>(std::fabs(x[i])));
      wsum += std::fabs(w[i]);
      abs_dot += std::fabs(static_cast<double>(w[i]) * x[i]);
    }
    if (block > 1) quant += wsum * (amax / 127.0) * 0.501;
  }
  return quant + (static_cast<double>(n) / 8.0 + 8.0) * 1.2e-7 * abs_dot + 1e-6;
}

}  // namespace corral
