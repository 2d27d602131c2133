// Portable seeded PRNG: xoshiro256** (Blackman & Vigna, 2018) with its 256-bit state filled by
// SplitMix64 (Steele, Lea & Flood, 2014) from a 64-bit seed, exactly as the reference code at
// https://prng.di.unimi.it/ recommends. Only integer arithmetic on uint64_t, and doubles are made
// from the top 53 bits explicitly, so a seed gives the same numbers on every machine, compiler
// and standard library. (std::uniform_real_distribution and friends differ between libraries,
// so they are never used here.)
#pragma once

#include <array>
#include <cstdint>

namespace corral {

// SplitMix64: one step advances the state by the golden-ratio constant and mixes it.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();

 private:
  uint64_t state_;
};

class Rng {
 public:
  // State words are the first four SplitMix64(seed) outputs.
  explicit Rng(uint64_t seed);
  // A seed drawn from std::random_device (for requests without a seed).
  static uint64_t random_seed();
  // A generator in a given state (not all zero); for tests against published vectors.
  static Rng from_state(const std::array<uint64_t, 4>& state) {
    Rng r(0);
    r.s_ = state;
    return r;
  }

  uint64_t next_u64();
  // Uniform in [0, 1): (next_u64() >> 11) * 2^-53, every value a multiple of 2^-53.
  double next_double();

  const std::array<uint64_t, 4>& state() const { return s_; }

 private:
  std::array<uint64_t, 4> s_;
};

}  // namespace corral
