// Machine-limit probes: streaming read bandwidth and int8 peak over the global pool.
#include "kernels/limits.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "base/thread_pool.h"

namespace corral {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

RateSpread spread_of(std::vector<double> samples) {
  RateSpread out;
  if (samples.empty()) return out;
  std::sort(samples.begin(), samples.end());
  out.low = samples.front();
  out.high = samples.back();
  const size_t mid = samples.size() / 2;
  out.median = samples.size() % 2 != 0 ? samples[mid] : 0.5 * (samples[mid - 1] + samples[mid]);
  out.samples = std::move(samples);
  return out;
}

RateSpread measure_read_bandwidth(const KernelTable& table, size_t buffer_bytes, int reps) {
  ThreadPool& pool = ThreadPool::global();
  const auto n_threads = static_cast<size_t>(pool.size());
  const size_t chunk = buffer_bytes / n_threads / 4096 * 4096;
  if (chunk == 0 || reps <= 0) return {};
  std::unique_ptr<uint8_t[]> buf(new uint8_t[chunk * n_threads + 64]);
  uint8_t* base = buf.get() + (64 - reinterpret_cast<uintptr_t>(buf.get()) % 64) % 64;
  // First touch from the thread that will read each part (page placement), non-zero content.
  pool.parallel_for(n_threads, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) std::memset(base + i * chunk, static_cast<int>(i + 1), chunk);
  });
  std::unique_ptr<uint64_t[]> sink(new uint64_t[n_threads]());  // keeps the sums alive
  std::vector<double> rates;
  for (int r = -1; r < reps; ++r) {  // r = -1: warm-up (TLB, frequency), not counted
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(n_threads, [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; ++i) sink[i] += table.read_stream(base + i * chunk, chunk);
    });
    const double dt = seconds_since(t0);
    if (r >= 0) rates.push_back(static_cast<double>(chunk * n_threads) / dt);
  }
  volatile uint64_t keep = sink[0];
  (void)keep;
  return spread_of(std::move(rates));
}

double measure_int8_peak(const KernelTable& table, double seconds) {
  ThreadPool& pool = ThreadPool::global();
  const auto n_threads = static_cast<size_t>(pool.size());
  // Calibrate on one thread, then run all threads for about `seconds`.
  int64_t iters = 1 << 16;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    volatile int64_t s = table.int8_peak(iters);
    (void)s;
    const double dt = seconds_since(t0);
    if (dt > 0.02 || iters > (int64_t{1} << 40)) {
      iters = static_cast<int64_t>(static_cast<double>(iters) * seconds / (dt > 0 ? dt : 1e-9)) + 1;
      break;
    }
    iters *= 4;
  }
  std::unique_ptr<int64_t[]> sink(new int64_t[n_threads]());
  const auto t0 = std::chrono::steady_clock::now();
  pool.parallel_for(n_threads, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) sink[i] += table.int8_peak(iters);
  });
  volatile int64_t keep = sink[0];
  (void)keep;
  const double dt = seconds_since(t0);
  const int64_t madds = table.int8_peak_madds_per_iter > 0 ? table.int8_peak_madds_per_iter : kInt8PeakMaddsPerIter;
  return 2.0 * static_cast<double>(madds) * static_cast<double>(iters) *
         static_cast<double>(n_threads) / dt;
}

}  // namespace corral
