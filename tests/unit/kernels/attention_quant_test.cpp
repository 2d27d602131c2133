// Attention over a quantized (q8_0 / q4_0) KV cache, on every kernel table this CPU runs: the
// block round trip keeps each element within half a quantisation step (q8_0) or one step (q4_0);
// each table's kernel agrees within float rounding with its own attention_ext_f32 over the
// dequantized rows and with the scalar reference, with and without soft-capping and a sink (and,
// within the quantisation error, with attention over the unquantized floats). Rows are strided as in the cache: several KV heads per row.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/ops.h"
#include "tensor/quant.h"
#include "tensor/quant_blocks.h"

namespace corral {
namespace {

struct QuantKv {
  GgmlType type;
  size_t block_bytes;
  AttentionQuantFn KernelTable::*fn;
  // |x - x'| <= fraction * max |x| of its block: half a step of max/127 (q8_0), or one step of
  // max/8 (q4_0: the side opposite the block's extreme clamps at 7 steps), plus the fp16
  // rounding of the scale (2^-11 relative, times up to 127 or 8 steps).
  float max_step_fraction;
};

const QuantKv kTypes[] = {{GgmlType::kQ8_0, sizeof(BlockQ8_0), &KernelTable::attention_q8_0, 0.57f / 127.0f},
                          {GgmlType::kQ4_0, sizeof(BlockQ4_0), &KernelTable::attention_q4_0, 1.01f / 8.0f}};

TEST(AttentionQuant, BlockRoundTripStaysWithinAQuantisationStep) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const QuantKv& t : kTypes) {
    const int64_t n = 256;
    std::vector<float> x(static_cast<size_t>(n)), y(x.size());
    for (int rep = 0; rep < 20; ++rep) {
      for (auto& e : x) e = nd(rng) * (rep % 4 == 3 ? 100.0f : 1.0f);
      std::vector<uint8_t> q(static_cast<size_t>(n / 32) * t.block_bytes);
      quantize_row(t.type, x.data(), q.data(), n);
      dequantize_row(t.type, q.data(), y.data(), n);
      for (int64_t b = 0; b < n / 32; ++b) {
        float amax = 0;
        for (int64_t i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[static_cast<size_t>(b * 32 + i)]));
        for (int64_t i = 0; i < 32; ++i) {
          const size_t at = static_cast<size_t>(b * 32 + i);
          EXPECT_LE(std::fabs(x[at] - y[at]), t.max_step_fraction * amax * 1.001f)
              << ggml_type_name(t.type) << " block " << b << " element " << i;
        }
      }
    }
  }
}

struct Cache {
  int64_t hd, n_pos, n_heads;
  size_t stride_bytes;
  std::vector<float> k, v;              // [n_pos][n_heads * hd] floats
  std::vector<uint8_t> kq, vq;          // the same rows quantized
  std::vector<float> kd, vd;            // and dequantized
};

Cache make_cache(const QuantKv& t, int64_t hd, int64_t n_pos, int64_t n_heads, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Cache c{hd, n_pos, n_heads, static_cast<size_t>(n_heads * hd / 32) * t.block_bytes, {}, {}, {}, {}, {}, {}};
  const int64_t row = n_heads * hd;
  c.k.resize(static_cast<size_t>(row * n_pos));
  c.v.resize(c.k.size());
  for (auto& e : c.k) e = nd(rng);
  for (auto& e : c.v) e = nd(rng);
  c.kq.resize(c.stride_bytes * static_cast<size_t>(n_pos));
  c.vq.resize(c.kq.size());
  c.kd.resize(c.k.size());
  c.vd.resize(c.k.size());
  for (int64_t p = 0; p < n_pos; ++p) {
    const size_t f = static_cast<size_t>(p * row), b = static_cast<size_t>(p) * c.stride_bytes;
    quantize_row(t.type, &c.k[f], &c.kq[b], row);
    quantize_row(t.type, &c.v[f], &c.vq[b], row);
    dequantize_row(t.type, &c.kq[b], &c.kd[f], row);
    dequantize_row(t.type, &c.vq[b], &c.vd[f], row);
  }
  return c;
}

struct Variant {
  float cap, sink;
  const char* name;
};
const Variant kVariants[] = {{0.0f, kNoSink, "plain"}, {3.0f, kNoSink, "capped"}, {0.0f, 1.5f, "sink"}};

TEST(AttentionQuant, EveryTableMatchesItsFloatKernelOnDequantizedRowsAndTheReference) {
  std::mt19937 rng(21);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const std::string& path : runnable_kernel_paths()) {
    const KernelTable& table = *kernel_table_by_name(path);
    ASSERT_NE(table.attention_q8_0, nullptr) << path;
    ASSERT_NE(table.attention_q4_0, nullptr) << path;
    for (const QuantKv& t : kTypes) {
      for (int64_t hd : {32, 64, 128, 256}) {
        for (int64_t n_pos : {1, 31, 33, 300}) {
          const int64_t n_heads = 3;
          const Cache c = make_cache(t, hd, n_pos, n_heads, rng);
          std::vector<float> q(static_cast<size_t>(hd));
          for (auto& e : q) e = 2.0f * nd(rng);
          const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
          const int64_t head = 1;  // a head in the middle of each row
          const size_t boff = static_cast<size_t>(head * hd / 32) * t.block_bytes;
          const size_t foff = static_cast<size_t>(head * hd);
          const auto fstride = static_cast<size_t>(n_heads * hd);
          for (const Variant& var : kVariants) {
            const std::string what = path + " " + std::string(ggml_type_name(t.type)) + " " + var.name + " hd " +
                                     std::to_string(hd) + " n_pos " + std::to_string(n_pos);
            std::vector<float> got(static_cast<size_t>(hd)), want(got.size()), ref(got.size()), exact(got.size());
            (table.*t.fn)(q.data(), &c.kq[boff], &c.vq[boff], c.stride_bytes, n_pos, hd, scale, var.cap, var.sink, got.data());
            table.attention_ext_f32(q.data(), &c.kd[foff], &c.vd[foff], fstride, n_pos, hd, scale, var.cap, var.sink,
                                    want.data());
            double err_f32 = 0;
            for (size_t i = 0; i < got.size(); ++i)
              err_f32 = std::max(err_f32, static_cast<double>(std::fabs(got[i] - want[i])));
            EXPECT_LE(err_f32, 1e-5) << what;
            (reference_kernel_table().*t.fn)(q.data(), &c.kq[boff], &c.vq[boff], c.stride_bytes, n_pos, hd, scale,
                                             var.cap, var.sink, ref.data());
            attention_ext_f32_ref(q.data(), &c.k[foff], &c.v[foff], fstride, n_pos, hd, scale, var.cap, var.sink,
                                  exact.data());
            double err_ref = 0, err_exact = 0;
            for (size_t i = 0; i < got.size(); ++i) {
              err_ref = std::max(err_ref, static_cast<double>(std::fabs(got[i] - ref[i])));
              err_exact = std::max(err_exact, static_cast<double>(std::fabs(got[i] - exact[i])));
            }
            EXPECT_LE(err_ref, 1e-5) << what;
            // What quantizing the cache itself costs (values ~N(0, 1)): a loose bound that a
            // misread block (wrong nibble, wrong scale) would exceed.
            EXPECT_LE(err_exact, t.type == GgmlType::kQ8_0 ? 0.05 : 0.6) << what;
          }
        }
      }
    }
  }
}

// A misread block must show: the kernel over rows whose two half-blocks are swapped (what a
// nibble-order or offset mistake reads) is far from the correct result.
TEST(AttentionQuant, AMisreadBlockIsFarFromTheReference) {
  std::mt19937 rng(31);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const QuantKv& t : kTypes) {
    const int64_t hd = 64, n_pos = 40;
    Cache c = make_cache(t, hd, n_pos, 1, rng);
    std::vector<float> q(static_cast<size_t>(hd));
    for (auto& e : q) e = 2.0f * nd(rng);
    const float scale = 0.125f;
    std::vector<float> good(static_cast<size_t>(hd)), bad(good.size());
    attention_ext_f32_ref(q.data(), c.k.data(), c.v.data(), static_cast<size_t>(hd), n_pos, hd, scale, 0.0f, kNoSink,
                          good.data());
    for (size_t b = 0; b < c.kq.size(); b += t.block_bytes) {
      uint8_t* qs = &c.kq[b + 2];
      uint8_t* vs = &c.vq[b + 2];
      if (t.type == GgmlType::kQ4_0) {
        for (int i = 0; i < 16; ++i) {
          qs[i] = static_cast<uint8_t>(qs[i] >> 4 | qs[i] << 4);
          vs[i] = static_cast<uint8_t>(vs[i] >> 4 | vs[i] << 4);
        }
      } else {
        for (int i = 0; i < 16; ++i) {
          std::swap(qs[i], qs[i + 16]);
          std::swap(vs[i], vs[i + 16]);
        }
      }
    }
    (kernel_table().*t.fn)(q.data(), c.kq.data(), c.vq.data(), c.stride_bytes, n_pos, hd, scale, 0.0f, kNoSink, bad.data());
    double err = 0;
    for (size_t i = 0; i < good.size(); ++i) err = std::max(err, static_cast<double>(std::fabs(good[i] - bad[i])));
    EXPECT_GT(err, t.type == GgmlType::kQ8_0 ? 0.05 : 0.6) << ggml_type_name(t.type);
  }
}

}  // namespace
}  // namespace corral
