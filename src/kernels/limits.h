// The machine's measured limits, for reporting speed as a fraction of them (corral bench,
// bench/): memory read bandwidth and the 8-bit multiply-add peak, using every pool thread.
#pragma once

#include <cstddef>
#include <vector>

#include "kernels/kernel_abi.h"

namespace corral {

// Repeated measurements of one rate: the median is the figure to report (a shared machine has
// slow moments and, less often, flattering ones), the extremes show how much it moved.
struct RateSpread {
  double median = 0.0, low = 0.0, high = 0.0;
  std::vector<double> samples;
};
RateSpread spread_of(std::vector<double> samples);

// `reps` streaming reads over a buffer of `buffer_bytes` (make it much larger than the
// last-level cache), split evenly over the pool's threads, after one untimed read. Bytes per
// second.
RateSpread measure_read_bandwidth(const KernelTable& table, size_t buffer_bytes, int reps);

// The table's int8 dot loop (registers only, the widest multiply-add the table's CPU runs) on
// every pool thread for about `seconds`.
// Operations per second, counting a multiply-add as 2 (as GOP/s figures usually do).
double measure_int8_peak(const KernelTable& table, double seconds);

}  // namespace corral
