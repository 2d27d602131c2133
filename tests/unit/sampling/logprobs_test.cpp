// Logprobs against a direct float64 computation, top-N order and ties, masked tokens.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "sampling/logprobs.h"

namespace corral {
namespace {

TEST(Logprobs, LogSumExpOfKnownCase) {
  const float l[] = {0.0f, static_cast<float>(std::log(3.0)), -INFINITY};
  EXPECT_NEAR(log_sum_exp(l, 3), std::log(1.0 + 3.0), 1e-7);
  const float masked[] = {-INFINITY, NAN};
  EXPECT_EQ(log_sum_exp(masked, 2), -INFINITY);
  const float big[] = {1000.0f, 1000.0f};  // no overflow: shifted by the max
  EXPECT_NEAR(log_sum_exp(big, 2), 1000.0 + std::log(2.0), 1e-9);
}

TEST(Logprobs, LogSoftmaxMatchesFloat64AndNormalises) {
  std::mt19937 gen(11);  // test data only
  std::normal_distribution<float> dist(0.0f, 4.0f);
  std::vector<float> l(32000);
  for (auto& x : l) x = dist(gen);
  double m = -INFINITY;
  for (float x : l) m = std::max(m, static_cast<double>(x));
  double s = 0.0;
  for (float x : l) s += std::exp(static_cast<double>(x) - m);
  const double lse = m + std::log(s);
  std::vector<float> out;
  log_softmax(l.data(), 32000, out);
  ASSERT_EQ(out.size(), 32000u);
  double total = 0.0;
  for (size_t i = 0; i < l.size(); ++i) {
    EXPECT_NEAR(out[i], static_cast<double>(l[i]) - lse, 2e-5) << i;
    total += std::exp(static_cast<double>(out[i]));
  }
  EXPECT_NEAR(total, 1.0, 1e-4);
}

TEST(Logprobs, TokenAndTopNSortedWithTiesToLowestId) {
  // probabilities 0.4, 0.2, 0.2, 0.1, 0.1 at ids 3, 0, 4, 1, 2
  const double p[] = {0.2, 0.1, 0.1, 0.4, 0.2};
  std::vector<float> l;
  for (double q : p) l.push_back(static_cast<float>(std::log(q)) + 7.0f);  // shift-invariant
  const Logprobs lp = compute_logprobs(l.data(), 5, 1, 3);
  EXPECT_EQ(lp.token.id, 1);
  EXPECT_NEAR(lp.token.logprob, std::log(0.1), 1e-6);
  ASSERT_EQ(lp.top.size(), 3u);
  EXPECT_EQ(lp.top[0].id, 3);
  EXPECT_NEAR(lp.top[0].logprob, std::log(0.4), 1e-6);
  EXPECT_EQ(lp.top[1].id, 0);
  EXPECT_EQ(lp.top[2].id, 4);
  EXPECT_NEAR(lp.top[2].logprob, std::log(0.2), 1e-6);

  EXPECT_TRUE(compute_logprobs(l.data(), 5, 0, 0).top.empty());
  const Logprobs all = compute_logprobs(l.data(), 5, 0, 20);  // more than the vocabulary
  ASSERT_EQ(all.top.size(), 5u);
  EXPECT_EQ(all.top[0].id, 3);
  EXPECT_EQ(all.top[3].id, 1);
  EXPECT_EQ(all.top[4].id, 2);
}

TEST(Logprobs, MaskedTokenHasMinusInfinity) {
  const float l[] = {1.0f, -INFINITY, 1.0f};
  const Logprobs lp = compute_logprobs(l, 3, 1, 2);
  EXPECT_EQ(lp.token.logprob, -INFINITY);
  EXPECT_NEAR(lp.top[0].logprob, std::log(0.5), 1e-6);
  EXPECT_EQ(lp.top[0].id, 0);
  EXPECT_EQ(lp.top[1].id, 2);
}

}  // namespace
}  // namespace corral
