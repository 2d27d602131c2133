// Circuit breaker state machine and the per-model registry.
#include "server/breaker.h"

#include <cstdlib>

#include "base/log.h"
#include "engine/scheduler.h"

namespace corral::server {

const char* breaker_state_name(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "closed";
}

BreakerConfig breaker_config_from_env() {
  BreakerConfig c;
  if (const char* v = std::getenv("CORRAL_BREAKER_FAILURES"); v != nullptr && *v != '\0') {
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end == '\0' && n > 0 && n <= 1000000) c.failure_threshold = static_cast<int32_t>(n);
    else CORRAL_LOG_WARN("ignoring CORRAL_BREAKER_FAILURES={}: not a positive integer", v);
  }
  if (const char* v = std::getenv("CORRAL_BREAKER_COOLDOWN"); v != nullptr && *v != '\0') {
    auto d = parse_keep_alive(v);
    if (d && *d > std::chrono::nanoseconds(0) && *d != kKeepForever) c.cooldown = *d;
    else CORRAL_LOG_WARN("ignoring CORRAL_BREAKER_COOLDOWN={}: not a positive duration", v);
  }
  return c;
}

bool CircuitBreaker::allow(Clock::time_point now) {
  switch (state_) {
    case BreakerState::kClosed: return true;
    case BreakerState::kOpen:
      if (now - opened_at_ < config_.cooldown) return false;
      state_ = BreakerState::kHalfOpen;
      probe_in_flight_ = true;
      return true;
    case BreakerState::kHalfOpen:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return true;
}

void CircuitBreaker::record_success() {
  state_ = BreakerState::kClosed;
  failures_ = 0;
  probe_in_flight_ = false;
}

void CircuitBreaker::record_failure(Clock::time_point now) {
  failures_++;
  probe_in_flight_ = false;
  if (state_ == BreakerState::kHalfOpen || failures_ >= config_.failure_threshold) {
    state_ = BreakerState::kOpen;
    opened_at_ = now;
  }
}

void CircuitBreaker::record_neutral() {
  if (state_ == BreakerState::kHalfOpen) probe_in_flight_ = false;
}

BreakerRegistry::BreakerRegistry(BreakerConfig config, std::function<Clock::time_point()> clock)
    : config_(config), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return Clock::now(); };
}

CircuitBreaker& BreakerRegistry::get(const std::string& model) {
  auto it = breakers_.find(model);
  if (it == breakers_.end()) it = breakers_.emplace(model, CircuitBreaker(config_)).first;
  return it->second;
}

bool BreakerRegistry::allow(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  return get(model).allow(clock_());
}

void BreakerRegistry::record_success(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  CircuitBreaker& b = get(model);
  if (b.state() != BreakerState::kClosed) CORRAL_LOG_INFO("breaker: {} is healthy again (closed)", model);
  b.record_success();
}

void BreakerRegistry::record_failure(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  CircuitBreaker& b = get(model);
  const BreakerState before = b.state();
  b.record_failure(clock_());
  if (b.state() == BreakerState::kOpen && before != BreakerState::kOpen)
    CORRAL_LOG_WARN("breaker: {} marked unhealthy after {} consecutive failures (open for {} ms)", model,
                    b.consecutive_failures(),
                    std::chrono::duration_cast<std::chrono::milliseconds>(config_.cooldown).count());
}

void BreakerRegistry::record_neutral(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  get(model).record_neutral();
}

BreakerState BreakerRegistry::state(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  return get(model).state();
}

std::vector<BreakerRegistry::Row> BreakerRegistry::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Row> out;
  for (const auto& [name, b] : breakers_) out.push_back({name, b.state(), b.consecutive_failures()});
  return out;
}

}  // namespace corral::server
