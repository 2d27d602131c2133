// Scheduler: load on first use, keep_alive expiry, LRU eviction of idle models, bounded queue.
// Loads run outside the lock (other models stay usable meanwhile); instances are destroyed
// outside the lock too, since a Runner's destructor joins its decode thread.
#include "engine/scheduler.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "base/duration.h"
#include "base/log.h"
#include "base/meminfo.h"

namespace corral {

struct Scheduler::Entry {
  LoadSpec spec;
  LoadedInstance inst;
  bool loading = true;
  bool failed = false;
  std::string error;
  int32_t n_active = 0;
  bool unload_requested = false;
  bool forever = false;
  std::chrono::steady_clock::time_point expires_at{};
  std::chrono::nanoseconds keep_alive{};
  uint64_t last_used = 0;
  int64_t size_bytes = 0;
};

namespace {

using std::chrono::nanoseconds;

bool parse_number(std::string_view s, double* out) {
  if (s.empty() || s.size() > 64) return false;
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size() || errno != 0 || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

}  // namespace

Result<nanoseconds> parse_keep_alive(std::string_view s) {
  auto seconds = parse_duration_seconds(s);
  if (!seconds) return seconds.error();
  const double total = *seconds * 1e9;
  if (total < 0) return kKeepForever;
  // Anything beyond ~100 years is forever as well (and would overflow time_point arithmetic).
  if (total > 3.1e18) return kKeepForever;
  return nanoseconds(static_cast<int64_t>(total));
}

SchedulerConfig scheduler_config_from_env() {
  SchedulerConfig c;
  auto int_env = [](const char* name, int32_t* out) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end != '\0' || n < 0 || n > 1000000) {
      CORRAL_LOG_WARN("ignoring {}={}: not a non-negative integer", name, v);
      return;
    }
    *out = static_cast<int32_t>(n);
  };
  int_env("OLLAMA_MAX_LOADED_MODELS", &c.max_loaded_models);
  if (c.max_loaded_models == 0) c.max_loaded_models = 3;  // Ollama: 3 x GPUs, 3 on CPU
  int_env("OLLAMA_MAX_QUEUE", &c.max_queue);
  if (const char* v = std::getenv("CORRAL_MAX_MEMORY"); v != nullptr && *v != '\0') {
    auto b = parse_byte_size(v);
    if (b) c.memory_budget_bytes = *b;
    else CORRAL_LOG_WARN("ignoring CORRAL_MAX_MEMORY: {}", b.error().message);
  } else {
    c.memory_budget_bytes = static_cast<int64_t>(static_cast<double>(mem_available_bytes()) * 0.9);
  }
  if (c.memory_budget_bytes > 0)
    CORRAL_LOG_DEBUG("scheduler: memory budget for loaded models {} MiB", c.memory_budget_bytes >> 20);
  if (const char* v = std::getenv("OLLAMA_KEEP_ALIVE"); v != nullptr && *v != '\0') {
    auto d = parse_keep_alive(v);
    if (d) c.default_keep_alive = *d;
    else CORRAL_LOG_WARN("ignoring OLLAMA_KEEP_ALIVE: {}", d.error().message);
  }
  return c;
}

Result<int64_t> parse_byte_size(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  double v = 0;
  if (i == 0 || !parse_number(s.substr(0, i), &v) || v < 0) return make_error("invalid size \"{}\"", s);
  std::string unit;
  for (char c : s.substr(i))
    if (c != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double mult = 0;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "kb" || unit == "k") mult = 1e3;
  else if (unit == "mb" || unit == "m") mult = 1e6;
  else if (unit == "gb" || unit == "g") mult = 1e9;
  else if (unit == "tb" || unit == "t") mult = 1e12;
  else if (unit == "kib") mult = 1024.0;
  else if (unit == "mib") mult = 1024.0 * 1024;
  else if (unit == "gib") mult = 1024.0 * 1024 * 1024;
  else if (unit == "tib") mult = 1024.0 * 1024 * 1024 * 1024;
  if (mult == 0 || v * mult > 9.0e18) return make_error("invalid size \"{}\"", s);
  return static_cast<int64_t>(v * mult);
}

int64_t memory_budget_from_meminfo(std::string_view meminfo) {
  return static_cast<int64_t>(static_cast<double>(mem_available_from_meminfo(meminfo)) * 0.9);
}

Scheduler::Lease& Scheduler::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    release();
    sched_ = o.sched_;
    entry_ = std::move(o.entry_);
    keep_alive_ = o.keep_alive_;
    load_duration_ = o.load_duration_;
    o.sched_ = nullptr;
    o.entry_.reset();
  }
  return *this;
}

void Scheduler::Lease::release() {
  if (entry_ && sched_ != nullptr) sched_->release(entry_, keep_alive_);
  entry_.reset();
  sched_ = nullptr;
}

const LoadedInstance& Scheduler::Lease::instance() const {
  assert(entry_);
  return entry_->inst;
}

Scheduler::Scheduler(SchedulerConfig config, LoaderFn loader, ClockFn clock)
    : config_(config), loader_(std::move(loader)), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
  if (config_.max_loaded_models <= 0) config_.max_loaded_models = 1;
}

Scheduler::~Scheduler() { unload_all(); }

int64_t Scheduler::used_bytes() const {
  int64_t total = 0;
  for (const auto& [k, e] : entries_) total += e->size_bytes;
  return total;
}

bool Scheduler::room_available(int64_t bytes) const {
  // Evicting every idle model is the most make_room could do.
  int64_t n = 0, used = 0;
  for (const auto& [k, e] : entries_) {
    if (!e->loading && e->n_active == 0) continue;
    ++n;
    used += e->size_bytes;
  }
  if (n + 1 > config_.max_loaded_models) return false;
  return config_.memory_budget_bytes <= 0 || n == 0 || used + bytes <= config_.memory_budget_bytes;
}

bool Scheduler::make_room(int64_t bytes, std::vector<std::shared_ptr<Entry>>& evicted) {
  auto over = [&] {
    const auto n = static_cast<int64_t>(entries_.size());
    if (n + 1 > config_.max_loaded_models) return true;
    return config_.memory_budget_bytes > 0 && n > 0 &&
           used_bytes() + bytes > config_.memory_budget_bytes;
  };
  while (over()) {
    std::shared_ptr<Entry> victim;
    for (const auto& [k, e] : entries_) {
      if (e->loading || e->n_active > 0) continue;  // a model in use is never evicted
      if (!victim || e->last_used < victim->last_used) victim = e;
    }
    if (!victim) return false;
    CORRAL_LOG_INFO("scheduler: evicting idle model {} to make room", victim->spec.key);
    entries_.erase(victim->spec.key);
    evicted.push_back(std::move(victim));
  }
  return true;
}

Scheduler::AcquireResult Scheduler::acquire(const LoadSpec& spec,
                                            std::optional<nanoseconds> keep_alive,
                                            const std::function<bool()>& cancelled,
                                            std::optional<std::chrono::steady_clock::time_point> deadline) {
  AcquireResult out;
  std::vector<std::shared_ptr<Entry>> evicted;
  std::unique_lock<std::mutex> lock(mu_);
  const nanoseconds ka = keep_alive.value_or(config_.default_keep_alive);

  // Admission: a request that can start at once (a free slot on a loaded model, or a model
  // that can be loaded now without waiting for others) is always let in; any other waits, and
  // the number waiting is bounded.
  {
    auto it = entries_.find(spec.key);
    const bool free_slot = it != entries_.end() && !it->second->loading &&
                           it->second->n_active < std::max(1, it->second->spec.params.n_parallel);
    const bool loads_now = it == entries_.end() && room_available(spec.estimated_bytes);
    if (!free_slot && !loads_now) {
      int32_t depth = n_waiting_;
      for (const auto& [k, e] : entries_)
        depth += std::max(0, e->n_active - std::max(1, e->spec.params.n_parallel));
      if (depth >= config_.max_queue) {
        out.kind = SchedulerErrorKind::kBusy;
        out.error = "server busy, please try again.  maximum pending requests exceeded";
        return out;
      }
    }
  }

  bool waiting = false;
  auto set_waiting = [&](bool w) {
    if (w != waiting) n_waiting_ += w ? 1 : -1;
    waiting = w;
  };
  for (;;) {
    if (cancelled && cancelled()) {
      set_waiting(false);
      out.kind = SchedulerErrorKind::kCancelled;
      out.error = "request canceled";
      break;
    }
    if (deadline && clock_() >= *deadline) {
      set_waiting(false);
      out.kind = SchedulerErrorKind::kDeadline;
      out.error = "deadline exceeded while waiting for the model";
      break;
    }
    auto it = entries_.find(spec.key);
    if (it != entries_.end()) {
      std::shared_ptr<Entry> e = it->second;
      if (e->loading) {
        set_waiting(true);
        cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return !e->loading; });
        if (e->failed) {
          set_waiting(false);
          out.kind = SchedulerErrorKind::kLoadFailed;
          out.error = e->error;
          break;
        }
        continue;
      }
      set_waiting(false);
      e->n_active++;
      e->unload_requested = false;  // a new user wants it after all
      e->last_used = ++use_counter_;
      out.lease.sched_ = this;
      out.lease.entry_ = e;
      out.lease.keep_alive_ = ka;
      break;
    }
    if (!make_room(spec.estimated_bytes, evicted)) {
      set_waiting(true);
      if (!evicted.empty()) {
        lock.unlock();
        evicted.clear();
        lock.lock();
      }
      cv_.wait_for(lock, std::chrono::milliseconds(50));
      continue;
    }
    set_waiting(false);
    auto e = std::make_shared<Entry>();
    e->spec = spec;
    e->n_active = 1;
    e->size_bytes = spec.estimated_bytes;
    e->last_used = ++use_counter_;
    entries_[spec.key] = e;
    lock.unlock();
    evicted.clear();  // destroy evicted instances outside the lock
    const auto t0 = clock_();
    Result<LoadedInstance> loaded = loader_(spec);
    const auto t1 = clock_();
    lock.lock();
    e->loading = false;
    if (!loaded) {
      e->failed = true;
      e->error = loaded.error().message;
      e->n_active = 0;
      auto cur = entries_.find(spec.key);
      if (cur != entries_.end() && cur->second == e) entries_.erase(cur);
      cv_.notify_all();
      out.kind = SchedulerErrorKind::kLoadFailed;
      out.error = e->error;
      break;
    }
    e->inst = std::move(*loaded);
    if (e->inst.size_bytes > 0) e->size_bytes = e->inst.size_bytes;
    cv_.notify_all();
    out.lease.sched_ = this;
    out.lease.entry_ = e;
    out.lease.keep_alive_ = ka;
    out.lease.load_duration_ = std::chrono::duration_cast<nanoseconds>(t1 - t0);
    CORRAL_LOG_INFO("scheduler: loaded {} in {} ms", spec.key,
                    out.lease.load_duration_.count() / 1000000);
    break;
  }
  lock.unlock();
  evicted.clear();
  return out;
}

void Scheduler::release(const std::shared_ptr<Entry>& e, nanoseconds keep_alive) {
  std::shared_ptr<Entry> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    e->n_active--;
    e->keep_alive = keep_alive;
    e->forever = keep_alive == kKeepForever;
    if (e->n_active == 0) {
      if (keep_alive.count() == 0 || e->unload_requested) {
        auto it = entries_.find(e->spec.key);
        if (it != entries_.end() && it->second == e) {
          doomed = it->second;
          entries_.erase(it);
        }
      } else if (!e->forever) {
        e->expires_at = clock_() + keep_alive;
      }
    }
    cv_.notify_all();
  }
  if (doomed) CORRAL_LOG_INFO("scheduler: unloaded {}", doomed->spec.key);
}

bool Scheduler::unload(const std::string& name) {
  std::vector<std::shared_ptr<Entry>> doomed;
  bool found = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto& e = it->second;
      if (e->spec.name != name && e->spec.key != name) {
        ++it;
        continue;
      }
      found = true;
      if (e->n_active == 0 && !e->loading) {
        doomed.push_back(e);
        it = entries_.erase(it);
      } else {
        e->unload_requested = true;
        ++it;
      }
    }
    cv_.notify_all();
  }
  return found;
}

void Scheduler::expire_idle() {
  std::vector<std::shared_ptr<Entry>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = clock_();
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto& e = it->second;
      if (e->n_active == 0 && !e->loading && !e->forever && e->expires_at <= now) {
        CORRAL_LOG_INFO("scheduler: keep_alive of {} expired", e->spec.key);
        doomed.push_back(e);
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    if (!doomed.empty()) cv_.notify_all();
  }
}

void Scheduler::unload_all() {
  std::vector<std::shared_ptr<Entry>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second->n_active == 0 && !it->second->loading) {
        doomed.push_back(it->second);
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    cv_.notify_all();
  }
}

std::vector<LoadedModelInfo> Scheduler::loaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<LoadedModelInfo> out;
  for (const auto& [k, e] : entries_) {
    LoadedModelInfo i;
    i.key = e->spec.key;
    i.name = e->spec.name;
    i.path = e->spec.path;
    i.size_bytes = e->size_bytes;
    i.n_active = e->n_active;
    i.loading = e->loading;
    i.forever = e->forever;
    i.keep_alive = e->keep_alive;
    i.expires_at = e->expires_at;
    i.n_ctx = e->spec.params.n_ctx;
    out.push_back(std::move(i));
  }
  return out;
}

int32_t Scheduler::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  int32_t depth = n_waiting_;
  for (const auto& [k, e] : entries_)
    depth += std::max(0, e->n_active - std::max(1, e->spec.params.n_parallel));
  return depth;
}

int32_t Scheduler::n_loaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int32_t>(entries_.size());
}

}  // namespace corral
