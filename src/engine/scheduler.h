// The scheduler: which models are loaded, for how long, and who may use them. Models load on
// first use through an injected loader, stay for keep_alive after their last request, and are
// evicted least-recently-used first (never while in use) to respect a count and memory budget.
// Requests beyond the queue limit are refused at once ("server busy").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/runner.h"

namespace corral {

// What to load. `key` identifies one loaded instance (the server puts the model name and the
// load-time options such as num_ctx in it, so two contexts sizes never thrash one instance).
struct LoadSpec {
  std::string key;
  std::string name;          // display name (for /api/ps)
  std::string path;          // GGUF file
  RunnerParams params;
  int64_t estimated_bytes = 0;  // weights + KV, for the memory budget before the load finishes
  // The part of estimated_bytes that is recurrent state (Runner::estimate_memory),
  // which the loader replaces with what the loaded runner holds.
  int64_t estimated_state_bytes = 0;
  // The part that is the KV cache (Runner::estimate_memory, in params.kv_type), likewise
  // replaced by what the loaded runner holds.
  int64_t estimated_kv_bytes = 0;
};

// A loaded model as the loader returns it. `runner` may be null in tests; `user` carries
// whatever the caller needs alongside (template, metadata).
struct LoadedInstance {
  std::shared_ptr<Runner> runner;
  std::shared_ptr<void> user;
  int64_t size_bytes = 0;
};

using LoaderFn = std::function<Result<LoadedInstance>(const LoadSpec&)>;
using ClockFn = std::function<std::chrono::steady_clock::time_point()>;

struct SchedulerConfig {
  int32_t max_loaded_models = 3;   // OLLAMA_MAX_LOADED_MODELS (0 in the env means 3 on CPU)
  int64_t memory_budget_bytes = 0; // 0: no memory limit (CORRAL_MAX_MEMORY, else MemAvailable)
  int32_t max_queue = 512;         // OLLAMA_MAX_QUEUE: requests waiting beyond the slots
  std::chrono::nanoseconds default_keep_alive = std::chrono::minutes(5);  // OLLAMA_KEEP_ALIVE
};

// Reads OLLAMA_MAX_LOADED_MODELS, OLLAMA_MAX_QUEUE, OLLAMA_KEEP_ALIVE and the memory budget:
// CORRAL_MAX_MEMORY ("12GiB", "800MB", bytes; "0" turns the budget off), else 90% of the
// machine's MemAvailable at start (bad values are logged and ignored).
SchedulerConfig scheduler_config_from_env();

// Parses a byte size: a plain number of bytes or a number with B, KB, MB, GB, TB (powers of
// 1000) or KiB, MiB, GiB, TiB (powers of 1024), case-insensitive.
Result<int64_t> parse_byte_size(std::string_view s);
// The memory budget for loaded models from /proc/meminfo text: 90% of MemAvailable; 0 when the
// text has no MemAvailable line.
int64_t memory_budget_from_meminfo(std::string_view meminfo);

// Parses a keep_alive duration: Go durations ("5m", "1h30m", "-1s", "300ms") or plain seconds
// ("300", "-1"). Negative means forever (returned as nanoseconds::max()).
Result<std::chrono::nanoseconds> parse_keep_alive(std::string_view s);
inline constexpr std::chrono::nanoseconds kKeepForever = std::chrono::nanoseconds::max();

enum class SchedulerErrorKind { kNone, kBusy, kLoadFailed, kCancelled, kDeadline };

struct LoadedModelInfo {
  std::string key, name, path;
  int64_t size_bytes = 0;
  int32_t n_active = 0;
  bool loading = false;
  bool forever = false;
  std::chrono::steady_clock::time_point expires_at;  // valid when idle and not forever
  std::chrono::nanoseconds keep_alive{};
  int64_t n_ctx = 0;
};

class Scheduler {
 public:
  struct Entry;

  // Holds one model in use; releasing it (destructor) starts the keep_alive timer when it was
  // the last user.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept { *this = std::move(o); }
    Lease& operator=(Lease&& o) noexcept;
    ~Lease() { release(); }
    void release();
    const LoadedInstance& instance() const;
    Runner* runner() const { return instance().runner.get(); }
    // Load time paid by this request (0 when the model was already loaded).
    std::chrono::nanoseconds load_duration() const { return load_duration_; }
    explicit operator bool() const { return entry_ != nullptr; }

   private:
    friend class Scheduler;
    Scheduler* sched_ = nullptr;
    std::shared_ptr<Entry> entry_;
    std::chrono::nanoseconds keep_alive_{};
    std::chrono::nanoseconds load_duration_{};
  };

  Scheduler(SchedulerConfig config, LoaderFn loader, ClockFn clock = nullptr);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Gets a loaded instance for `spec`, loading it (and evicting idle models) if needed. Blocks
  // while the model loads or while it waits for room. `keep_alive` (nullopt: the default) is
  // applied when the lease is released. `cancelled` is polled while waiting; past `deadline`
  // (on the scheduler's clock) a request still waiting gives up with kDeadline. A load already
  // running is not interrupted.
  struct AcquireResult {
    Lease lease;
    SchedulerErrorKind kind = SchedulerErrorKind::kNone;
    std::string error;
    bool ok() const { return kind == SchedulerErrorKind::kNone; }
  };
  AcquireResult acquire(const LoadSpec& spec, std::optional<std::chrono::nanoseconds> keep_alive,
                        const std::function<bool()>& cancelled = nullptr,
                        std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

  // Unloads every instance of `name` now if idle, or when its last user finishes. Returns
  // whether any instance was found.
  bool unload(const std::string& name);
  // Unloads idle instances whose keep_alive has passed. The server calls it every second.
  void expire_idle();
  // Unloads every idle model (shutdown).
  void unload_all();

  std::vector<LoadedModelInfo> loaded() const;
  int32_t queue_depth() const;
  int32_t n_loaded() const;
  std::chrono::steady_clock::time_point now() const { return clock_(); }

 private:
  void release(const std::shared_ptr<Entry>& e, std::chrono::nanoseconds keep_alive);
  // Needs mu_ held. Picks idle entries to evict so that one more model of `bytes` fits;
  // returns false when not enough idle models exist (the caller waits).
  bool make_room(int64_t bytes, std::vector<std::shared_ptr<Entry>>& evicted);
  // Needs mu_ held. Whether make_room would succeed now (a load could start without waiting).
  bool room_available(int64_t bytes) const;
  int64_t used_bytes() const;

  SchedulerConfig config_;
  LoaderFn loader_;
  ClockFn clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  int32_t n_waiting_ = 0;
  uint64_t use_counter_ = 0;
};

}  // namespace corral
