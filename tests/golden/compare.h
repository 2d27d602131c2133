// What the golden suites compare logits with: KL divergence against a reference row, the
// log-sum-exp of a row, the top-1 token.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace corral::golden {

inline double log_sum_exp(const std::vector<double>& x) {
  const double mx = *std::max_element(x.begin(), x.end());
  double s = 0;
  for (double v : x) s += std::exp(v - mx);
  return mx + std::log(s);
}

// KL(ref || ours) over the full vocabulary, in nats.
inline double kl_divergence(const std::vector<double>& ref, const float* ours, size_t n) {
  const std::vector<double> o(ours, ours + n);
  const double lr = log_sum_exp(ref), lo = log_sum_exp(o);
  double kl = 0;
  for (size_t i = 0; i < n; ++i) kl += std::exp(ref[i] - lr) * ((ref[i] - lr) - (o[i] - lo));
  return kl;
}

// The first largest value's index.
inline size_t argmax(const float* x, size_t n) { return static_cast<size_t>(std::max_element(x, x + n) - x); }

}  // namespace corral::golden
