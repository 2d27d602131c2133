// Server counters in Prometheus text format: requests by route and status, tokens in and out,
// time to first token, queue depth and per-model load state (the last two from the scheduler).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "engine/scheduler.h"

namespace corral::server {

class Metrics {
 public:
  void count_request(const std::string& route, int status);
  void add_tokens(int64_t prompt, int64_t generated);
  void observe_ttft(double seconds);
  // The exposition text, with scheduler gauges sampled now.
  std::string render(const Scheduler& sched) const;

 private:
  static constexpr std::array<double, 10> kTtftBuckets = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                           0.25,  0.5,  1.0,   2.5,  10.0};
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::array<int64_t, kTtftBuckets.size()> ttft_counts_{};
  int64_t ttft_count_ = 0;
  double ttft_sum_ = 0;
  std::atomic<int64_t> prompt_tokens_{0}, generated_tokens_{0};
};

}  // namespace corral::server
