// The AMX tile kernels (kernels/x86/amx/): whole 16-token tiles on the tiles, the rest on the
// vector kernel, and every (row, token) result the same bits as the vector table's, whatever
// the number of tokens, rows and columns. Checked through the tile model (amx-emulated) on any
// AVX2 CPU, and on the hardware tiles where the CPU has them ("amx" against avx512). Also the
// model itself (it counts what hardware would refuse) and the dispatcher's guard
// (rows8_kernels_agree), which must notice a table that is off by one bit.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/repack.h"
#include "kernels/table_check.h"
#include "kernels/x86/x86_tables.h"
#include "unit/kernels/random_weights.h"

namespace corral {
namespace {

const GgmlType kTileTypes[] = {GgmlType::kQ4_0, GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ6_K};

struct TablePair {
  std::string tiles, vector;
};
void PrintTo(const TablePair& p, std::ostream* os) { *os << p.tiles << " vs " << p.vector; }

class AmxTiles : public testing::TestWithParam<TablePair> {
 protected:
  void SetUp() override {
    tiles_ = kernel_table_by_name(GetParam().tiles);
    vector_ = kernel_table_by_name(GetParam().vector);
    if (tiles_ == nullptr || vector_ == nullptr) GTEST_SKIP() << GetParam().tiles << " cannot run on this CPU";
    faults_before_ = amx_emulated_faults();
  }
  void TearDown() override {
    if (tiles_ != nullptr) {
      EXPECT_EQ(amx_emulated_faults(), faults_before_) << "the tile model saw an instruction hardware would refuse";
    }
  }
  const KernelTable* tiles_ = nullptr;
  const KernelTable* vector_ = nullptr;
  int64_t faults_before_ = 0;
};

// Token counts around the tile (16) and pass (32) sizes and the 64-token chunks; rows across the
// 16-group blocks; one block, a few, and a long row.
TEST_P(AmxTiles, SameBitsAsTheVectorTableAtAwkwardSizes) {
  std::mt19937 rng(2024);
  for (GgmlType type : kTileTypes) {
    ASSERT_NE(tiles_->matmul_rows8[static_cast<int>(type)].rows, vector_->matmul_rows8[static_cast<int>(type)].rows)
        << "the tile table must replace the " << ggml_type_name(type) << " kernel";
    const int64_t blk = ggml_type_info(type).block_elems;
    for (int64_t n : {blk, 3 * blk, 2048 + 2 * blk}) {
      for (int64_t rows : {8, 24, 136}) {
        Weights w = make_weights(type, rows, n, rng);
        const std::vector<uint8_t> packed = interleave(w);
        const TensorView v = interleaved_view(w, packed);
        for (int64_t nt : {1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100}) {
          if (n > 1024 && rows > 24 && nt != 65) continue;  // the large shapes once
          std::vector<float> x = make_acts(nt, n, rng);
          std::vector<float> y_tiles(static_cast<size_t>(rows * nt), NAN), y_vec(y_tiles.size(), NAN);
          matmul_with(*tiles_, v, x.data(), n, nt, y_tiles.data(), rows);
          matmul_with(*vector_, v, x.data(), n, nt, y_vec.data(), rows);
          ASSERT_EQ(0, std::memcmp(y_tiles.data(), y_vec.data(), y_vec.size() * sizeof(float)))
              << ggml_type_name(type) << " n=" << n << " rows=" << rows << " tokens=" << nt;
          for (float f : y_tiles) ASSERT_FALSE(std::isnan(f)) << "a result was never written";
        }
      }
    }
  }
}

// The extremes the 16-bit vector sums were sized for: every code and activation at its limit.
TEST_P(AmxTiles, ExtremeCodesGiveTheSameBits) {
  for (GgmlType type : kTileTypes) {
    const int64_t rows = 16, n = 512, nt = 48;
    std::vector<float> wf(static_cast<size_t>(rows * n));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < n; ++i) wf[static_cast<size_t>(r * n + i)] = r % 3 == 0 ? 1.0f : r % 3 == 1 ? -1.0f : (i % 2 ? 1.0f : -1.0f);
    const size_t row_bytes = ggml_row_bytes(type, n);
    std::vector<uint8_t> bytes(row_bytes * rows);
    for (int64_t r = 0; r < rows; ++r) quantize_row(type, &wf[static_cast<size_t>(r * n)], &bytes[static_cast<size_t>(r) * row_bytes], n);
    Weights w = weights_from_bytes(type, rows, n, std::move(bytes));
    const std::vector<uint8_t> packed = interleave(w);
    const TensorView v = interleaved_view(w, packed);
    std::vector<float> x(static_cast<size_t>(nt * n));
    for (size_t i = 0; i < x.size(); ++i) x[i] = (i / static_cast<size_t>(n)) % 2 ? -1.0f : (i % 2 ? 1.0f : -1.0f);
    std::vector<float> y_tiles(static_cast<size_t>(rows * nt)), y_vec(y_tiles.size());
    matmul_with(*tiles_, v, x.data(), n, nt, y_tiles.data(), rows);
    matmul_with(*vector_, v, x.data(), n, nt, y_vec.data(), rows);
    EXPECT_EQ(y_tiles, y_vec) << ggml_type_name(type);
  }
}

TEST_P(AmxTiles, TheDispatchGuardAgrees) {
  for (GgmlType type : kTileTypes) EXPECT_TRUE(rows8_kernels_agree(*tiles_, *vector_, type)) << ggml_type_name(type);
  // The file layouts stay on the vector kernels.
  EXPECT_EQ(tiles_->matmul[static_cast<int>(GgmlType::kQ4_K)].rows, vector_->matmul[static_cast<int>(GgmlType::kQ4_K)].rows);
}

INSTANTIATE_TEST_SUITE_P(Tables, AmxTiles,
                         testing::Values(TablePair{"amx-emulated", "avx2"}, TablePair{"amx", "avx512"}),
                         [](const testing::TestParamInfo<TablePair>& p) {
                           std::string name = p.param.tiles;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

// A kernel one ulp off on one result, for the guard to catch.
RowsKernel g_wrapped = nullptr;
void off_by_one_ulp(const MatmulArgs& args, int64_t row_begin, int64_t row_end) {
  g_wrapped(args, row_begin, row_end);
  if (row_begin == 0 && args.n_tokens > 20) args.y[20 * args.y_stride] = std::nextafter(args.y[20 * args.y_stride], INFINITY);
}

TEST(AmxGuard, NoticesOneBitOff) {
  const KernelTable* avx2 = kernel_table_by_name("avx2");
  if (avx2 == nullptr) GTEST_SKIP() << "no avx2";
  KernelTable broken = *avx2;
  g_wrapped = avx2->matmul_rows8[static_cast<int>(GgmlType::kQ4_K)].rows;
  broken.matmul_rows8[static_cast<int>(GgmlType::kQ4_K)].rows = off_by_one_ulp;
  EXPECT_FALSE(rows8_kernels_agree(broken, *avx2, GgmlType::kQ4_K));
  EXPECT_TRUE(rows8_kernels_agree(broken, *avx2, GgmlType::kQ4_0));
  EXPECT_FALSE(rows8_kernels_agree(*avx2, *avx2, GgmlType::kQ5_K)) << "no interleaved kernel: nothing to compare";
}

// The dispatcher first runs the tile kernels in a child process: a probe's return value comes
// back, and a fault ends the child, not the caller.
int probe_returns(const void* arg) { return *static_cast<const int*>(arg); }
int probe_faults(const void*) { __builtin_trap(); }

TEST(AmxGuard, ProbesRunInAChildProcess) {
  const int zero = 0, three = 3;
  EXPECT_TRUE(run_in_child(probe_returns, &zero).ok());
  const ChildOutcome r = run_in_child(probe_returns, &three);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.exit_code, 3);
  const ChildOutcome f = run_in_child(probe_faults, nullptr);
  EXPECT_TRUE(f.started);
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(f.signal, SIGILL) << "exit code " << f.exit_code;
}

TEST(AmxModel, CountsWhatHardwareWouldRefuse) {
  if (kernel_table_by_name("amx-emulated") == nullptr) GTEST_SKIP() << "no avx2";
  // A load before any configuration, a reserved byte set, rows without bytes per row, a product
  // whose A is narrower than B's rows × 4, and zeroing a tile the configuration left empty.
  EXPECT_EQ(amx_emulated_misuse_check(), 5);
}

// The amx table's int8 peak loop: four full 16 × 16 × 64 products per iteration on the same
// operands, so each C element is iters × one row-column product.
TEST(AmxModel, TilePeakLoopComputesWhatItCounts) {
  if (kernel_table_by_name("amx-emulated") == nullptr) GTEST_SKIP() << "no avx2";
  const int64_t faults = amx_emulated_faults();
  for (int64_t iters : {3, 4}) {
    int8_t src[16][64];
    for (int r = 0; r < 16; ++r)
      for (int c = 0; c < 64; ++c) src[r][c] = static_cast<int8_t>((r * 7 + c) % 5 - 2 + (iters & 1));
    int64_t want = 0;
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 16; ++n)
        for (int k = 0; k < 16; ++k)
          for (int i = 0; i < 4; ++i) want += 4 * iters * src[m][4 * k + i] * src[k][4 * n + i];
    EXPECT_EQ(amx_emulated_tile_peak(iters), want) << iters;
  }
  EXPECT_EQ(amx_emulated_faults(), faults);
}

TEST(AmxModel, NeverChosenByItselfNorListed) {
  for (const std::string& p : runnable_kernel_paths()) EXPECT_NE(p, "amx-emulated");
  const char* forced = std::getenv("CORRAL_CPU");
  if (forced != nullptr && *forced != '\0') return;
  EXPECT_NE(std::string(kernel_table().name), "amx-emulated");
}

}  // namespace
}  // namespace corral
