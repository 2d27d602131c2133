// Readiness, drain state, in-flight requests and the generation registry.
#include "server/lifecycle.h"

#include <chrono>
#include <cstdlib>

#include "base/log.h"
#include "engine/scheduler.h"
#include "server/generation.h"

namespace corral::server {

void Lifecycle::set_preload(std::vector<std::string> names) {
  std::lock_guard<std::mutex> lock(mu_);
  preload_ = std::move(names);
  preload_state_.assign(preload_.size(), 0);
}

std::vector<std::string> Lifecycle::preload() const {
  std::lock_guard<std::mutex> lock(mu_);
  return preload_;
}

void Lifecycle::mark_preloaded(const std::string& name, bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < preload_.size(); ++i)
    if (preload_[i] == name) preload_state_[i] = ok ? 1 : -1;
}

std::string Lifecycle::not_ready_reason() const {
  if (draining_.load()) return "draining";
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < preload_.size(); ++i) {
    if (preload_state_[i] == 0) return "loading " + preload_[i];
    if (preload_state_[i] < 0) return "failed to load " + preload_[i];
  }
  return "";
}

void Lifecycle::begin_drain() { draining_.store(true); }

void Lifecycle::request_started(const void* req) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.insert(req);
}

bool Lifecycle::request_finished(const void* req) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool counted = requests_.erase(req) > 0;
  if (counted && requests_.empty()) idle_cv_.notify_all();
  return counted;
}

int64_t Lifecycle::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(requests_.size());
}

bool Lifecycle::wait_idle(int64_t deadline_ns) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto until = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns));
  return idle_cv_.wait_until(lock, until, [&] { return requests_.empty(); });
}

void Lifecycle::add(Generation* g) {
  std::lock_guard<std::mutex> lock(mu_);
  generations_.insert(g);
  // Past the drain deadline, one that only now got its slot (it waited behind the ended ones)
  // ends at once too.
  if (ending_) g->shutdown();
}

void Lifecycle::remove(Generation* g) {
  std::lock_guard<std::mutex> lock(mu_);
  generations_.erase(g);
}

size_t Lifecycle::shutdown_generations() {
  // Under the lock: a Generation removes itself (under the same lock) before it is destroyed.
  std::lock_guard<std::mutex> lock(mu_);
  ending_ = true;
  for (Generation* g : generations_) g->shutdown();
  return generations_.size();
}

int64_t drain_timeout_ms_from_env() {
  constexpr int64_t kDefaultMs = 30000;
  const char* v = std::getenv("CORRAL_DRAIN_TIMEOUT");
  if (v == nullptr || *v == '\0') return kDefaultMs;
  auto d = parse_keep_alive(v);
  if (!d || d->count() < 0) {
    CORRAL_LOG_WARN("ignoring CORRAL_DRAIN_TIMEOUT={} (want a duration such as 30s)", v);
    return kDefaultMs;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
}

std::vector<std::string> preload_from_env() {
  std::vector<std::string> out;
  const char* v = std::getenv("CORRAL_PRELOAD");
  if (v == nullptr) return out;
  std::string_view s(v);
  while (!s.empty()) {
    const auto comma = s.find(',');
    std::string item(s.substr(0, comma));
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace corral::server
