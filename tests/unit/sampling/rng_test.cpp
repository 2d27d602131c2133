// RNG known answers (computed from the published SplitMix64 / xoshiro256** algorithms, not
// from this implementation), portability of doubles, and the portable exp/log.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "sampling/portable_math.h"
#include "sampling/rng.h"

namespace corral {
namespace {

TEST(SplitMix64, KnownAnswerSeed1234567) {
  // The widely published SplitMix64 test vector (e.g. Rosetta Code) for seed 1234567.
  SplitMix64 sm(1234567);
  EXPECT_EQ(sm.next(), 6457827717110365317ULL);
  EXPECT_EQ(sm.next(), 3203168211198807973ULL);
  EXPECT_EQ(sm.next(), 9817491932198370423ULL);
  EXPECT_EQ(sm.next(), 4593380528125082431ULL);
  EXPECT_EQ(sm.next(), 16408922859458223821ULL);
}

TEST(Xoshiro256StarStar, KnownAnswerFromState1234) {
  Rng r = Rng::from_state({1, 2, 3, 4});
  EXPECT_EQ(r.next_u64(), 11520ULL);
  EXPECT_EQ(r.next_u64(), 0ULL);
  EXPECT_EQ(r.next_u64(), 1509978240ULL);
  EXPECT_EQ(r.next_u64(), 1215971899390074240ULL);
  EXPECT_EQ(r.next_u64(), 1216172134540287360ULL);
}

TEST(Rng, KnownAnswerSeed42) {
  // Seeding: state = four SplitMix64(42) outputs; then xoshiro256**. Any change of algorithm,
  // seeding or double conversion fails here.
  Rng r(42);
  EXPECT_EQ(r.state()[0], 0xbdd732262feb6e95ULL);
  EXPECT_EQ(r.state()[1], 0x28efe333b266f103ULL);
  EXPECT_EQ(r.state()[2], 0x47526757130f9f52ULL);
  EXPECT_EQ(r.state()[3], 0x581ce1ff0e4ae394ULL);
  EXPECT_EQ(r.next_u64(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(r.next_u64(), 0x6104d9866d113a7eULL);
  EXPECT_EQ(r.next_u64(), 0xae17533239e499a1ULL);
  Rng d(42);
  EXPECT_EQ(d.next_double(), 0.08386297105988216);
  EXPECT_EQ(d.next_double(), 0.3789802506626686);
  EXPECT_EQ(d.next_double(), 0.6800434110281394);
  EXPECT_EQ(d.next_double(), 0.9246929453253876);
}

TEST(Rng, DoublesAreInUnitIntervalAndMultiplesOf2PowMinus53) {
  Rng r(7);
  double sum = 0.0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double u = r.next_double();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    const double scaled = u * 0x1.0p53;
    ASSERT_EQ(scaled, std::floor(scaled));
    sum += u;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);  // sd of the mean is 0.0009
}

TEST(Rng, SeedsGiveDistinctStreamsAndRandomSeedsVary) {
  Rng a(1), b(2);
  EXPECT_NE(a.next_u64(), b.next_u64());
  std::set<uint64_t> seeds;
  for (int i = 0; i < 8; ++i) seeds.insert(Rng::random_seed());
  EXPECT_GT(seeds.size(), 1u);
}

TEST(PortableMath, ExpMatchesLibmWithinAFewUlp) {
  for (double x = -700.0; x <= 700.0; x += 0.0137) {
    const double want = std::exp(x);
    EXPECT_NEAR(portable_exp(x), want, want * 1e-15) << x;
  }
  for (double x = -1.0; x <= 1.0; x += 1.0 / 1024) {
    EXPECT_NEAR(portable_exp(x), std::exp(x), std::exp(x) * 4.5e-16) << x;
  }
  EXPECT_EQ(portable_exp(0.0), 1.0);
  EXPECT_EQ(portable_exp(-INFINITY), 0.0);
  EXPECT_EQ(portable_exp(-1000.0), 0.0);
  EXPECT_EQ(portable_exp(1000.0), INFINITY);
  EXPECT_TRUE(std::isnan(portable_exp(NAN)));
  EXPECT_GT(portable_exp(-740.0), 0.0);  // subnormal range
}

TEST(PortableMath, LogMatchesLibmWithinAFewUlp) {
  for (double x = 1e-300; x < 1e300; x *= 1.37) {
    const double want = std::log(x);
    EXPECT_NEAR(portable_log(x), want, std::fabs(want) * 1e-15 + 1e-300) << x;
  }
  for (double x = 0.5; x <= 2.0; x += 1.0 / 4096) {
    EXPECT_NEAR(portable_log(x), std::log(x), 4.5e-16) << x;
  }
  EXPECT_EQ(portable_log(1.0), 0.0);
  EXPECT_EQ(portable_log(0.0), -INFINITY);
  EXPECT_EQ(portable_log(INFINITY), INFINITY);
  EXPECT_TRUE(std::isnan(portable_log(-1.0)));
  EXPECT_NEAR(portable_log(5e-324), std::log(5e-324), 1e-12);  // smallest subnormal
}

}  // namespace
}  // namespace corral
