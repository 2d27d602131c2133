// SplitMix64 and xoshiro256**, transcribed from their published reference algorithms.
#include "sampling/rng.h"

#include <random>

namespace corral {
namespace {

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

uint64_t SplitMix64::next() {
  state_ += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) {
  SplitMix64 sm(seed);
  // SplitMix64 is a bijection on its counter, so at most one word can be zero: never all four.
  for (auto& w : s_) w = sm.next();
}

uint64_t Rng::random_seed() {
  std::random_device rd;
  const uint64_t hi = rd();
  const uint64_t lo = rd();
  return (hi << 32) ^ lo;
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::next_double() {
  // 53 random bits scaled by 2^-53: exact in double, uniform over [0, 1).
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

}  // namespace corral
