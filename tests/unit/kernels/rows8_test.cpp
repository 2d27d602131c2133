// Weights interleaved by 8 rows (kernels/repack.h): packing is a lossless reordering, every
// table's interleaved kernel matches the scalar reference within the usual bound at awkward
// sizes, a row's result is bit-identical alone, anywhere in a batch and under any split of the
// groups, and tables without an interleaved kernel (scalar) still compute interleaved weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/fp16.h"
#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/repack.h"
#include "unit/kernels/random_weights.h"

namespace corral {
namespace {

const GgmlType kInterleaved[] = {GgmlType::kQ4_0, GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ6_K,
                                 GgmlType::kIQ4_NL, GgmlType::kMXFP4, GgmlType::kIQ4_XS};

TEST(Rows8, OnlyWholeGroupsOfWholeBlocks) {
  EXPECT_TRUE(can_interleave_rows8(GgmlType::kQ4_K, 16, 512));
  EXPECT_TRUE(can_interleave_rows8(GgmlType::kQ6_K, 8, 256));
  EXPECT_FALSE(can_interleave_rows8(GgmlType::kQ4_K, 12, 512));  // not a multiple of 8 rows
  EXPECT_FALSE(can_interleave_rows8(GgmlType::kQ4_K, 16, 0));
  EXPECT_FALSE(can_interleave_rows8(GgmlType::kQ5_K, 16, 512));  // no interleaved layout
  EXPECT_TRUE(can_interleave_rows8(GgmlType::kQ4_0, 8, 96));      // Q4_0 blocks are 32 wide
  EXPECT_FALSE(can_interleave_rows8(GgmlType::kQ4_K, 8, 96));
}

TEST(Rows8, PackThenUnpackGivesTheFileBytesBack) {
  std::mt19937 rng(17);
  for (GgmlType type : kInterleaved) {
    Weights w = make_weights(type, 16, 768, rng);
    const std::vector<uint8_t> packed = interleave(w);
    EXPECT_NE(packed, w.bytes) << "packing must reorder";
    std::vector<uint8_t> back(packed.size());
    const size_t group = w.view.row_bytes * kRowsInterleaved;
    for (size_t off = 0; off < back.size(); off += group) unpack_rows8(type, &packed[off], w.view.row_bytes, &back[off]);
    EXPECT_EQ(back, w.bytes) << ggml_type_name(type);
  }
}

struct PathType {
  std::string path;
  GgmlType type;
};

class Rows8Matmul : public testing::TestWithParam<PathType> {};

// Every table: the interleaved weights against the scalar reference on the file layout. The
// scalar table has no interleaved kernel and unpacks each group (its result must be exact).
TEST_P(Rows8Matmul, MatchesReferenceWithinBound) {
  const KernelTable* table = kernel_table_by_name(GetParam().path);
  if (table == nullptr) GTEST_SKIP() << GetParam().path << " cannot run on this CPU";
  const GgmlType type = GetParam().type;
  std::mt19937 rng(4321 + static_cast<unsigned>(type));
  struct Shape { int64_t rows, n, n_tokens; };
  std::vector<Shape> shapes = {{8, 256, 1}, {16, 768, 3}, {40, 2304, 9}, {8, 4096, 5}, {24, 512, 17}};
  if (ggml_type_info(type).block_elems == 32) shapes.push_back({16, 96, 6});  // 3 blocks of 32
  const KernelTable& ref = reference_kernel_table();
  const int64_t ablk = act_block(*table, type);
  for (const Shape& s : shapes) {
    Weights w = make_weights(type, s.rows, s.n, rng);
    const std::vector<uint8_t> packed = interleave(w);
    std::vector<float> x = make_acts(s.n_tokens, s.n, rng);
    std::vector<float> y(static_cast<size_t>(s.rows * s.n_tokens), NAN), y_ref(y.size(), NAN);
    matmul_with(*table, interleaved_view(w, packed), x.data(), s.n, s.n_tokens, y.data(), s.rows);
    matmul_with(ref, w.view, x.data(), s.n, s.n_tokens, y_ref.data(), s.rows);
    for (int64_t t = 0; t < s.n_tokens; ++t) {
      for (int64_t r = 0; r < s.rows; ++r) {
        const size_t i = static_cast<size_t>(t * s.rows + r);
        if (table == &ref) {
          ASSERT_EQ(y[i], y_ref[i]) << "row " << r << " token " << t;
          continue;
        }
        const double bound = error_bound(&w.deq[static_cast<size_t>(r * s.n)], &x[static_cast<size_t>(t * s.n)], s.n, ablk);
        ASSERT_LE(std::fabs(static_cast<double>(y[i]) - y_ref[i]), bound)
            << ggml_type_name(type) << " rows=" << s.rows << " n=" << s.n << " n_tokens=" << s.n_tokens << " row " << r
            << " token " << t << " got " << y[i] << " want " << y_ref[i];
      }
    }
  }
}

// The 16-bit partial sums are sized for the largest codes and activations: rows of all +max,
// all -max and alternating signs against activations of all +1, all -1 and alternating (every
// quantised activation at +-127) must still match the reference.
TEST_P(Rows8Matmul, ExtremeValuesDoNotOverflowTheSixteenBitSums) {
  const KernelTable* table = kernel_table_by_name(GetParam().path);
  if (table == nullptr) GTEST_SKIP() << GetParam().path << " cannot run on this CPU";
  const GgmlType type = GetParam().type;
  const int64_t rows = 16, n = 512, nt = 4;
  auto pattern = [](int64_t r, int64_t i) {
    switch (r % 3) {
      case 0: return 1.0f;
      case 1: return -1.0f;
      default: return (i % 2) ? 1.0f : -1.0f;
    }
  };
  // Every code at its largest magnitude (nibbles 15, 6-bit codes 63 with scale 127, Q8_0 -128
  // and +127, IQ4_NL's -127 and 113), scales and mins at 63, d = 1/64.
  const size_t row_bytes = ggml_row_bytes(type, n);
  std::vector<uint8_t> bytes(row_bytes * rows, 0xFF);
  const uint16_t d = f32_to_fp16(1.0f / 64.0f);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* p = &bytes[static_cast<size_t>(r) * row_bytes];
    for (size_t off = 0; off < row_bytes; off += ggml_type_info(type).block_bytes) {
      if (type == GgmlType::kQ4_0) {
        std::memcpy(p + off, &d, 2);
      } else if (type == GgmlType::kQ8_0) {
        std::memcpy(p + off, &d, 2);
        std::memset(p + off + 2, r % 2 ? 0x7F : 0x80, 32);
      } else if (type == GgmlType::kQ4_K) {
        std::memcpy(p + off, &d, 2);
        std::memcpy(p + off + 2, &d, 2);
      } else if (type == GgmlType::kQ6_K) {
        std::memset(p + off + 192, 0x7F, 16);
        std::memcpy(p + off + 208, &d, 2);
      } else if (type == GgmlType::kIQ4_NL) {  // code 0: -127, the largest magnitude
        std::memcpy(p + off, &d, 2);
        std::memset(p + off + 2, r % 2 ? 0x00 : 0xFF, 16);
      } else if (type == GgmlType::kMXFP4) {  // code 15: -12 (E2M1 -6), exponent 2^-6
        p[off] = 122;
      } else if (type == GgmlType::kIQ4_XS) {  // scales 63 - 32 = 31 (0xFF) or -32 (0x00)
        std::memcpy(p + off, &d, 2);
        if (r % 2) std::memset(p + off + 2, 0x00, 6);
        std::memset(p + off + 8, r % 4 < 2 ? 0x00 : 0xFF, 128);
      }
    }
  }
  const Weights w = weights_from_bytes(type, rows, n, std::move(bytes));
  const std::vector<uint8_t> packed = interleave(w);
  std::vector<float> x(static_cast<size_t>(nt * n));
  for (int64_t t = 0; t < nt; ++t)
    for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(t * n + i)] = pattern(t, i);
  std::vector<float> y(static_cast<size_t>(rows * nt)), y_ref(y.size());
  matmul_with(*table, interleaved_view(w, packed), x.data(), n, nt, y.data(), rows);
  matmul_with(reference_kernel_table(), w.view, x.data(), n, nt, y_ref.data(), rows);
  const int64_t ablk = act_block(*table, type);
  for (int64_t t = 0; t < nt; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      const size_t i = static_cast<size_t>(t * rows + r);
      const double bound = error_bound(&w.deq[static_cast<size_t>(r * n)], &x[static_cast<size_t>(t * n)], n, ablk);
      ASSERT_LE(std::fabs(static_cast<double>(y[i]) - y_ref[i]), bound)
          << ggml_type_name(type) << " row " << r << " token " << t << " got " << y[i] << " want " << y_ref[i];
    }
}

TEST_P(Rows8Matmul, InvariantToBatchPositionAndGroupSplit) {
  const KernelTable* table = kernel_table_by_name(GetParam().path);
  if (table == nullptr) GTEST_SKIP() << GetParam().path << " cannot run on this CPU";
  const GgmlType type = GetParam().type;
  const TypeKernel& k8 = table->matmul_rows8[static_cast<uint32_t>(type)];
  if (k8.rows == nullptr) GTEST_SKIP() << table->name << " has no interleaved kernel";
  std::mt19937 rng(77);
  // 150 tokens cross the driver's 64-token chunks (and 16-group blocks need > 128 rows).
  const int64_t rows = 136, n = 512, nt = 150;
  Weights w = make_weights(type, rows, n, rng);
  const std::vector<uint8_t> packed = interleave(w);
  const TensorView v = interleaved_view(w, packed);
  std::vector<float> x = make_acts(nt, n, rng);
  std::vector<float> y_batch(static_cast<size_t>(rows * nt));
  matmul_with(*table, v, x.data(), n, nt, y_batch.data(), rows);
  for (int64_t t : {0, 3, 4, 7, 10, 63, 64, 65, 127, 128, 149}) {
    std::vector<float> y_one(static_cast<size_t>(rows));
    matmul_with(*table, v, &x[static_cast<size_t>(t * n)], n, 1, y_one.data(), rows);
    for (int64_t r = 0; r < rows; ++r)
      ASSERT_EQ(y_one[static_cast<size_t>(r)], y_batch[static_cast<size_t>(t * rows + r)]) << "token " << t << " row " << r;
  }
  // Small batches (a decode step of 2..7 streams) run as one narrower tile: the same bits.
  for (int64_t small = 2; small <= 7; ++small) {
    std::vector<float> y_small(static_cast<size_t>(rows * small));
    matmul_with(*table, v, x.data(), n, small, y_small.data(), rows);
    for (int64_t i = 0; i < rows * small; ++i)
      ASSERT_EQ(y_small[static_cast<size_t>(i)], y_batch[static_cast<size_t>(i)]) << small << " tokens, output " << i;
  }
  // The group kernel on two uneven splits of the groups, as two threads would run it.
  const size_t act_bytes = act_row_bytes(k8.act, n);
  const QuantizeActFn quantize = k8.act == ActFormat::kQ8_0 ? table->quantize_q8_0 : table->quantize_q8_k;
  std::vector<uint8_t> act(act_bytes * static_cast<size_t>(nt));
  for (int64_t t = 0; t < nt; ++t) quantize(&x[static_cast<size_t>(t * n)], &act[act_bytes * static_cast<size_t>(t)], n);
  std::vector<float> y_split(y_batch.size(), NAN);
  MatmulArgs args{packed.data(), w.view.row_bytes, n, act.data(), act_bytes, nt, y_split.data(), rows};
  k8.rows(args, 0, 8);
  k8.rows(args, 8, rows);
  EXPECT_EQ(y_split, y_batch);
}

// One row read back (embedding lookups of a tied output matrix) equals the file row.
TEST_P(Rows8Matmul, GetRowOfInterleavedWeights) {
  if (GetParam().path != "avx2") GTEST_SKIP() << "layout only; one path is enough";
  std::mt19937 rng(5);
  Weights w = make_weights(GetParam().type, 16, 512, rng);
  const std::vector<uint8_t> packed = interleave(w);
  const TensorView v = interleaved_view(w, packed);
  std::vector<float> row(512);
  for (int64_t r : {0, 7, 8, 15}) {
    get_row_f32(v, r, row.data());
    for (int64_t i = 0; i < 512; ++i) ASSERT_EQ(row[static_cast<size_t>(i)], w.deq[static_cast<size_t>(r * 512 + i)]);
  }
}

// matmul_many (Q/K/V, gate/up) gives each matrix exactly what its own matmul gives: mixed
// layouts and types sharing one quantisation, and mixed activation formats (done one by one).
TEST(MatmulMany, SameBitsAsOneProductEach) {
  std::mt19937 rng(9);
  const int64_t n = 512, nt = 5;
  Weights a = make_weights(GgmlType::kQ4_K, 24, n, rng);
  Weights b = make_weights(GgmlType::kQ6_K, 16, n, rng);
  Weights c = make_weights(GgmlType::kQ4_K, 13, n, rng);  // stays in the file layout
  Weights d = make_weights(GgmlType::kQ5_0, 8, n, rng);   // other activation format
  const std::vector<uint8_t> pa = interleave(a), pb = interleave(b);
  const TensorView va = interleaved_view(a, pa), vb = interleaved_view(b, pb);
  std::vector<float> x = make_acts(nt, n, rng);
  for (const std::string& path : runnable_kernel_paths()) {
    const KernelTable* table = kernel_table_by_name(path);
    std::vector<float> ya(static_cast<size_t>(24 * nt)), yb(static_cast<size_t>(16 * nt)), yc(static_cast<size_t>(13 * nt)),
        yd(static_cast<size_t>(8 * nt));
    std::vector<float> ea(ya.size()), eb(yb.size()), ec(yc.size()), ed(yd.size());
    const MatmulOut outs[] = {{&va, ya.data(), 24}, {&vb, yb.data(), 16}, {&c.view, yc.data(), 13}, {&d.view, yd.data(), 8}};
    matmul_many_with(*table, outs, x.data(), n, nt);
    matmul_with(*table, va, x.data(), n, nt, ea.data(), 24);
    matmul_with(*table, vb, x.data(), n, nt, eb.data(), 16);
    matmul_with(*table, c.view, x.data(), n, nt, ec.data(), 13);
    matmul_with(*table, d.view, x.data(), n, nt, ed.data(), 8);
    EXPECT_EQ(ya, ea) << path;
    EXPECT_EQ(yb, eb) << path;
    EXPECT_EQ(yc, ec) << path;
    EXPECT_EQ(yd, ed) << path;
    const MatmulOut same_format[] = {{&va, ya.data(), 24}, {&c.view, yc.data(), 13}, {&vb, yb.data(), 16}};
    std::fill(ya.begin(), ya.end(), NAN);
    std::fill(yc.begin(), yc.end(), NAN);
    matmul_many_with(*table, same_format, x.data(), n, nt);
    EXPECT_EQ(ya, ea) << path;
    EXPECT_EQ(yc, ec) << path;
  }
}

// matmul_jobs (the experts of a MoE prompt) gives each job exactly what its own matmul gives:
// different weights over different activations and token counts, interleaved and file
// layouts, two activation formats, a job sharing the activations of the one before it, a job
// of no tokens (leaves its output alone), on every table this CPU runs.
TEST(MatmulJobs, SameBitsAsOneProductEach) {
  std::mt19937 rng(10);
  const int64_t n = 512;
  Weights a = make_weights(GgmlType::kQ4_K, 24, n, rng);
  Weights b = make_weights(GgmlType::kQ6_K, 16, n, rng);
  Weights c = make_weights(GgmlType::kQ4_K, 13, n, rng);  // stays in the file layout
  Weights d = make_weights(GgmlType::kQ5_0, 8, n, rng);   // Q8_0 activations, not Q8_K
  Weights f = make_weights(GgmlType::kF32, 8, n, rng);    // float activations
  const std::vector<uint8_t> pa = interleave(a), pb = interleave(b);
  const TensorView va = interleaved_view(a, pa), vb = interleaved_view(b, pb);
  const std::vector<float> x1 = make_acts(5, n, rng), x2 = make_acts(3, n, rng), x3 = make_acts(1, n, rng);
  struct Case {
    const TensorView* w;
    const float* x;
    int64_t nt;
  };
  const Case cases[] = {{&va, x1.data(), 5}, {&vb, x1.data(), 5},  // shares x1's quantisation
                        {&c.view, x2.data(), 3}, {&d.view, x2.data(), 3}, {&f.view, x3.data(), 1},
                        {&va, x3.data(), 1}, {&vb, x2.data(), 0}};
  for (const std::string& path : runnable_kernel_paths()) {
    const KernelTable* table = kernel_table_by_name(path);
    std::vector<std::vector<float>> got, want;
    std::vector<MatmulJob> jobs;
    for (const Case& k : cases) {
      const int64_t rows = k.w->ne[1];
      got.emplace_back(static_cast<size_t>(rows * std::max<int64_t>(k.nt, 1)), 7.0f);
      want.emplace_back(got.back());
    }
    for (size_t i = 0; i < std::size(cases); ++i) {
      const Case& k = cases[i];
      jobs.push_back({k.w, k.x, n, k.nt, got[i].data(), k.w->ne[1]});
      if (k.nt > 0) matmul_with(*table, *k.w, k.x, n, k.nt, want[i].data(), k.w->ne[1]);
    }
    matmul_jobs_with(*table, jobs);
    for (size_t i = 0; i < std::size(cases); ++i) EXPECT_EQ(got[i], want[i]) << path << " job " << i;
  }
}

std::vector<PathType> all_path_types() {
  std::vector<PathType> out;
  for (const char* p : {"scalar", "avx2", "avx512", "amx", "amx-emulated"})
    for (GgmlType t : kInterleaved) out.push_back({p, t});
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllPaths, Rows8Matmul, testing::ValuesIn(all_path_types()),
                         [](const testing::TestParamInfo<PathType>& p) {
                           std::string name = p.param.path + "_" + std::string(ggml_type_name(p.param.type));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace corral
