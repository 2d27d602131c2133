// The AVX2 and AVX-512 tables give the same bits (docs/determinism.md relies on it: a seeded
// response is the same on an AVX2 machine and an AVX-512 one). They share one source compiled
// twice; only the integer dot product differs (vpmaddubsw + vpmaddwd vs vpdpbusd), and that is
// exact on both as long as vpmaddubsw never saturates. Checked for every weight type, the
// activation quantisers and fused attention, with extreme weights and activations. Skipped on
// CPUs without AVX-512 VNNI (then there is nothing to compare).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "gguf/ggml_type.h"
#include "kernels/dispatch.h"
#include "kernels/kernel_abi.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/repack.h"
#include "tensor/quant.h"
#include "tensor/quant_blocks.h"
#include "unit/kernels/random_weights.h"

namespace corral {
namespace {

const GgmlType kTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ8_0,
                           GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                           GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K, GgmlType::kQ5_K,
                           GgmlType::kQ6_K, GgmlType::kIQ4_NL, GgmlType::kIQ4_XS, GgmlType::kMXFP4,
                           GgmlType::kIQ2_XXS, GgmlType::kIQ2_XS, GgmlType::kIQ2_S, GgmlType::kIQ3_XXS,
                           GgmlType::kIQ3_S, GgmlType::kIQ1_S, GgmlType::kIQ1_M};

struct Pair {
  const KernelTable* avx2;
  const KernelTable* avx512;
};

Pair tables() { return {kernel_table_by_name("avx2"), kernel_table_by_name("avx512")}; }

// Rows of random normals, plus rows that push every quantised value to its extremes (all +max,
// all -max, alternating), where a saturating 16-bit sum would show first.
std::vector<float> extreme_values(int64_t rows, int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n; ++i) {
      float x = nd(rng);
      switch (r % 5) {
        case 1: x = 1.0f; break;
        case 2: x = -1.0f; break;
        case 3: x = (i % 2) ? 1.0f : -1.0f; break;
        case 4: x = (i % 7 == 0) ? 30.0f : x; break;
        default: break;
      }
      v[static_cast<size_t>(r * n + i)] = x;
    }
  }
  return v;
}

// A rows x n weight matrix of `type` at `data`, rows row_bytes apart (the file layout).
TensorView weights_view(const uint8_t* data, GgmlType type, int64_t n, int64_t rows, size_t row_bytes) {
  TensorView w;
  w.data = data;
  w.type = type;
  w.ne[0] = n;
  w.ne[1] = rows;
  w.row_bytes = row_bytes;
  return w;
}

TEST(IsaIdentity, MatmulGivesTheSameBitsOnAvx2AndAvx512) {
  const Pair t = tables();
  if (t.avx2 == nullptr || t.avx512 == nullptr) GTEST_SKIP() << "this CPU cannot run both avx2 and avx512";
  std::mt19937 rng(2024);
  for (GgmlType type : kTypes) {
    const int64_t unit = std::max<int64_t>(ggml_type_info(type).block_elems, 32);
    const int64_t rows = 23, n = 3 * std::max<int64_t>(unit, 256), nt = 9;
    const std::vector<float> wf = extreme_values(rows, n, rng);
    const size_t row_bytes = ggml_row_bytes(type, n);
    std::vector<uint8_t> wq(row_bytes * static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r)
      quantize_row_for_tests(type, &wf[static_cast<size_t>(r * n)], &wq[static_cast<size_t>(r) * row_bytes], n);
    TensorView w = weights_view(wq.data(), type, n, rows, row_bytes);
    const std::vector<float> x = extreme_values(nt, n, rng);
    std::vector<float> y2(static_cast<size_t>(rows * nt)), y512(y2.size());
    matmul_with(*t.avx2, w, x.data(), n, nt, y2.data(), rows);
    matmul_with(*t.avx512, w, x.data(), n, nt, y512.data(), rows);
    for (size_t i = 0; i < y2.size(); ++i)
      ASSERT_EQ(std::memcmp(&y2[i], &y512[i], sizeof(float)), 0)
          << ggml_type_name(type) << " output " << i << ": " << y2[i] << " vs " << y512[i];
    // The interleaved layout of the first 16 rows, where the type has one.
    if (!can_interleave_rows8(type, 16, n)) continue;
    std::vector<uint8_t> packed(row_bytes * 16);
    for (int g = 0; g < 2; ++g)
      pack_rows8(type, &wq[row_bytes * 8 * static_cast<size_t>(g)], row_bytes, &packed[row_bytes * 8 * static_cast<size_t>(g)]);
    TensorView wi = w;
    wi.data = packed.data();
    wi.ne[1] = 16;
    wi.interleave = kRowsInterleaved;
    std::vector<float> z2(static_cast<size_t>(16 * nt)), z512(z2.size());
    matmul_with(*t.avx2, wi, x.data(), n, nt, z2.data(), 16);
    matmul_with(*t.avx512, wi, x.data(), n, nt, z512.data(), 16);
    for (size_t i = 0; i < z2.size(); ++i)
      ASSERT_EQ(std::memcmp(&z2[i], &z512[i], sizeof(float)), 0)
          << ggml_type_name(type) << " interleaved output " << i << ": " << z2[i] << " vs " << z512[i];
  }
}

// The avx512 table's 512-bit interleaved kernels for the Q8_0-activation types (two groups per
// zmm, offset codes, token tiles of up to 8, x86/avx512/rows8_zmm.inc) against the avx2 table's
// 256-bit ones: row counts with pairs and an odd trailing group, row ranges that start on an odd
// group, every batch from 1 to 9 tokens and past the 64-token chunk, and blocks whose codes are
// at the extremes (Q8_0 -128 and 127, nibbles 0 and 15, MXFP4 exponents 0, 1 and 254).
void set_extreme_codes(GgmlType type, uint8_t* row, int64_t n, int pattern) {
  // Q8_0: 0, -1, -128, 127; nibbles: 0|0, 15|15, 0|8, 15|0.
  const uint8_t q8_fill[4] = {0x00, 0xFF, 0x80, 0x7F}, nibble_fill[4] = {0x00, 0xFF, 0x80, 0x0F};
  const uint8_t* fill = type == GgmlType::kQ8_0 ? q8_fill : nibble_fill;
  for (int64_t b = 0; b < n / 32; ++b) {
    if ((b + pattern) % 3 == 0) continue;  // keep some quantised blocks between the extreme ones
    const uint8_t v = fill[(b + static_cast<int64_t>(pattern)) % 4];
    if (type == GgmlType::kQ8_0) {
      auto* blk = reinterpret_cast<BlockQ8_0*>(row) + b;
      std::memset(blk->qs, v, sizeof(blk->qs));
    } else if (type == GgmlType::kMXFP4) {
      auto* blk = reinterpret_cast<BlockMXFP4*>(row) + b;
      std::memset(blk->qs, v, sizeof(blk->qs));
      const uint8_t exps[4] = {0, 1, 254, 127};
      blk->e = exps[b % 4];
    } else {  // Q4_0 and IQ4_NL share the block layout
      auto* blk = reinterpret_cast<BlockQ4_0*>(row) + b;
      std::memset(blk->qs, v, sizeof(blk->qs));
    }
  }
}

TEST(IsaIdentity, Q8_0ActivationInterleavedKernelsGiveTheSameBitsAtEveryBatch) {
  const Pair t = tables();
  if (t.avx2 == nullptr || t.avx512 == nullptr) GTEST_SKIP() << "this CPU cannot run both avx2 and avx512";
  std::mt19937 rng(21);
  const int64_t n = 320, max_nt = 131;
  const std::vector<float> x = extreme_values(max_nt, n, rng);
  for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ8_0, GgmlType::kIQ4_NL, GgmlType::kMXFP4}) {
    for (int64_t rows : {24, 40}) {
      ASSERT_TRUE(can_interleave_rows8(type, rows, n));
      const std::vector<float> wf = extreme_values(rows, n, rng);
      const size_t row_bytes = ggml_row_bytes(type, n);
      std::vector<uint8_t> wq(row_bytes * static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r) {
        uint8_t* row = &wq[static_cast<size_t>(r) * row_bytes];
        quantize_row_for_tests(type, &wf[static_cast<size_t>(r * n)], row, n);
        if (r % 3 != 0) set_extreme_codes(type, row, n, static_cast<int>(r));
      }
      std::vector<uint8_t> packed(wq.size());
      for (int64_t g = 0; g < rows / 8; ++g) {
        const size_t off = row_bytes * 8 * static_cast<size_t>(g);
        pack_rows8(type, &wq[off], row_bytes, &packed[off]);
      }
      TensorView w = weights_view(packed.data(), type, n, rows, row_bytes);
      w.interleave = kRowsInterleaved;
      std::vector<int64_t> batches = {1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 64, 70, max_nt};
      for (int64_t nt : batches) {
        std::vector<float> y2(static_cast<size_t>(rows * nt)), y512(y2.size());
        matmul_with(*t.avx2, w, x.data(), n, nt, y2.data(), rows);
        matmul_with(*t.avx512, w, x.data(), n, nt, y512.data(), rows);
        for (size_t i = 0; i < y2.size(); ++i)
          ASSERT_EQ(std::memcmp(&y2[i], &y512[i], sizeof(float)), 0)
              << ggml_type_name(type) << " rows " << rows << " tokens " << nt << " output " << i << ": " << y2[i] << " vs " << y512[i];
      }
      // The kernels alone (matmul hands a small matrix to the threads a group or two at a
      // time): rows [0, rows) pairs groups 0+1, 2+3 and leaves the last one alone; rows
      // [8, rows) starts on an odd group.
      const TypeKernel k2 = t.avx2->matmul_rows8[static_cast<int>(type)];
      const TypeKernel k512 = t.avx512->matmul_rows8[static_cast<int>(type)];
      ASSERT_NE(k2.rows, nullptr);
      ASSERT_NE(k512.rows, nullptr);
      ASSERT_EQ(k2.act, ActFormat::kQ8_0);
      const size_t arow = act_row_bytes(ActFormat::kQ8_0, n);
      std::vector<uint8_t> xq(arow * static_cast<size_t>(max_nt));
      for (int64_t tok = 0; tok < max_nt; ++tok)
        t.avx2->quantize_q8_0(&x[static_cast<size_t>(tok * n)], &xq[arow * static_cast<size_t>(tok)], n);
      for (int64_t first_row : {int64_t{0}, int64_t{8}}) {
        for (int64_t nt : batches) {
          std::vector<float> y2(static_cast<size_t>(rows * nt), -1.0f), y512(y2.size(), -1.0f);
          MatmulArgs a2{packed.data(), row_bytes, n, xq.data(), arow, nt, y2.data(), rows};
          MatmulArgs a512 = a2;
          a512.y = y512.data();
          k2.rows(a2, first_row, rows);
          k512.rows(a512, first_row, rows);
          for (size_t i = 0; i < y2.size(); ++i)
            ASSERT_EQ(std::memcmp(&y2[i], &y512[i], sizeof(float)), 0)
                << ggml_type_name(type) << " rows [" << first_row << ", " << rows << ") tokens " << nt << " output " << i
                << ": " << y2[i] << " vs " << y512[i];
        }
      }
    }
  }
}

// The avx512 table's own interleaved kernels, called directly (through matmul the pool may hand
// a thread one group at a time): the 512-bit Q4_K / Q6_K / IQ4_XS kernels take two groups of 8
// rows per call, a lone trailing group goes to the 256-bit kernel, and token tiles of 8 leave
// their remainder to tiles of 4. Row ranges with pairs and an odd group, every remainder of the
// tiles, one token (generation) and a prompt past the 64-token chunk, with extreme codes and
// activations.
TEST(IsaIdentity, InterleavedKernelsGiveTheSameBitsAtEveryRowAndTokenCount) {
  const Pair t = tables();
  if (t.avx2 == nullptr || t.avx512 == nullptr) GTEST_SKIP() << "this CPU cannot run both avx2 and avx512";
  std::mt19937 rng(21);
  for (GgmlType type : kTypes) {
    const int64_t n = 4 * 256, max_rows = 40, max_nt = 75;
    if (!can_interleave_rows8(type, max_rows, n)) continue;
    const TypeKernel k2 = t.avx2->matmul_rows8[static_cast<int>(type)];
    const TypeKernel k512 = t.avx512->matmul_rows8[static_cast<int>(type)];
    ASSERT_TRUE(k2.rows != nullptr && k512.rows != nullptr) << ggml_type_name(type);
    ASSERT_EQ(k2.act, k512.act) << ggml_type_name(type);
    const std::vector<float> wf = extreme_values(max_rows, n, rng);
    const size_t row_bytes = ggml_row_bytes(type, n);
    std::vector<uint8_t> wq(row_bytes * static_cast<size_t>(max_rows)), packed(wq.size());
    for (int64_t r = 0; r < max_rows; ++r)
      quantize_row_for_tests(type, &wf[static_cast<size_t>(r * n)], &wq[static_cast<size_t>(r) * row_bytes], n);
    for (int64_t g = 0; g < max_rows / 8; ++g)
      pack_rows8(type, &wq[row_bytes * 8 * static_cast<size_t>(g)], row_bytes, &packed[row_bytes * 8 * static_cast<size_t>(g)]);
    const std::vector<float> x = extreme_values(max_nt, n, rng);
    const size_t arow = act_row_bytes(k2.act, n);
    std::vector<uint8_t> xq(arow * static_cast<size_t>(max_nt));
    const QuantizeActFn quant = k2.act == ActFormat::kQ8_K ? t.avx2->quantize_q8_k : t.avx2->quantize_q8_0;
    for (int64_t i = 0; i < max_nt; ++i) quant(&x[static_cast<size_t>(i * n)], &xq[arow * static_cast<size_t>(i)], n);
    const int64_t ranges[][2] = {{0, 8}, {0, 16}, {0, 24}, {8, 40}, {0, 40}};
    for (const auto& range : ranges) {
      for (int64_t nt : {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 75}) {
        std::vector<float> y2(static_cast<size_t>(max_rows * nt), -1.0f), y512(y2.size(), -1.0f);
        MatmulArgs args{packed.data(), row_bytes, n, xq.data(), arow, nt, y2.data(), max_rows};
        k2.rows(args, range[0], range[1]);
        args.y = y512.data();
        k512.rows(args, range[0], range[1]);
        for (size_t i = 0; i < y2.size(); ++i)
          ASSERT_EQ(std::memcmp(&y2[i], &y512[i], sizeof(float)), 0)
              << ggml_type_name(type) << " rows " << range[0] << ".." << range[1] << " tokens " << nt << " output " << i
              << ": " << y2[i] << " vs " << y512[i];
      }
    }
  }
}

TEST(IsaIdentity, ActivationQuantisersGiveTheSameBytes) {
  const Pair t = tables();
  if (t.avx2 == nullptr || t.avx512 == nullptr) GTEST_SKIP() << "this CPU cannot run both avx2 and avx512";
  std::mt19937 rng(7);
  const int64_t n = 1024;
  const std::vector<float> x = extreme_values(5, n, rng);
  for (int64_t r = 0; r < 5; ++r) {
    const float* row = &x[static_cast<size_t>(r * n)];
    std::vector<uint8_t> a(4 * static_cast<size_t>(n)), b(a.size());
    t.avx2->quantize_q8_0(row, a.data(), n);
    t.avx512->quantize_q8_0(row, b.data(), n);
    EXPECT_EQ(a, b) << "q8_0 row " << r;
    std::fill(a.begin(), a.end(), 0);
    std::fill(b.begin(), b.end(), 0);
    t.avx2->quantize_q8_k(row, a.data(), n);
    t.avx512->quantize_q8_k(row, b.data(), n);
    EXPECT_EQ(a, b) << "q8_K row " << r;
  }
}

TEST(IsaIdentity, FusedAttentionGivesTheSameBits) {
  const Pair t = tables();
  if (t.avx2 == nullptr || t.avx512 == nullptr) GTEST_SKIP() << "this CPU cannot run both avx2 and avx512";
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t hd : {64, 128, 36}) {
    for (int64_t n_pos : {1, 33, 1000}) {
      std::vector<float> q(static_cast<size_t>(hd)), k(static_cast<size_t>(hd * n_pos)), v(k.size());
      for (auto& e : q) e = 2.0f * nd(rng);
      for (auto& e : k) e = nd(rng);
      for (auto& e : v) e = nd(rng);
      std::vector<uint16_t> k16(k.size()), v16(v.size());
      for (size_t i = 0; i < k.size(); ++i) {
        k16[i] = f32_to_fp16(k[i]);
        v16[i] = f32_to_fp16(v[i]);
      }
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      std::vector<float> a(static_cast<size_t>(hd)), b(a.size());
      const auto stride = static_cast<size_t>(hd);
      t.avx2->attention_f16(q.data(), k16.data(), v16.data(), stride, n_pos, hd, scale, a.data());
      t.avx512->attention_f16(q.data(), k16.data(), v16.data(), stride, n_pos, hd, scale, b.data());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << "f16 hd " << hd << " n_pos " << n_pos;
      t.avx2->attention_f32(q.data(), k.data(), v.data(), stride, n_pos, hd, scale, a.data());
      t.avx512->attention_f32(q.data(), k.data(), v.data(), stride, n_pos, hd, scale, b.data());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << "f32 hd " << hd << " n_pos " << n_pos;
      t.avx2->attention_ext_f16(q.data(), k16.data(), v16.data(), stride, n_pos, hd, scale, 3.0f, kNoSink, a.data());
      t.avx512->attention_ext_f16(q.data(), k16.data(), v16.data(), stride, n_pos, hd, scale, 3.0f, kNoSink, b.data());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << "capped f16 hd " << hd << " n_pos " << n_pos;
      t.avx2->attention_ext_f32(q.data(), k.data(), v.data(), stride, n_pos, hd, scale, 0.0f, 1.5f, a.data());
      t.avx512->attention_ext_f32(q.data(), k.data(), v.data(), stride, n_pos, hd, scale, 0.0f, 1.5f, b.data());
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << "sink f32 hd " << hd << " n_pos " << n_pos;
      // The encoders' block attention: n_pos queries (q's rows repeated, scaled per row).
      std::vector<float> qs(k.size()), ab(k.size()), bb(k.size());
      for (size_t i = 0; i < qs.size(); ++i) qs[i] = q[i % stride] * (1.0f + 0.01f * static_cast<float>(i / stride));
      std::vector<float> scratch(static_cast<size_t>(kAttnBlockQueries) * static_cast<size_t>((n_pos + 7) / 8 * 8));
      t.avx2->attention_block_f32(qs.data(), stride, n_pos, k.data(), v.data(), stride, n_pos, hd, scale, ab.data(), stride,
                                  scratch.data());
      t.avx512->attention_block_f32(qs.data(), stride, n_pos, k.data(), v.data(), stride, n_pos, hd, scale, bb.data(), stride,
                                    scratch.data());
      EXPECT_EQ(std::memcmp(ab.data(), bb.data(), ab.size() * sizeof(float)), 0) << "block f32 hd " << hd << " n_pos " << n_pos;
    }
  }
}

// The quantized-KV kernels (q8_0, q4_0 blocks of 32 along each head), plain, capped and with a sink.
TEST(IsaIdentity, QuantizedKvAttentionGivesTheSameBits) {
  const Pair t = tables();
  if (t.avx2 == nullptr || t.avx512 == nullptr) GTEST_SKIP() << "this CPU cannot run both avx2 and avx512";
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    const AttentionQuantFn KernelTable::*fn =
        type == GgmlType::kQ8_0 ? &KernelTable::attention_q8_0 : &KernelTable::attention_q4_0;
    for (int64_t hd : {64, 128, 256}) {
      for (int64_t n_pos : {1, 33, 1000}) {
        const size_t row_bytes = ggml_row_bytes(type, hd);
        std::vector<float> q(static_cast<size_t>(hd)), x(static_cast<size_t>(hd));
        for (auto& e : q) e = 2.0f * nd(rng);
        std::vector<uint8_t> k(row_bytes * static_cast<size_t>(n_pos)), v(k.size());
        for (int64_t p = 0; p < n_pos; ++p) {
          for (auto& e : x) e = nd(rng);
          quantize_row(type, x.data(), &k[static_cast<size_t>(p) * row_bytes], hd);
          for (auto& e : x) e = nd(rng);
          quantize_row(type, x.data(), &v[static_cast<size_t>(p) * row_bytes], hd);
        }
        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
        std::vector<float> a(static_cast<size_t>(hd)), b(a.size());
        for (const auto& [cap, sink] : {std::pair{0.0f, kNoSink}, std::pair{3.0f, kNoSink}, std::pair{0.0f, 1.5f}}) {
          (t.avx2->*fn)(q.data(), k.data(), v.data(), row_bytes, n_pos, hd, scale, cap, sink, a.data());
          (t.avx512->*fn)(q.data(), k.data(), v.data(), row_bytes, n_pos, hd, scale, cap, sink, b.data());
          EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
              << ggml_type_name(type) << " hd " << hd << " n_pos " << n_pos << " cap " << cap << " sink " << sink;
        }
      }
    }
  }
}

// The group kernels (a GQA group's heads over the same rows, lengths differing per query).
TEST(IsaIdentity, GroupAttentionGivesTheSameBits) {
  const Pair t = tables();
  if (t.avx2 == nullptr || t.avx512 == nullptr) GTEST_SKIP() << "this CPU cannot run both avx2 and avx512";
  std::mt19937 rng(6);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t hd = 128, n_pos = 200, n_q = 12;
  for (GgmlType type : {GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    const size_t row_bytes = ggml_row_bytes(type, hd);
    std::vector<uint8_t> k(row_bytes * static_cast<size_t>(n_pos)), v(k.size());
    std::vector<float> x(static_cast<size_t>(hd));
    for (int64_t p = 0; p < n_pos; ++p) {
      for (auto& e : x) e = nd(rng);
      quantize_row(type, x.data(), &k[static_cast<size_t>(p) * row_bytes], hd);
      for (auto& e : x) e = nd(rng);
      quantize_row(type, x.data(), &v[static_cast<size_t>(p) * row_bytes], hd);
    }
    std::vector<float> q(static_cast<size_t>(n_q * hd)), a(q.size()), b(q.size());
    for (auto& e : q) e = 2.0f * nd(rng);
    std::vector<const float*> qp;
    std::vector<float*> ap, bp;
    std::vector<int64_t> np;
    std::vector<float> sinks;
    for (int64_t i = 0; i < n_q; ++i) {
      qp.push_back(&q[static_cast<size_t>(i * hd)]);
      ap.push_back(&a[static_cast<size_t>(i * hd)]);
      bp.push_back(&b[static_cast<size_t>(i * hd)]);
      np.push_back(n_pos - 7 * i);
      sinks.push_back(0.3f * static_cast<float>(i));
    }
    const AttentionGroupFn KernelTable::*fn = type == GgmlType::kF16    ? &KernelTable::attention_group_f16
                                              : type == GgmlType::kQ8_0 ? &KernelTable::attention_group_q8_0
                                                                        : &KernelTable::attention_group_q4_0;
    for (const auto& [cap, with_sinks] : {std::pair{0.0f, false}, std::pair{3.0f, false}, std::pair{0.0f, true}}) {
      const float* sk = with_sinks ? sinks.data() : nullptr;
      (t.avx2->*fn)(AttnQueries{qp.data(), ap.data(), np.data(), sk, static_cast<int>(n_q)}, k.data(), v.data(), row_bytes,
                    hd, 0.09f, cap);
      (t.avx512->*fn)(AttnQueries{qp.data(), bp.data(), np.data(), sk, static_cast<int>(n_q)}, k.data(), v.data(),
                      row_bytes, hd, 0.09f, cap);
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
          << ggml_type_name(type) << " cap " << cap << " sinks " << with_sinks;
    }
  }
}

}  // namespace
}  // namespace corral
