// The IQ4_NL, IQ4_XS, MXFP4 and lattice-type (IQ3/IQ2/IQ1) kernels of every table this CPU runs
// on blocks made by the reference engines' own quantizers, and on random block bytes
// (tests/testdata/iq): within the error bound of the scalar reference (file layout and, where the
// table has a kernel for it, the 8-row interleaved one), and the same bits for a token alone or
// in a batch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "unit/kernels/random_weights.h"

namespace corral {
namespace {

struct File {
  const char* name;
  GgmlType type;
};

// u32 rows, u32 cols, then the blocks (the floats that follow are checked in unit_tensor).
Weights read_blocks(const File& f) {
  FILE* fp = std::fopen((std::string(CORRAL_SOURCE_DIR "/tests/testdata/iq/") + f.name).c_str(), "rb");
  uint32_t dims[2] = {0, 0};
  std::vector<uint8_t> bytes;
  if (fp != nullptr) {
    if (std::fread(dims, 4, 2, fp) == 2) {
      bytes.resize(ggml_row_bytes(f.type, dims[1]) * dims[0]);
      if (std::fread(bytes.data(), 1, bytes.size(), fp) != bytes.size()) dims[0] = 0;
    }
    std::fclose(fp);
  }
  if (dims[0] == 0) return Weights{};
  return weights_from_bytes(f.type, dims[0], dims[1], std::move(bytes));
}

class ReferenceBlocks : public testing::TestWithParam<File> {};

TEST_P(ReferenceBlocks, EveryTableWithinBoundAndBatchInvariant) {
  const Weights w = read_blocks(GetParam());
  ASSERT_GT(w.view.ne[1], 0) << GetParam().name;
  const int64_t rows = w.view.ne[1], n = w.view.ne[0], nt = 70;
  std::mt19937 rng(11);
  const std::vector<float> x = make_acts(nt, n, rng);
  std::vector<float> y_ref(static_cast<size_t>(rows * nt));
  matmul_with(reference_kernel_table(), w.view, x.data(), n, nt, y_ref.data(), rows);
  for (const std::string& path : runnable_kernel_paths()) {
    const KernelTable& table = *kernel_table_by_name(path);
    ASSERT_NE(table.matmul[static_cast<uint32_t>(GetParam().type)].rows, nullptr) << path;
    const int64_t ablk = act_block(table, GetParam().type);
    std::vector<float> y(y_ref.size());
    matmul_with(table, w.view, x.data(), n, nt, y.data(), rows);
    double worst = 0;
    for (int64_t t = 0; t < nt; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        const size_t i = static_cast<size_t>(t * rows + r);
        const double bound = error_bound(&w.deq[static_cast<size_t>(r * n)], &x[static_cast<size_t>(t * n)], n, ablk);
        ASSERT_LE(std::fabs(static_cast<double>(y[i]) - y_ref[i]), bound) << path << " row " << r << " token " << t;
        worst = std::max(worst, std::fabs(static_cast<double>(y[i]) - y_ref[i]) / bound);
      }
    }
    for (int64_t t : {0, 5, 64, 69}) {
      std::vector<float> one(static_cast<size_t>(rows));
      matmul_with(table, w.view, &x[static_cast<size_t>(t * n)], n, 1, one.data(), rows);
      for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(one[static_cast<size_t>(r)], y[static_cast<size_t>(t * rows + r)]) << path;
    }
    std::printf("  %s %s: worst |kernel - reference| = %.3f of the bound\n", path.c_str(), GetParam().name, worst);
    // The interleaved layout the model repacks to, where the table has a kernel for it.
    if (table.matmul_rows8[static_cast<uint32_t>(GetParam().type)].rows == nullptr) continue;
    ASSERT_TRUE(can_interleave_rows8(GetParam().type, rows, n));
    const std::vector<uint8_t> packed = interleave(w);
    std::vector<float> z(y_ref.size());
    matmul_with(table, interleaved_view(w, packed), x.data(), n, nt, z.data(), rows);
    for (int64_t t = 0; t < nt; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        const size_t i = static_cast<size_t>(t * rows + r);
        ASSERT_LE(std::fabs(static_cast<double>(z[i]) - y_ref[i]),
                  error_bound(&w.deq[static_cast<size_t>(r * n)], &x[static_cast<size_t>(t * n)], n, ablk))
            << path << " interleaved row " << r << " token " << t;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Files, ReferenceBlocks,
                         testing::Values(File{"mainline-iq4_nl-quantized.bin", GgmlType::kIQ4_NL},
                                         File{"ik-iq4_nl-quantized.bin", GgmlType::kIQ4_NL},
                                         File{"mainline-iq4_xs-quantized.bin", GgmlType::kIQ4_XS},
                                         File{"ik-iq4_xs-quantized.bin", GgmlType::kIQ4_XS},
                                         File{"ik-mxfp4-quantized.bin", GgmlType::kMXFP4},
                                         File{"mainline-iq2_xxs-quantized.bin", GgmlType::kIQ2_XXS},
                                         File{"mainline-iq2_xxs-random.bin", GgmlType::kIQ2_XXS},
                                         File{"mainline-iq2_xs-quantized.bin", GgmlType::kIQ2_XS},
                                         File{"mainline-iq2_xs-random.bin", GgmlType::kIQ2_XS},
                                         File{"mainline-iq2_s-quantized.bin", GgmlType::kIQ2_S},
                                         File{"mainline-iq2_s-random.bin", GgmlType::kIQ2_S},
                                         File{"mainline-iq3_xxs-quantized.bin", GgmlType::kIQ3_XXS},
                                         File{"mainline-iq3_xxs-random.bin", GgmlType::kIQ3_XXS},
                                         File{"mainline-iq3_s-quantized.bin", GgmlType::kIQ3_S},
                                         File{"mainline-iq3_s-random.bin", GgmlType::kIQ3_S},
                                         File{"mainline-iq1_s-quantized.bin", GgmlType::kIQ1_S},
                                         File{"mainline-iq1_s-random.bin", GgmlType::kIQ1_S},
                                         File{"mainline-iq1_m-quantized.bin", GgmlType::kIQ1_M},
                                         File{"mainline-iq1_m-random.bin", GgmlType::kIQ1_M}),
                         [](const auto& p) {
                           std::string s = p.param.name;
                           for (char& c : s)
                             if (c == '-' || c == '.') c = '_';
                           return s;
                         });

}  // namespace
}  // namespace corral
