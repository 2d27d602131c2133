// Sampler end to end: greedy, penalties from history, determinism, known sequences (computed
// by an independent Python transcription of the documented chain), empirical frequencies.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "sampling/sampler.h"

namespace corral {
namespace {

SamplingParams plain(float temperature) {
  SamplingParams sp;
  sp.temperature = temperature;
  sp.top_k = 0;
  sp.top_p = 1.0f;
  sp.min_p = 0.0f;
  sp.typical_p = 1.0f;
  sp.repeat_penalty = 1.0f;
  sp.seed = 42;
  sp.has_seed = true;
  return sp;
}

std::vector<float> random_logits(int32_t n, uint32_t seed) {
  std::mt19937 gen(seed);  // test data only
  std::normal_distribution<float> dist(0.0f, 2.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(gen);
  return v;
}

TEST(Sampler, GreedyPicksArgmaxLowestIdOnTies) {
  SamplingParams sp = plain(0.0f);
  sp.has_seed = false;  // greedy must not depend on the RNG at all
  Sampler s(sp, 5);
  const float a[] = {1.0f, 5.0f, 3.0f, 5.0f, -2.0f};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.sample(a), 1);
  sp.temperature = -1.0f;
  Sampler t(sp, 5);
  EXPECT_EQ(t.sample(a), 1);
}

TEST(Sampler, GreedyAppliesPenaltiesFromHistoryWindow) {
  const float logits[] = {3.0f, 2.9f, 0.0f, 0.0f, 0.0f, 0.0f};
  SamplingParams sp = plain(0.0f);
  sp.repeat_penalty = 1.1f;  // 3/1.1 = 2.727 < 2.9
  sp.repeat_last_n = 64;
  {
    Sampler s(sp, 6);
    EXPECT_EQ(s.sample(logits), 0);
    s.accept(0);
    EXPECT_EQ(s.sample(logits), 1);
    s.reset();
    EXPECT_EQ(s.sample(logits), 0);
  }
  {
    sp.repeat_last_n = 1;  // token 0 has left the window
    Sampler s(sp, 6);
    s.accept(0);
    s.accept(5);
    EXPECT_EQ(s.sample(logits), 0);
  }
  {
    sp.repeat_last_n = -1;  // whole history
    Sampler s(sp, 6);
    s.accept(0);
    for (int i = 0; i < 300; ++i) s.accept(5);
    EXPECT_EQ(s.sample(logits), 1);
  }
  {
    sp.repeat_last_n = 0;  // off
    Sampler s(sp, 6);
    s.accept(0);
    EXPECT_EQ(s.sample(logits), 0);
  }
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedsDiffer) {
  const auto logits = random_logits(1000, 5);
  SamplingParams sp;  // Ollama defaults: top_k 40, top_p 0.9, repeat_penalty 1.1
  sp.temperature = 1.0f;
  sp.seed = 1234;
  sp.has_seed = true;
  auto run = [&](const SamplingParams& p) {
    Sampler s(p, 1000);
    std::vector<int32_t> out;
    for (int i = 0; i < 1000; ++i) {
      out.push_back(s.sample(logits.data()));
      s.accept(out.back());
    }
    return out;
  };
  const auto a = run(sp);
  EXPECT_EQ(a, run(sp));
  SamplingParams other = sp;
  other.seed = 1235;
  EXPECT_NE(a, run(other));
  // reset() restarts the same stream.
  Sampler s(sp, 1000);
  for (int i = 0; i < 10; ++i) s.accept(s.sample(logits.data()));
  s.reset();
  std::vector<int32_t> again;
  for (int i = 0; i < 1000; ++i) {
    again.push_back(s.sample(logits.data()));
    s.accept(again.back());
  }
  EXPECT_EQ(a, again);
}

// logits[i] = ((37 i + 11) mod 23) / 4 - 3 over 50 tokens: exact in float.
std::vector<float> fixed_logits() {
  std::vector<float> v(50);
  for (int i = 0; i < 50; ++i) v[static_cast<size_t>(i)] = static_cast<float>((i * 37 + 11) % 23) / 4.0f - 3.0f;
  return v;
}

TEST(Sampler, KnownSequenceSeed42FullVocab) {
  const auto logits = fixed_logits();
  Sampler s(plain(0.5f), 50);
  std::vector<int32_t> got;
  for (int i = 0; i < 20; ++i) got.push_back(s.sample(logits.data()));
  const std::vector<int32_t> want = {4,  17, 32, 45, 48, 32, 32, 35, 32, 27,
                                     32, 9,  32, 9,  32, 40, 27, 35, 32, 32};
  EXPECT_EQ(got, want);
}

TEST(Sampler, KnownSequenceSeed42TopKTopP) {
  const auto logits = fixed_logits();
  SamplingParams sp = plain(0.5f);
  sp.top_k = 5;  // ties at the cut: token 22 (not 45) is kept
  sp.top_p = 0.9f;
  Sampler s(sp, 50);
  std::vector<int32_t> got;
  for (int i = 0; i < 20; ++i) got.push_back(s.sample(logits.data()));
  const std::vector<int32_t> want = {9, 32, 4, 22, 22, 27, 4, 27, 27, 4,
                                     4, 32, 27, 32, 4, 27, 4, 27, 4, 4};
  EXPECT_EQ(got, want);
}

// Pearson chi-square of observed counts against expected probabilities.
double chi_square(const std::vector<int>& counts, const std::vector<double>& probs, int n) {
  double chi = 0.0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double e = probs[i] * n;
    if (e == 0.0) {
      EXPECT_EQ(counts[i], 0) << "bin " << i << " has zero probability";
      continue;
    }
    chi += (counts[i] - e) * (counts[i] - e) / e;
  }
  return chi;
}

std::vector<int> histogram(const SamplingParams& sp, const std::vector<float>& logits, int n) {
  Sampler s(sp, static_cast<int32_t>(logits.size()));
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) ++counts[static_cast<size_t>(s.sample(logits.data()))];
  return counts;
}

TEST(Sampler, EmpiricalFrequenciesMatchDistribution) {
  const std::vector<double> p = {0.4, 0.3, 0.2, 0.1};
  std::vector<float> logits;
  for (double q : p) logits.push_back(static_cast<float>(std::log(q)));
  const int n = 200000;
  // 3 degrees of freedom: chi^2 > 16.27 has probability 0.001 under the right distribution.
  EXPECT_LT(chi_square(histogram(plain(1.0f), logits, n), p, n), 16.27);

  // Temperature 2 flattens: p_i^(1/2), normalised.
  std::vector<double> flat;
  double z = 0.0;
  for (double q : p) z += std::sqrt(q);
  for (double q : p) flat.push_back(std::sqrt(q) / z);
  EXPECT_LT(chi_square(histogram(plain(2.0f), logits, n), flat, n), 16.27);

  // top_k 2 renormalises over the two best.
  SamplingParams k2 = plain(1.0f);
  k2.top_k = 2;
  EXPECT_LT(chi_square(histogram(k2, logits, n), {4.0 / 7, 3.0 / 7, 0.0, 0.0}, n), 16.27);

  // A wrong distribution is rejected by the same test (the test can fail).
  EXPECT_GT(chi_square(histogram(plain(1.0f), logits, n), {0.25, 0.25, 0.25, 0.25}, n), 1000.0);
}

TEST(Sampler, MaskedLogitsAreNeverSampled) {
  std::vector<float> logits(1000, -INFINITY);
  logits[17] = 0.0f;
  logits[900] = 0.0f;
  SamplingParams sp = plain(1.0f);
  Sampler s(sp, 1000);
  int hits900 = 0;
  for (int i = 0; i < 2000; ++i) {
    const int32_t t = s.sample(logits.data());
    ASSERT_TRUE(t == 17 || t == 900) << t;
    hits900 += t == 900;
  }
  EXPECT_GT(hits900, 800);
  EXPECT_LT(hits900, 1200);
  std::vector<float> all_masked(10, -INFINITY);
  Sampler m(sp, 10);
  EXPECT_EQ(m.sample(all_masked.data()), 0);
}

TEST(Sampler, LargeVocabTopKStaysInTopK) {
  const int32_t n = 152064;
  auto logits = random_logits(n, 9);
  SamplingParams sp;
  sp.seed = 3;
  sp.has_seed = true;
  Sampler s(sp, n);
  std::vector<float> sorted = logits;
  std::nth_element(sorted.begin(), sorted.begin() + 39, sorted.end(), std::greater<float>());
  const float kth = sorted[39];
  for (int i = 0; i < 50; ++i) {
    const int32_t t = s.sample(logits.data());
    ASSERT_GE(logits[static_cast<size_t>(t)], kth);
  }
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

TEST(Sampler, HostileParamsAndLogitsStayInRange) {
  // Request options are untrusted: NaN, infinities and negative values must never crash or
  // produce an id outside the vocabulary (UBSan/ASan run this too).
  const float specials[] = {NAN, INFINITY, -INFINITY, -1.0f, 0.0f, 1e-40f, 1e30f, 0.5f, 2.0f};
  std::vector<float> logits = random_logits(3000, 4);
  logits[5] = NAN;
  logits[6] = INFINITY;
  logits[7] = -INFINITY;
  std::vector<float> finite = random_logits(3000, 4);
  int cases = 0;
  for (float a : specials) {
    for (float b : specials) {
      SamplingParams sp;
      sp.seed = 1;
      sp.has_seed = true;
      sp.temperature = a;
      sp.top_p = b;
      sp.min_p = b;
      sp.typical_p = a;
      sp.repeat_penalty = b;
      sp.presence_penalty = a;
      sp.frequency_penalty = b;
      sp.top_k = static_cast<int32_t>(cases % 7) * 700 - 700;
      sp.repeat_last_n = static_cast<int32_t>(cases % 5) - 2;
      Sampler s(sp, 3000);
      s.accept(-5);
      s.accept(999999);
      s.accept(6);
      s.accept(10);
      for (const auto* l : {&logits, &finite}) {
        const int32_t t = s.sample(l->data());
        ASSERT_GE(t, 0);
        ASSERT_LT(t, 3000);
        s.accept(t);
      }
      ++cases;
    }
  }
  // +inf logit wins whenever it is not penalised.
  SamplingParams sp = plain(1.0f);
  Sampler s(sp, 3000);
  EXPECT_EQ(s.sample(logits.data()), 6);
}

TEST(Sampler, HistoryStaysBoundedAndKeepsTheWindow) {
  SamplingParams sp = plain(0.0f);
  sp.repeat_last_n = 64;
  Sampler s(sp, 100);
  for (int32_t i = 0; i < 5000; ++i) s.accept(i % 100);
  EXPECT_LE(s.history().size(), 1024u);
  ASSERT_GE(s.history().size(), 64u);
  EXPECT_EQ(s.history().back(), 4999 % 100);
  EXPECT_EQ(s.history()[s.history().size() - 64], (5000 - 64) % 100);
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

TEST(SamplingParams, OllamaDefaults) {
  const SamplingParams sp;
  EXPECT_EQ(sp.temperature, 0.8f);
  EXPECT_EQ(sp.top_k, 40);
  EXPECT_EQ(sp.top_p, 0.9f);
  EXPECT_EQ(sp.min_p, 0.0f);
  EXPECT_EQ(sp.typical_p, 1.0f);
  EXPECT_EQ(sp.repeat_penalty, 1.1f);
  EXPECT_EQ(sp.repeat_last_n, 64);
  EXPECT_EQ(sp.presence_penalty, 0.0f);
  EXPECT_EQ(sp.frequency_penalty, 0.0f);
  EXPECT_FALSE(sp.has_seed);
}

// The filters see the distribution before temperature (llama.cpp's order): a high temperature
// flattens what survives but never brings back a token that top_p or min_p removed.
TEST(Sampler, FiltersActBeforeTemperature) {
  const std::vector<double> p = {0.5, 0.3, 0.15, 0.05};
  std::vector<float> logits;
  for (double q : p) logits.push_back(static_cast<float>(std::log(q)));
  const int n = 100000;

  SamplingParams top_p = plain(10.0f);
  top_p.top_p = 0.75f;  // keeps {0, 1}; at T=10 they are nearly equal
  auto h = histogram(top_p, logits, n);
  EXPECT_EQ(h[2] + h[3], 0);
  const double w0 = std::pow(0.5, 0.1), w1 = std::pow(0.3, 0.1);
  EXPECT_LT(chi_square(h, {w0 / (w0 + w1), w1 / (w0 + w1), 0.0, 0.0}, n), 10.83);  // 1 dof

  SamplingParams min_p = plain(10.0f);
  min_p.min_p = 0.2f;  // threshold 0.1 of the untempered distribution: token 3 goes
  h = histogram(min_p, logits, n);
  EXPECT_EQ(h[3], 0);
  EXPECT_GT(h[2], n / 5);  // nearly flat over three tokens at T=10

  SamplingParams top_k = plain(10.0f);
  top_k.top_k = 1;
  h = histogram(top_k, logits, n);
  EXPECT_EQ(h[0], n);
}

// Penalties come first: they change which tokens survive top_k.
TEST(Sampler, PenaltiesActBeforeTopK) {
  const float logits[] = {5.0f, 4.9f, -10.0f, -10.0f};
  SamplingParams sp = plain(1.0f);
  sp.top_k = 1;
  sp.presence_penalty = 1.0f;
  Sampler s(sp, 4);
  EXPECT_EQ(s.sample(logits), 0);
  s.accept(0);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(logits), 1);
}

}  // namespace
}  // namespace corral
