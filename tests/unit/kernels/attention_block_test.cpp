// The encoders' block attention (kernels/ops.h attention_block_f32): every table this CPU runs
// against the scalar reference (attention_f32_ref per query) within a bound, and a query's
// result bit-identical whatever block it is computed in (alone, first, last, beside others),
// at head sizes with and without whole 32- and 8-column parts and sequence lengths across the
// 4-query tiles and 8-score vectors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/kernel_abi.h"
#include "kernels/ops.h"

namespace corral {
namespace {

struct Heads {
  int64_t hd, n_pos;
  size_t stride;  // floats between rows: 3 heads side by side, the kernel reads head 1
  std::vector<float> q, k, v;
};

Heads make_heads(int64_t hd, int64_t n_pos, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Heads h{hd, n_pos, static_cast<size_t>(hd) * 3, {}, {}, {}};
  const size_t n = h.stride * static_cast<size_t>(n_pos);
  h.q.resize(n);
  h.k.resize(n);
  h.v.resize(n);
  for (auto& e : h.q) e = nd(rng) * 2.5f;  // peaked softmaxes as well as flat ones
  for (auto& e : h.k) e = nd(rng);
  for (auto& e : h.v) e = nd(rng);
  return h;
}

void run(const KernelTable& t, const Heads& h, int64_t first, int64_t n_q, float* out) {
  std::vector<float> scratch(static_cast<size_t>(kAttnBlockQueries) * static_cast<size_t>((h.n_pos + 7) / 8 * 8));
  const size_t off = static_cast<size_t>(h.hd);
  const float scale = 1.0f / std::sqrt(static_cast<float>(h.hd));
  t.attention_block_f32(&h.q[off + static_cast<size_t>(first) * h.stride], h.stride, n_q, &h.k[off], &h.v[off], h.stride,
                        h.n_pos, h.hd, scale, out, static_cast<size_t>(h.hd), scratch.data());
}

class AttentionBlock : public testing::TestWithParam<std::string> {};

TEST_P(AttentionBlock, MatchesReferenceAndIsInvariantToTheBlock) {
  const KernelTable* table = kernel_table_by_name(GetParam());
  if (table == nullptr) GTEST_SKIP() << GetParam() << " cannot run on this CPU";
  ASSERT_NE(table->attention_block_f32, nullptr);
  std::mt19937 rng(21);
  for (int64_t hd : {32, 64, 40, 36, 4}) {
    for (int64_t n_pos : {1, 2, 5, 8, 9, 31, 100, 129}) {
      const Heads h = make_heads(hd, n_pos, rng);
      const auto hs = static_cast<size_t>(hd);
      std::vector<float> all(hs * static_cast<size_t>(n_pos)), want(hs);
      run(*table, h, 0, n_pos, all.data());
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      for (int64_t i = 0; i < n_pos; ++i) {
        attention_f32_ref(&h.q[hs + static_cast<size_t>(i) * h.stride], &h.k[hs], &h.v[hs], h.stride, n_pos, hd, scale,
                          want.data());
        for (size_t d = 0; d < hs; ++d)
          ASSERT_NEAR(all[static_cast<size_t>(i) * hs + d], want[d], 2e-5)
              << GetParam() << " hd " << hd << " n_pos " << n_pos << " query " << i << " column " << d;
      }
      // The same queries alone and in blocks that start elsewhere: the same bits.
      for (int64_t first : {int64_t{0}, n_pos / 2, n_pos - 1}) {
        for (int64_t n_q : {int64_t{1}, int64_t{3}, n_pos - first}) {
          if (first + n_q > n_pos || n_q < 1) continue;
          std::vector<float> part(hs * static_cast<size_t>(n_q));
          run(*table, h, first, n_q, part.data());
          ASSERT_EQ(std::memcmp(part.data(), &all[static_cast<size_t>(first) * hs], part.size() * sizeof(float)), 0)
              << GetParam() << " hd " << hd << " n_pos " << n_pos << " queries " << first << ".." << first + n_q;
        }
      }
    }
  }
}

// The softmax's exp at the extremes: one score far above the others puts all the weight on its
// value row (no overflow to NaN), and equal scores average the rows.
TEST_P(AttentionBlock, ExtremeAndEqualScores) {
  const KernelTable* table = kernel_table_by_name(GetParam());
  if (table == nullptr) GTEST_SKIP() << GetParam() << " cannot run on this CPU";
  const int64_t hd = 8, n_pos = 11;
  std::vector<float> q(hd, 0.0f), k(static_cast<size_t>(hd * n_pos), 0.0f), v(k.size()), out(hd);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 13) - 6.0f;
  std::vector<float> scratch(static_cast<size_t>(kAttnBlockQueries) * 16);
  table->attention_block_f32(q.data(), hd, 1, k.data(), v.data(), hd, n_pos, hd, 1.0f, out.data(), hd, scratch.data());
  for (int64_t d = 0; d < hd; ++d) {
    double mean = 0.0;
    for (int64_t j = 0; j < n_pos; ++j) mean += v[static_cast<size_t>(j * hd + d)];
    EXPECT_NEAR(out[static_cast<size_t>(d)], mean / n_pos, 1e-5) << "equal scores, column " << d;
  }
  q[0] = 1.0f;
  k[static_cast<size_t>(7 * hd)] = 1000.0f;  // score 1000 at position 7, 0 elsewhere
  k[static_cast<size_t>(2 * hd)] = -1000.0f;
  table->attention_block_f32(q.data(), hd, 1, k.data(), v.data(), hd, n_pos, hd, 1.0f, out.data(), hd, scratch.data());
  for (int64_t d = 0; d < hd; ++d) EXPECT_EQ(out[static_cast<size_t>(d)], v[static_cast<size_t>(7 * hd + d)]) << d;
}

INSTANTIATE_TEST_SUITE_P(AllPaths, AttentionBlock, testing::Values("scalar", "avx2", "avx512", "amx", "amx-emulated"),
                         [](const testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace corral
