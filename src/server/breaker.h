// A circuit breaker per model: closed (requests flow) -> open after `failure_threshold`
// consecutive failures (requests skip the model, to its fallbacks) -> half-open once
// `cooldown` has passed (one probe request is let through) -> closed when the probe succeeds,
// open again when it fails. Failures are what the model did wrong: a failed load, a generation
// that fails. Overload, deadlines (a busy model is slow, not broken) and bad requests are
// neither.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace corral::server {

enum class BreakerState { kClosed, kOpen, kHalfOpen };
const char* breaker_state_name(BreakerState s);

struct BreakerConfig {
  int32_t failure_threshold = 5;                         // CORRAL_BREAKER_FAILURES
  std::chrono::nanoseconds cooldown = std::chrono::seconds(30);  // CORRAL_BREAKER_COOLDOWN
};
// CORRAL_BREAKER_FAILURES (a positive integer) and CORRAL_BREAKER_COOLDOWN (a duration such as
// "30s" or "500ms", or seconds); bad values are logged and ignored.
BreakerConfig breaker_config_from_env();

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  explicit CircuitBreaker(BreakerConfig config) : config_(config) {}

  // Whether a request may use the model now. In the open state after the cool-down this turns
  // half-open and admits exactly one probe; others are refused until the probe reports.
  bool allow(Clock::time_point now);
  void record_success();
  void record_failure(Clock::time_point now);
  // The admitted request ended without saying anything about the model's health (overload,
  // a bad request, the client left): a half-open probe slot is given back.
  void record_neutral();

  BreakerState state() const { return state_; }
  int32_t consecutive_failures() const { return failures_; }

 private:
  BreakerConfig config_;
  BreakerState state_ = BreakerState::kClosed;
  int32_t failures_ = 0;
  Clock::time_point opened_at_{};
  bool probe_in_flight_ = false;
};

// The breakers of every model seen, by model name; thread-safe.
class BreakerRegistry {
 public:
  using Clock = CircuitBreaker::Clock;
  explicit BreakerRegistry(BreakerConfig config, std::function<Clock::time_point()> clock = nullptr);

  bool allow(const std::string& model);
  void record_success(const std::string& model);
  void record_failure(const std::string& model);
  void record_neutral(const std::string& model);
  BreakerState state(const std::string& model);
  // (model, state, consecutive failures) for /metrics.
  struct Row {
    std::string model;
    BreakerState state;
    int32_t failures;
  };
  std::vector<Row> snapshot() const;

 private:
  CircuitBreaker& get(const std::string& model);  // mu_ held
  BreakerConfig config_;
  std::function<Clock::time_point()> clock_;
  mutable std::mutex mu_;
  std::map<std::string, CircuitBreaker> breakers_;
};

}  // namespace corral::server
