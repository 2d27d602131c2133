// Default deadline from the environment and the resilience counters' exposition text.
#include "server/resilience.h"

#include <cstdlib>

#include <fmt/format.h>

#include "base/log.h"
#include "engine/scheduler.h"

namespace corral::server {

int64_t default_deadline_ms_from_env() {
  const char* v = std::getenv("CORRAL_DEFAULT_DEADLINE");
  if (v == nullptr || *v == '\0') return 0;
  std::string_view s(v);
  bool digits = true;
  for (char c : s) digits = digits && c >= '0' && c <= '9';
  if (digits && s.size() <= 12) return std::strtoll(v, nullptr, 10);
  auto d = parse_keep_alive(s);
  if (!d || *d == kKeepForever || d->count() < 0) {
    CORRAL_LOG_WARN("ignoring CORRAL_DEFAULT_DEADLINE={}: not a duration", v);
    return 0;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
}

void Resilience::count_fallback(const std::string& from_model, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  fallbacks_[{from_model, reason}]++;
}

void Resilience::count_deadline(const std::string& stage) {
  std::lock_guard<std::mutex> lock(mu_);
  deadlines_[stage]++;
}

std::string Resilience::render() const {
  std::string o;
  o += "# HELP corral_fallbacks_total Requests that left a model for its next fallback, by reason.\n";
  o += "# TYPE corral_fallbacks_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, n] : fallbacks_)
      o += fmt::format("corral_fallbacks_total{{model=\"{}\",reason=\"{}\"}} {}\n", k.first, k.second, n);
    o += "# HELP corral_deadline_exceeded_total Requests past their deadline: queued (504) or generating (partial).\n";
    o += "# TYPE corral_deadline_exceeded_total counter\n";
    for (const auto& [stage, n] : deadlines_)
      o += fmt::format("corral_deadline_exceeded_total{{stage=\"{}\"}} {}\n", stage, n);
  }
  const auto rows = breakers.snapshot();
  o += "# HELP corral_model_breaker_state Circuit breaker per model: 0 closed, 1 half-open, 2 open.\n";
  o += "# TYPE corral_model_breaker_state gauge\n";
  for (const auto& r : rows) {
    const int v = r.state == BreakerState::kClosed ? 0 : r.state == BreakerState::kHalfOpen ? 1 : 2;
    o += fmt::format("corral_model_breaker_state{{model=\"{}\",state=\"{}\"}} {}\n", r.model,
                     breaker_state_name(r.state), v);
  }
  o += "# HELP corral_model_breaker_failures Consecutive failures counted by each model's breaker.\n";
  o += "# TYPE corral_model_breaker_failures gauge\n";
  for (const auto& r : rows)
    o += fmt::format("corral_model_breaker_failures{{model=\"{}\"}} {}\n", r.model, r.failures);
  return o;
}

}  // namespace corral::server
