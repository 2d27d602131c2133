// The machine's measured limits, for reporting speed as a fraction of them (corral bench,
// bench/): memory read bandwidth and the 8-bit multiply-add peak, using every pool thread.
#pragma once

#include <cstddef>

#include "kernels/kernel_abi.h"

namespace corral {

// Best of `reps` streaming reads over a buffer of `buffer_bytes` (make it much larger than the
// last-level cache), split evenly over the pool's threads. Bytes per second.
double measure_read_bandwidth(const KernelTable& table, size_t buffer_bytes, int reps);

// The table's int8 dot loop (registers only) on every pool thread for about `seconds`.
// Operations per second, counting a multiply-add as 2 (as GOP/s figures usually do).
double measure_int8_peak(const KernelTable& table, double seconds);

}  // namespace corral
