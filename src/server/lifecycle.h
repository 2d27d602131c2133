// The server's life as a fleet member sees it: readiness (CORRAL_PRELOAD models loaded, not
// draining), the drain on SIGTERM (refuse new work, let in-flight requests finish, then end the
// generations still running with done_reason "shutdown"), and the count of requests in flight.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace corral::server {

class Generation;

class Lifecycle {
 public:
  // Readiness. The preload list is set once at start; each name is marked loaded (or failed).
  void set_preload(std::vector<std::string> names);
  std::vector<std::string> preload() const;
  void mark_preloaded(const std::string& name, bool ok);
  // Empty when ready; else why not ("draining", "loading stories", "failed to load stories").
  std::string not_ready_reason() const;

  // Draining: from now on new work is refused (503) and /ready answers 503.
  void begin_drain();
  bool draining() const { return draining_.load(); }

  // Requests in flight (every route but /health, /ready and /metrics). The key is the request's
  // address, so a request is counted at most once and only if it was counted in.
  void request_started(const void* req);
  // True when `req` had been counted in.
  bool request_finished(const void* req);
  int64_t in_flight() const;
  // Waits until no request is in flight or `deadline_ns` (mono_ns clock) passes; true if idle.
  bool wait_idle(int64_t deadline_ns);

  // Running generations, so the drain deadline can end them.
  void add(Generation* g);
  void remove(Generation* g);
  // Ends every running generation: its final event says done_reason "shutdown"; generations
  // that start later end at once too. Returns how many were running.
  size_t shutdown_generations();

 private:
  std::atomic<bool> draining_{false};
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::set<const void*> requests_;
  std::set<Generation*> generations_;
  bool ending_ = false;  // shutdown_generations() was called
  std::vector<std::string> preload_;
  std::vector<int> preload_state_;  // 0 loading, 1 loaded, -1 failed
};

// CORRAL_DRAIN_TIMEOUT (Go duration or seconds, default 30s) in milliseconds.
int64_t drain_timeout_ms_from_env();
// CORRAL_PRELOAD: comma-separated model names.
std::vector<std::string> preload_from_env();

}  // namespace corral::server
