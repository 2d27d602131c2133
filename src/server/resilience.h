// What the server keeps to give way under failure: the injected test faults, a circuit breaker
// per model, the default deadline, and counters of fallbacks and deadlines for /metrics.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "server/breaker.h"
#include "server/faults.h"

namespace corral::server {

// Why a request left a model for its next fallback (also the metrics label).
inline constexpr const char* kReasonOverloaded = "overloaded";       // queue full (503)
inline constexpr const char* kReasonLoadFailed = "load_failed";      // the model did not load
inline constexpr const char* kReasonDeadline = "deadline";           // no first token in its share
inline constexpr const char* kReasonUnhealthy = "unhealthy";         // breaker open
inline constexpr const char* kReasonError = "error";                 // generation failed to start
inline constexpr const char* kReasonNotFound = "not_found";          // a fallback name is unknown

// CORRAL_DEFAULT_DEADLINE: a duration ("30s", "1m", "1500ms") or plain milliseconds; 0 when
// unset, zero or invalid (logged).
int64_t default_deadline_ms_from_env();

class Resilience {
 public:
  Resilience()
      : faults(Faults::from_env()), breakers(breaker_config_from_env()),
        default_deadline_ms(default_deadline_ms_from_env()) {}
  Resilience(Faults::Table faults_table, BreakerConfig bc, int64_t default_deadline)
      : faults(std::move(faults_table)), breakers(bc), default_deadline_ms(default_deadline) {}

  Faults faults;
  BreakerRegistry breakers;
  const int64_t default_deadline_ms;

  void count_fallback(const std::string& from_model, const std::string& reason);
  // stage: "queued" (504 before the first token) or "generating" (stopped with partial output).
  void count_deadline(const std::string& stage);
  // Prometheus text: corral_fallbacks_total, corral_deadline_exceeded_total,
  // corral_model_breaker_state, corral_model_breaker_failures.
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, int64_t> fallbacks_;
  std::map<std::string, int64_t> deadlines_;
};

}  // namespace corral::server
