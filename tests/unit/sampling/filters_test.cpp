// Each step of the chain on hand-made distributions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "sampling/candidates.h"

namespace corral {
namespace {

CandidateList from_probs(const std::vector<double>& probs) {
  CandidateList c;
  for (size_t i = 0; i < probs.size(); ++i) {
    c.items.push_back({static_cast<int32_t>(i), static_cast<float>(std::log(probs[i]))});
  }
  return c;
}

std::vector<int32_t> ids(const CandidateList& c) {
  std::vector<int32_t> out;
  for (const auto& it : c.items) out.push_back(it.id);
  return out;
}

std::vector<int32_t> sorted_ids(const CandidateList& c) {
  auto out = ids(c);
  std::sort(out.begin(), out.end());
  return out;
}

using Ids = std::vector<int32_t>;

TEST(Argmax, PicksHighestAndLowestIdOnTies) {
  const float a[] = {1.0f, 5.0f, 3.0f, 5.0f, -2.0f};
  EXPECT_EQ(argmax_token(a, 5), 1);
  const float b[] = {-1.0f, -1.0f, -1.0f};
  EXPECT_EQ(argmax_token(b, 3), 0);
  const float c[] = {NAN, -INFINITY, 0.5f, 7.0f};
  EXPECT_EQ(argmax_token(c, 4), 3);
}

TEST(TopK, SelectKeepsExactlyTheKBestSorted) {
  std::mt19937 gen(3);  // test data only; the sampler never uses <random> distributions
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> logits(5000);
  for (auto& l : logits) l = dist(gen);
  CandidateList c;
  select_top_k(logits.data(), 5000, 40, c);
  ASSERT_EQ(c.items.size(), 40u);
  EXPECT_TRUE(c.sorted);
  std::vector<int32_t> order(5000);
  for (int32_t i = 0; i < 5000; ++i) order[static_cast<size_t>(i)] = i;
  std::sort(order.begin(), order.end(), [&](int32_t x, int32_t y) {
    return logits[static_cast<size_t>(x)] > logits[static_cast<size_t>(y)] ||
           (logits[static_cast<size_t>(x)] == logits[static_cast<size_t>(y)] && x < y);
  });
  order.resize(40);
  EXPECT_EQ(ids(c), order);
}

TEST(TopK, TiesKeepLowestIds) {
  std::vector<float> logits(100, 1.0f);
  logits[70] = 2.0f;
  CandidateList c;
  select_top_k(logits.data(), 100, 4, c);
  EXPECT_EQ(ids(c), (Ids{70, 0, 1, 2}));
  CandidateList d;
  candidates_from_logits(logits.data(), 100, d);
  apply_top_k(d, 4);
  EXPECT_EQ(ids(d), (Ids{70, 0, 1, 2}));
}

TEST(TopK, NonPositiveOrLargeKKeepsAll) {
  const float logits[] = {0.1f, 0.3f, 0.2f};
  CandidateList c;
  select_top_k(logits, 3, 0, c);
  EXPECT_EQ(c.items.size(), 3u);
  select_top_k(logits, 3, -1, c);
  EXPECT_EQ(c.items.size(), 3u);
  select_top_k(logits, 3, 10, c);
  EXPECT_EQ(c.items.size(), 3u);
  apply_top_k(c, 2);
  EXPECT_EQ(ids(c), (Ids{1, 2}));
}

TEST(TopP, KeepsMinimalPrefixReachingP) {
  const std::vector<double> probs = {0.15, 0.5, 0.05, 0.3};  // unsorted on purpose
  auto run = [&](float p) {
    CandidateList c = from_probs(probs);
    apply_top_p(c, p);
    return ids(c);
  };
  EXPECT_EQ(run(0.4f), (Ids{1}));
  EXPECT_EQ(run(0.75f), (Ids{1, 3}));
  EXPECT_EQ(run(0.81f), (Ids{1, 3, 0}));
  EXPECT_EQ(run(0.94f), (Ids{1, 3, 0}));
  EXPECT_EQ(run(0.96f), (Ids{1, 3, 0, 2}));
  EXPECT_EQ(run(1.0f), (Ids{0, 1, 2, 3}));  // off: untouched
  EXPECT_EQ(run(0.0f), (Ids{1}));           // at least one token
}

TEST(MinP, ThresholdIsRelativeToMaxProbability) {
  const std::vector<double> probs = {0.15, 0.5, 0.05, 0.3};
  auto run = [&](float p, float shift) {
    CandidateList c = from_probs(probs);
    for (auto& it : c.items) it.logit += shift;  // logits, not probabilities: shift-invariant
    apply_min_p(c, p);
    return sorted_ids(c);
  };
  EXPECT_EQ(run(0.2f, 0.0f), (Ids{0, 1, 3}));    // threshold 0.1
  EXPECT_EQ(run(0.35f, 0.0f), (Ids{1, 3}));      // threshold 0.175
  EXPECT_EQ(run(0.35f, 12.5f), (Ids{1, 3}));
  EXPECT_EQ(run(0.05f, 0.0f), (Ids{0, 1, 2, 3}));  // threshold 0.025
  EXPECT_EQ(run(0.9f, 0.0f), (Ids{1}));
  EXPECT_EQ(run(0.0f, 0.0f), (Ids{0, 1, 2, 3}));   // off
}

TEST(TypicalP, KnownCase) {
  // p = {0.5, 0.3, 0.15, 0.05}: entropy H = 1.1422 nats; |-log p - H| = {0.449, 0.062, 0.755,
  // 1.853}, so the typical order is 0.3, 0.5, 0.15, 0.05 (cumulative 0.3, 0.8, 0.95, 1.0) and
  // the most likely token is not the most typical one.
  const std::vector<double> probs = {0.5, 0.3, 0.15, 0.05};
  auto run = [&](float p) {
    CandidateList c = from_probs(probs);
    apply_typical_p(c, p);
    return sorted_ids(c);
  };
  EXPECT_EQ(run(0.2f), (Ids{1}));
  EXPECT_EQ(run(0.5f), (Ids{0, 1}));
  EXPECT_EQ(run(0.85f), (Ids{0, 1, 2}));
  EXPECT_EQ(run(0.97f), (Ids{0, 1, 2, 3}));
  EXPECT_EQ(run(1.0f), (Ids{0, 1, 2, 3}));
}

TEST(Temperature, ScalesLogitsInsideSoftmax) {
  CandidateList c;
  c.items = {{0, 2.0f}, {1, 0.0f}, {2, -INFINITY}};
  std::vector<double> p;
  ASSERT_TRUE(softmax_candidates(c, p, 0.5f));  // logits 4, 0
  EXPECT_NEAR(p[0], 1.0 / (1.0 + std::exp(-4.0)), 1e-15);
  EXPECT_EQ(p[2], 0.0);
  ASSERT_TRUE(softmax_candidates(c, p, 2.0f));  // logits 1, 0
  EXPECT_NEAR(p[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-15);
  // A tiny temperature is greedy, not a tie of overflowed +inf logits.
  ASSERT_TRUE(softmax_candidates(c, p, 1e-40f));
  EXPECT_EQ(p[0], 1.0);
  EXPECT_EQ(p[1], 0.0);
  // +inf logits share the mass.
  c.items = {{0, INFINITY}, {1, 5.0f}, {2, INFINITY}};
  ASSERT_TRUE(softmax_candidates(c, p));
  EXPECT_EQ(p, (std::vector<double>{0.5, 0.0, 0.5}));
}

TEST(Softmax, NormalisesAndHandlesMinusInfinity) {
  CandidateList c;
  c.items = {{0, 0.0f}, {1, static_cast<float>(std::log(3.0))}, {2, -INFINITY}};
  std::vector<double> p;
  ASSERT_TRUE(softmax_candidates(c, p));
  EXPECT_NEAR(p[0], 0.25, 1e-7);
  EXPECT_NEAR(p[1], 0.75, 1e-7);
  EXPECT_EQ(p[2], 0.0);
  c.items = {{0, -INFINITY}};
  EXPECT_FALSE(softmax_candidates(c, p));
}

TEST(Draw, MapsUniformToCumulativeBins) {
  const std::vector<double> p = {0.25, 0.0, 0.5, 0.25};
  EXPECT_EQ(draw_index(p, 0.0), 0u);
  EXPECT_EQ(draw_index(p, 0.2499), 0u);
  EXPECT_EQ(draw_index(p, 0.25), 2u);  // zero-probability bin 1 is never chosen
  EXPECT_EQ(draw_index(p, 0.7499), 2u);
  EXPECT_EQ(draw_index(p, 0.75), 3u);
  EXPECT_EQ(draw_index(p, 0.9999999999), 3u);
  const std::vector<double> q = {0.5, 0.5, 0.0};
  EXPECT_EQ(draw_index(q, 0.99999999999999989), 1u);
}

TEST(Penalties, RepeatPenaltyDividesPositiveAndMultipliesNegative) {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f, 0.5f, 0.0f};
  std::vector<int32_t> counts(5, 0);
  const std::vector<int32_t> window = {0, 1, 0, 3, 4, 99, -1};  // out-of-range ids ignored
  SamplingParams sp;
  sp.repeat_penalty = 2.0f;
  apply_penalties(logits.data(), 5, window, sp, counts);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, -4.0f, 1.0f, 0.25f, 0.0f}));
  EXPECT_EQ(counts, (std::vector<int32_t>(5, 0)));  // scratch left zeroed
}

TEST(Penalties, PresenceAndFrequencyAsOpenAI) {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f, 0.5f};
  std::vector<int32_t> counts(4, 0);
  const std::vector<int32_t> window = {0, 1, 0, 3, 0};
  SamplingParams sp;
  sp.repeat_penalty = 1.0f;
  sp.frequency_penalty = 0.5f;
  sp.presence_penalty = 1.0f;
  apply_penalties(logits.data(), 4, window, sp, counts);
  // token 0: 2 - (3*0.5 + 1) ; token 1: -2 - 1.5 ; token 3: 0.5 - 1.5 ; token 2 untouched
  EXPECT_EQ(logits, (std::vector<float>{-0.5f, -3.5f, 1.0f, -1.0f}));
}

TEST(Penalties, AllCombined) {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f, 0.5f};
  std::vector<int32_t> counts(4, 0);
  const std::vector<int32_t> window = {0, 1, 0, 3};
  SamplingParams sp;
  sp.repeat_penalty = 2.0f;
  sp.frequency_penalty = 0.5f;
  sp.presence_penalty = 1.0f;
  apply_penalties(logits.data(), 4, window, sp, counts);
  EXPECT_EQ(logits, (std::vector<float>{-1.0f, -5.5f, 1.0f, -1.25f}));
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

// The growing-prefix path of top_p (large unsorted lists) keeps the same set as sorting first.
TEST(TopP, LargeUnsortedListMatchesSortedPath) {
  std::mt19937 gen(8);  // test data only
  for (float scale : {8.0f, 1.0f, 0.05f}) {  // peaky, medium, nearly flat (prefix grows)
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> logits(20000);
    for (auto& x : logits) x = dist(gen);
    for (float p : {0.5f, 0.9f, 0.99f}) {
      CandidateList fast;
      candidates_from_logits(logits.data(), 20000, fast);
      apply_top_p(fast, p);
      CandidateList slow;
      candidates_from_logits(logits.data(), 20000, slow);
      sort_candidates(slow);
      apply_top_p(slow, p);
      // The normaliser is summed in a different order, so allow the cut to move by one token.
      const auto a = ids(fast);
      const auto b = ids(slow);
      ASSERT_LE(a.size() > b.size() ? a.size() - b.size() : b.size() - a.size(), 1u);
      const size_t common = std::min(a.size(), b.size());
      EXPECT_TRUE(std::equal(a.begin(), a.begin() + static_cast<ptrdiff_t>(common), b.begin()));
      EXPECT_GE(common, 1u);
    }
  }
}

}  // namespace
}  // namespace corral
