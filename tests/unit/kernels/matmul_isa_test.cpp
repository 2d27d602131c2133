// Every kernel table this CPU can run against the scalar reference table: matmul for every
// supported weight type at awkward sizes, with an explicit error bound per (row, token); batch,
// position and row-split invariance (bit-exact); activation quantisers; fused attention.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "gguf/ggml_type.h"
#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "tensor/quant.h"
#include "unit/kernels/random_weights.h"

namespace corral {
namespace {

const GgmlType kTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ8_0,
                           GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                           GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K, GgmlType::kQ5_K,
                           GgmlType::kQ6_K, GgmlType::kIQ4_NL, GgmlType::kIQ4_XS, GgmlType::kMXFP4,
                           GgmlType::kIQ2_XXS, GgmlType::kIQ2_XS, GgmlType::kIQ2_S, GgmlType::kIQ3_XXS,
                           GgmlType::kIQ3_S, GgmlType::kIQ1_S, GgmlType::kIQ1_M};

struct PathType {
  std::string path;
  GgmlType type;
};

std::vector<PathType> all_path_types() {
  std::vector<PathType> out;
  for (const char* p : {"avx2", "avx512", "amx"})
    for (GgmlType t : kTypes) out.push_back({p, t});
  return out;
}

class IsaMatmul : public testing::TestWithParam<PathType> {};

TEST_P(IsaMatmul, MatchesReferenceWithinBound) {
  const KernelTable* table = kernel_table_by_name(GetParam().path);
  if (table == nullptr) GTEST_SKIP() << GetParam().path << " cannot run on this CPU";
  const GgmlType type = GetParam().type;
  const int64_t blk = ggml_type_info(type).block_elems;
  const int64_t unit = std::max<int64_t>(blk, 32);  // activation blocks need multiples of 32
  std::mt19937 rng(1234 + static_cast<unsigned>(type));
  struct Shape { int64_t rows, n, n_tokens; };
  const Shape shapes[] = {{1, unit, 1}, {3, unit, 3}, {17, 7 * unit, 17}, {5, 16 * unit, 1},
                          {33, 3 * unit, 5}, {2, 48 * std::max<int64_t>(unit, 64), 4}};
  const KernelTable& ref = reference_kernel_table();
  const int64_t ablk = act_block(*table, type);
  for (const Shape& s : shapes) {
    Weights w = make_weights(type, s.rows, s.n, rng);
    std::vector<float> x = make_acts(s.n_tokens, s.n, rng);
    std::vector<float> y(static_cast<size_t>(s.rows * s.n_tokens), NAN);
    std::vector<float> y_ref(y.size(), NAN);
    matmul_with(*table, w.view, x.data(), s.n, s.n_tokens, y.data(), s.rows);
    matmul_with(ref, w.view, x.data(), s.n, s.n_tokens, y_ref.data(), s.rows);
    for (int64_t t = 0; t < s.n_tokens; ++t) {
      for (int64_t r = 0; r < s.rows; ++r) {
        const size_t i = static_cast<size_t>(t * s.rows + r);
        const double bound = error_bound(&w.deq[static_cast<size_t>(r * s.n)], &x[static_cast<size_t>(t * s.n)], s.n, ablk);
        ASSERT_LE(std::fabs(static_cast<double>(y[i]) - y_ref[i]), bound)
            << ggml_type_name(type) << " rows=" << s.rows << " n=" << s.n << " n_tokens=" << s.n_tokens
            << " row " << r << " token " << t << " got " << y[i] << " want " << y_ref[i];
      }
    }
  }
}

// A token's result is bit-identical alone, at any position of a batch of 17, and under any
// split of the rows (what a different thread count would do).
TEST_P(IsaMatmul, InvariantToBatchPositionAndRowSplit) {
  const KernelTable* table = kernel_table_by_name(GetParam().path);
  if (table == nullptr) GTEST_SKIP() << GetParam().path << " cannot run on this CPU";
  const GgmlType type = GetParam().type;
  const int64_t unit = std::max<int64_t>(ggml_type_info(type).block_elems, 32);
  std::mt19937 rng(99);
  // 150 tokens cross the 64-token chunks, 137 rows the 128-row blocks of the prompt driver.
  const int64_t rows = 137, n = 4 * unit, nt = 150;
  Weights w = make_weights(type, rows, n, rng);
  std::vector<float> x = make_acts(nt, n, rng);
  std::vector<float> y_batch(static_cast<size_t>(rows * nt));
  matmul_with(*table, w.view, x.data(), n, nt, y_batch.data(), rows);
  for (int64_t t : {0, 3, 4, 13, 16, 63, 64, 65, 128, 149}) {
    std::vector<float> y_one(static_cast<size_t>(rows));
    matmul_with(*table, w.view, &x[static_cast<size_t>(t * n)], n, 1, y_one.data(), rows);
    for (int64_t r = 0; r < rows; ++r)
      ASSERT_EQ(y_one[static_cast<size_t>(r)], y_batch[static_cast<size_t>(t * rows + r)]) << "token " << t << " row " << r;
  }
  // The row kernel called on two uneven halves, as two threads would.
  const TypeKernel& k = table->matmul[static_cast<uint32_t>(type)];
  ASSERT_NE(k.rows, nullptr);
  if (k.act == ActFormat::kF32) {
    std::vector<float> y_split(y_batch.size());
    MatmulArgs args{w.bytes.data(), w.view.row_bytes, n, x.data(), static_cast<size_t>(n) * 4, nt, y_split.data(), rows};
    k.rows(args, 0, 11);
    k.rows(args, 11, rows);
    EXPECT_EQ(y_split, y_batch);
  }
}

std::string path_type_name(const testing::TestParamInfo<PathType>& info) {
  return info.param.path + "_" + std::string(ggml_type_name(info.param.type));
}

INSTANTIATE_TEST_SUITE_P(AllPaths, IsaMatmul, testing::ValuesIn(all_path_types()), path_type_name);

class IsaPath : public testing::TestWithParam<std::string> {};

TEST_P(IsaPath, ActivationQuantisersReconstructWithinHalfAStep) {
  const KernelTable* table = kernel_table_by_name(GetParam());
  if (table == nullptr) GTEST_SKIP() << GetParam() << " cannot run on this CPU";
  std::mt19937 rng(5);
  const int64_t n = 512;
  std::vector<float> x = make_acts(1, n, rng);
  std::fill(x.begin() + 256, x.begin() + 288, 0.0f);  // an all-zero block
  std::vector<ActBlockQ8_0> q0(static_cast<size_t>(n / 32));
  table->quantize_q8_0(x.data(), q0.data(), n);
  for (int64_t b = 0; b < n / 32; ++b) {
    const ActBlockQ8_0& blk = q0[static_cast<size_t>(b)];
    int sum = 0;
    for (int i = 0; i < 32; ++i) {
      const float v = x[static_cast<size_t>(b * 32 + i)];
      EXPECT_LE(std::fabs(blk.d * blk.qs[i] - v), blk.d * 0.501f + 1e-7f) << "block " << b << " i " << i;
      sum += blk.qs[i];
    }
    EXPECT_FLOAT_EQ(blk.s, blk.d * static_cast<float>(sum));
  }
  EXPECT_EQ(q0[8].d, 0.0f);
  std::vector<ActBlockQ8_K> qk(static_cast<size_t>(n / 256));
  table->quantize_q8_k(x.data(), qk.data(), n);
  for (int64_t b = 0; b < n / 256; ++b) {
    const ActBlockQ8_K& blk = qk[static_cast<size_t>(b)];
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int i = 16 * j; i < 16 * j + 16; ++i) {
        const float v = x[static_cast<size_t>(b * 256 + i)];
        EXPECT_LE(std::fabs(blk.d * blk.qs[i] - v), blk.d * 0.501f + 1e-7f);
        sum += blk.qs[i];
      }
      EXPECT_EQ(blk.bsums[j], sum) << "block " << b << " sub-block " << j;
    }
  }
}

TEST_P(IsaPath, FusedAttentionMatchesReference) {
  const KernelTable* table = kernel_table_by_name(GetParam());
  if (table == nullptr) GTEST_SKIP() << GetParam() << " cannot run on this CPU";
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t hd : {64, 128, 36}) {
    for (int64_t n_pos : {1, 31, 32, 33, 100, 1000}) {
      const size_t stride = static_cast<size_t>(hd) * 3;  // other KV heads interleaved
      std::vector<float> q(static_cast<size_t>(hd)), k(stride * static_cast<size_t>(n_pos)), v(k.size());
      for (auto& e : q) e = nd(rng) * 2.0f;
      for (auto& e : k) e = nd(rng);
      for (auto& e : v) e = nd(rng);
      std::vector<uint16_t> k16(k.size()), v16(v.size());
      for (size_t i = 0; i < k.size(); ++i) {
        k16[i] = f32_to_fp16(k[i]);
        v16[i] = f32_to_fp16(v[i]);
      }
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      std::vector<float> out(static_cast<size_t>(hd)), want(out.size());
      // The kernels read head 1 of 3: offset hd into each row.
      table->attention_f32(q.data(), &k[static_cast<size_t>(hd)], &v[static_cast<size_t>(hd)], stride, n_pos, hd, scale, out.data());
      attention_f32_ref(q.data(), &k[static_cast<size_t>(hd)], &v[static_cast<size_t>(hd)], stride, n_pos, hd, scale, want.data());
      for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5) << "f32 hd " << hd << " n_pos " << n_pos << " i " << i;
      table->attention_f16(q.data(), &k16[static_cast<size_t>(hd)], &v16[static_cast<size_t>(hd)], stride, n_pos, hd, scale, out.data());
      attention_f16_ref(q.data(), &k16[static_cast<size_t>(hd)], &v16[static_cast<size_t>(hd)], stride, n_pos, hd, scale, want.data());
      for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5) << "f16 hd " << hd << " n_pos " << n_pos << " i " << i;
    }
  }
}

// Gemma 2's soft-capped scores and gpt-oss's sink logit run in the same fused kernel: each table
// agrees with the scalar reference (all scores, cap, softmax with the sink term), plain
// attention keeps its bits when neither is asked for, and both transforms change the result
// (a kernel ignoring them would fail here).
TEST_P(IsaPath, FusedAttentionWithCapOrSinkMatchesReference) {
  const KernelTable* table = kernel_table_by_name(GetParam());
  if (table == nullptr) GTEST_SKIP() << GetParam() << " cannot run on this CPU";
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  struct Case {
    float cap, sink;
  };
  const Case cases[] = {{0.0f, kNoSink}, {2.0f, kNoSink}, {50.0f, kNoSink}, {0.0f, -3.0f}, {0.0f, 0.5f}, {0.0f, 6.0f}};
  for (int64_t hd : {64, 36}) {
    for (int64_t n_pos : {1, 33, 200}) {
      const size_t stride = static_cast<size_t>(hd) * 2;
      std::vector<float> q(static_cast<size_t>(hd)), k(stride * static_cast<size_t>(n_pos)), v(k.size());
      for (auto& e : q) e = nd(rng) * 3.0f;
      for (auto& e : k) e = nd(rng);
      for (auto& e : v) e = nd(rng);
      std::vector<uint16_t> k16(k.size()), v16(v.size());
      for (size_t i = 0; i < k.size(); ++i) {
        k16[i] = f32_to_fp16(k[i]);
        v16[i] = f32_to_fp16(v[i]);
      }
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      std::vector<float> plain(static_cast<size_t>(hd)), out(plain.size()), want(plain.size());
      table->attention_f32(q.data(), k.data(), v.data(), stride, n_pos, hd, scale, plain.data());
      for (const Case& c : cases) {
        const std::string what = "hd " + std::to_string(hd) + " n_pos " + std::to_string(n_pos) + " cap " +
                                 std::to_string(c.cap) + " sink " + std::to_string(c.sink);
        table->attention_ext_f32(q.data(), k.data(), v.data(), stride, n_pos, hd, scale, c.cap, c.sink, out.data());
        attention_ext_f32_ref(q.data(), k.data(), v.data(), stride, n_pos, hd, scale, c.cap, c.sink, want.data());
        for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5) << "f32 " << what << " i " << i;
        if (c.cap == 0.0f && c.sink == kNoSink) {
          EXPECT_EQ(std::memcmp(out.data(), plain.data(), out.size() * sizeof(float)), 0) << what;
        } else if (c.sink >= 6.0f || (c.cap == 2.0f && n_pos > 1)) {  // cases whose effect is large
          float diff = 0.0f;
          for (size_t i = 0; i < out.size(); ++i) diff = std::max(diff, std::fabs(out[i] - plain[i]));
          EXPECT_GT(diff, 1e-3f) << "the transform changed nothing: " << what;
        }
        table->attention_ext_f16(q.data(), k16.data(), v16.data(), stride, n_pos, hd, scale, c.cap, c.sink, out.data());
        attention_ext_f16_ref(q.data(), k16.data(), v16.data(), stride, n_pos, hd, scale, c.cap, c.sink, want.data());
        for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5) << "f16 " << what << " i " << i;
      }
    }
  }
}

// corral bench divides the multiply-adds the peak loop claims by its time, so the loop must do
// exactly that many (six chains: weights 1, 2, 3 against activations x0 and 5), and on the
// avx512 table with 512-bit vectors, the widest the CPU runs.
TEST_P(IsaPath, Int8PeakLoopDoesTheMultiplyAddsItCounts) {
  const KernelTable* table = kernel_table_by_name(GetParam());
  if (table == nullptr) GTEST_SKIP() << GetParam() << " cannot run on this CPU";
  if (GetParam() == "amx") GTEST_SKIP() << "the amx table's peak loop runs on tiles, not on these chains";
  const int64_t madds = table->int8_peak_madds_per_iter > 0 ? table->int8_peak_madds_per_iter : kInt8PeakMaddsPerIter;
  for (int64_t iters : {1, 8, 37}) {
    const int64_t x0 = (iters & 1) + 1;
    EXPECT_EQ(table->int8_peak(iters), iters * (madds / 6) * (6 * x0 + 30)) << iters;
  }
  EXPECT_EQ(madds, GetParam() == "avx512" ? 6 * 64 : 6 * 32);
}

INSTANTIATE_TEST_SUITE_P(AllPaths, IsaPath, testing::Values("avx2", "avx512", "amx"));

TEST(KernelDispatch, NamesAndFallbacks) {
  ASSERT_NE(kernel_table_by_name("scalar"), nullptr);
  EXPECT_EQ(kernel_table_by_name("scalar"), &reference_kernel_table());
  EXPECT_EQ(kernel_table_by_name("no-such-isa"), nullptr);
  const std::vector<std::string> paths = runnable_kernel_paths();
  ASSERT_FALSE(paths.empty());
  EXPECT_EQ(paths.front(), "scalar");
  // The table in use is one this CPU can run.
  const std::string chosen = kernel_table().name;
  EXPECT_NE(std::find(paths.begin(), paths.end(), chosen), paths.end()) << chosen;
  // Every runnable table has every supported type (optimised or the reference fallback).
  for (const std::string& p : paths) {
    const KernelTable* t = kernel_table_by_name(p);
    ASSERT_NE(t, nullptr);
    EXPECT_NE(t->attention_f16, nullptr);
    if (p != "scalar") {
      for (GgmlType type : kTypes) EXPECT_NE(t->matmul[static_cast<uint32_t>(type)].rows, nullptr) << p;
    }
  }
}

}  // namespace
}  // namespace corral
