// Fused attention at a 32,768-position KV cache (issue 9: "tested to 32k context"), for every
// kernel path this CPU runs, against a float64 reference computed here: one layer's attention
// for a few query heads of TinyLlama's shape (head_dim 64, 4 KV heads interleaved in each cache
// row, 8 query heads per KV head), with a diffuse softmax and sharp ones that single out the
// first, a middle and the last position (so every part of the cache must really be read).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "kernels/dispatch.h"

namespace corral {
namespace {

constexpr int64_t kPositions = 32768;
constexpr int64_t kHeadDim = 64;
constexpr int64_t kKvHeads = 4;
constexpr size_t kStride = static_cast<size_t>(kHeadDim * kKvHeads);

struct Cache {
  std::vector<uint16_t> k16, v16;
  std::vector<float> k32, v32;  // the same values (the F16 ones, widened)
};

const Cache& cache() {
  static const Cache built = [] {
    Cache c;
    std::mt19937 rng(32768);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const size_t n = kStride * static_cast<size_t>(kPositions);
    c.k16.resize(n);
    c.v16.resize(n);
    c.k32.resize(n);
    c.v32.resize(n);
    for (size_t i = 0; i < n; ++i) {
      c.k16[i] = f32_to_fp16(nd(rng));
      c.v16[i] = f32_to_fp16(nd(rng));
      c.k32[i] = fp16_to_f32(c.k16[i]);
      c.v32[i] = fp16_to_f32(c.v16[i]);
    }
    return c;
  }();
  return built;
}

// softmax(scale · q·K) · V over positions [0, n_pos) of KV head `kvh`, all in double.
std::vector<double> reference(const std::vector<float>& q, int64_t kvh, int64_t n_pos, double scale) {
  const Cache& c = cache();
  std::vector<double> s(static_cast<size_t>(n_pos));
  double mx = -INFINITY;
  for (int64_t p = 0; p < n_pos; ++p) {
    const float* k = &c.k32[static_cast<size_t>(p) * kStride + static_cast<size_t>(kvh * kHeadDim)];
    double d = 0.0;
    for (int64_t i = 0; i < kHeadDim; ++i) d += static_cast<double>(q[static_cast<size_t>(i)]) * k[i];
    s[static_cast<size_t>(p)] = d * scale;
    mx = std::max(mx, s[static_cast<size_t>(p)]);
  }
  std::vector<double> out(static_cast<size_t>(kHeadDim), 0.0);
  double l = 0.0;
  for (int64_t p = 0; p < n_pos; ++p) {
    const double e = std::exp(s[static_cast<size_t>(p)] - mx);
    l += e;
    const float* v = &c.v32[static_cast<size_t>(p) * kStride + static_cast<size_t>(kvh * kHeadDim)];
    for (int64_t i = 0; i < kHeadDim; ++i) out[static_cast<size_t>(i)] += e * v[i];
  }
  for (double& o : out) o /= l;
  return out;
}

struct Query {
  std::string what;
  int64_t kv_head;
  int64_t target;   // position the query points at (-1: a random, diffuse query)
  float sharpness;  // multiple of the target key (4: its score is ~32 against others' sd of ~4)
};

std::vector<float> make_query(const Query& qd, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(static_cast<size_t>(kHeadDim));
  if (qd.target < 0) {
    for (auto& e : q) e = nd(rng);
  } else {
    const float* k = &cache().k32[static_cast<size_t>(qd.target) * kStride + static_cast<size_t>(qd.kv_head * kHeadDim)];
    for (int64_t i = 0; i < kHeadDim; ++i) q[static_cast<size_t>(i)] = qd.sharpness * k[i] + 0.1f * nd(rng);
  }
  return q;
}

class LongAttention : public testing::TestWithParam<std::string> {};

TEST_P(LongAttention, MatchesFloat64ReferenceAt32kPositions) {
  const KernelTable* table = kernel_table_by_name(GetParam());
  if (table == nullptr) GTEST_SKIP() << GetParam() << " cannot run on this CPU";
  const Cache& c = cache();
  const float scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
  const std::vector<Query> queries = {
      {"diffuse", 0, -1, 0.0f},
      {"first position", 1, 0, 4.0f},
      {"middle position", 2, kPositions / 2 + 7, 4.0f},
      {"last position", 3, kPositions - 1, 4.0f},
      {"last position, softer", 3, kPositions - 1, 1.0f},
  };
  std::mt19937 rng(5);
  double worst = 0.0;
  for (const Query& qd : queries) {
    const std::vector<float> q = make_query(qd, rng);
    for (int64_t n_pos : {kPositions, kPositions - 1, kPositions / 2 + 8}) {
      if (qd.target >= n_pos) continue;
      const std::vector<double> want = reference(q, qd.kv_head, n_pos, scale);
      const size_t off = static_cast<size_t>(qd.kv_head * kHeadDim);
      std::vector<float> got16(static_cast<size_t>(kHeadDim)), got32(got16.size());
      table->attention_f16(q.data(), &c.k16[off], &c.v16[off], kStride, n_pos, kHeadDim, scale, got16.data());
      table->attention_f32(q.data(), &c.k32[off], &c.v32[off], kStride, n_pos, kHeadDim, scale, got32.data());
      // Bound: the output is a convex combination of V rows (|v| < ~5 here); float scores and an
      // online sum over 32k weights in float leave a relative error far below 1e-4.
      double vmax = 0.0;
      for (double w : want) vmax = std::max(vmax, std::fabs(w));
      const double bound = 1e-4 * std::max(vmax, 0.05);
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_NEAR(got16[i], want[i], bound) << GetParam() << " f16 " << qd.what << " n_pos " << n_pos << " i " << i;
        ASSERT_NEAR(got32[i], want[i], bound) << GetParam() << " f32 " << qd.what << " n_pos " << n_pos << " i " << i;
        worst = std::max({worst, std::fabs(got16[i] - want[i]) / std::max(vmax, 0.05),
                          std::fabs(got32[i] - want[i]) / std::max(vmax, 0.05)});
      }
      if (qd.target >= 0 && qd.sharpness >= 4.0f) {
        // A sharp query reads (almost only) its target row: the far ends of the cache matter.
        const float* v = &c.v32[static_cast<size_t>(qd.target) * kStride + off];
        for (int64_t i = 0; i < kHeadDim; ++i) EXPECT_NEAR(want[static_cast<size_t>(i)], v[i], 0.05) << qd.what;
      }
    }
  }
  RecordProperty("worst_relative_error", std::to_string(worst));
  std::printf("%s: worst |kernel - float64| / max|out| = %.3g\n", GetParam().c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(AllPaths, LongAttention, testing::Values("scalar", "avx2", "avx512"));

}  // namespace
}  // namespace corral
