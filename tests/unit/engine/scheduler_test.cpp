// Scheduler behaviour with a fake loader and clock: no model files needed.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace corral {
namespace {

using namespace std::chrono_literals;

struct Fake {
  std::mutex mu;
  std::vector<std::string> loads;
  std::atomic<int> live{0};  // instances alive (destroyed on unload)
  std::atomic<int> load_delay_ms{0};
  std::atomic<bool> fail{false};
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + 1h;

  LoaderFn loader() {
    return [this](const LoadSpec& spec) -> Result<LoadedInstance> {
      if (load_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(load_delay_ms.load()));
      if (fail) return make_error("cannot load {}", spec.key);
      {
        std::lock_guard<std::mutex> lock(mu);
        loads.push_back(spec.key);
      }
      ++live;
      LoadedInstance inst;
      inst.user = std::shared_ptr<void>(new int(0), [this](void* p) {
        --live;
        delete static_cast<int*>(p);
      });
      inst.size_bytes = spec.estimated_bytes;
      return inst;
    };
  }
  ClockFn clock() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu);
      return now;
    };
  }
  void advance(std::chrono::nanoseconds d) {
    std::lock_guard<std::mutex> lock(mu);
    now += d;
  }
  size_t n_loads() {
    std::lock_guard<std::mutex> lock(mu);
    return loads.size();
  }
};

LoadSpec spec(const std::string& name, int64_t bytes = 100, int32_t n_parallel = 1) {
  LoadSpec s;
  s.key = name;
  s.name = name;
  s.estimated_bytes = bytes;
  s.params.n_parallel = n_parallel;
  return s;
}

TEST(KeepAlive, ParsesGoDurationsAndSeconds) {
  EXPECT_EQ(parse_keep_alive("5m").value(), 5min);
  EXPECT_EQ(parse_keep_alive("1h30m").value(), 90min);
  EXPECT_EQ(parse_keep_alive("300ms").value(), 300ms);
  EXPECT_EQ(parse_keep_alive("1.5s").value(), 1500ms);
  EXPECT_EQ(parse_keep_alive("300").value(), 300s);
  EXPECT_EQ(parse_keep_alive("0").value(), 0s);
  EXPECT_EQ(parse_keep_alive("-1").value(), kKeepForever);
  EXPECT_EQ(parse_keep_alive("-1m").value(), kKeepForever);
  EXPECT_FALSE(parse_keep_alive("").ok());
  EXPECT_FALSE(parse_keep_alive("5 minutes").ok());
  EXPECT_FALSE(parse_keep_alive("m").ok());
  EXPECT_FALSE(parse_keep_alive("5x").ok());
}

TEST(Scheduler, LoadsOnFirstUseAndReuses) {
  Fake f;
  Scheduler s({}, f.loader(), f.clock());
  {
    auto a = s.acquire(spec("a"), std::nullopt);
    ASSERT_TRUE(a.ok()) << a.error;
    EXPECT_EQ(f.n_loads(), 1u);
  }
  auto b = s.acquire(spec("a"), std::nullopt);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(f.n_loads(), 1u);  // reused
  EXPECT_EQ(b.lease.load_duration(), 0ns);
  EXPECT_EQ(s.n_loaded(), 1);
}

TEST(Scheduler, KeepAliveExpiresOnlyAfterLastUse) {
  Fake f;
  SchedulerConfig c;
  c.default_keep_alive = 5min;
  Scheduler s(c, f.loader(), f.clock());
  auto a = s.acquire(spec("a"), std::nullopt);
  ASSERT_TRUE(a.ok());
  f.advance(1h);
  s.expire_idle();
  EXPECT_EQ(s.n_loaded(), 1) << "in use: never expires";
  a.lease.release();
  f.advance(4min);
  s.expire_idle();
  EXPECT_EQ(s.n_loaded(), 1);
  f.advance(2min);
  s.expire_idle();
  EXPECT_EQ(s.n_loaded(), 0);
  EXPECT_EQ(f.live.load(), 0);
}

TEST(Scheduler, PerRequestKeepAliveZeroAndForever) {
  Fake f;
  Scheduler s({}, f.loader(), f.clock());
  { auto a = s.acquire(spec("a"), 0s); ASSERT_TRUE(a.ok()); }
  EXPECT_EQ(s.n_loaded(), 0) << "keep_alive 0 unloads after the request";
  EXPECT_EQ(f.live.load(), 0);
  { auto a = s.acquire(spec("a"), kKeepForever); ASSERT_TRUE(a.ok()); }
  f.advance(24h * 365);
  s.expire_idle();
  EXPECT_EQ(s.n_loaded(), 1) << "negative keep_alive keeps forever";
  ASSERT_EQ(s.loaded().size(), 1u);
  EXPECT_TRUE(s.loaded()[0].forever);
  EXPECT_TRUE(s.unload("a"));
  EXPECT_EQ(s.n_loaded(), 0);
  EXPECT_FALSE(s.unload("a"));
}

TEST(Scheduler, EvictsLeastRecentlyUsedIdleModel) {
  Fake f;
  SchedulerConfig c;
  c.max_loaded_models = 2;
  Scheduler s(c, f.loader(), f.clock());
  { auto a = s.acquire(spec("a"), std::nullopt); ASSERT_TRUE(a.ok()); }
  { auto b = s.acquire(spec("b"), std::nullopt); ASSERT_TRUE(b.ok()); }
  { auto a = s.acquire(spec("a"), std::nullopt); ASSERT_TRUE(a.ok()); }  // a is now newer
  { auto x = s.acquire(spec("c"), std::nullopt); ASSERT_TRUE(x.ok()); }
  auto models = s.loaded();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].key, "a");
  EXPECT_EQ(models[1].key, "c");
  EXPECT_EQ(f.live.load(), 2);
}

TEST(Scheduler, MemoryBudgetEvictsEnoughModels) {
  Fake f;
  SchedulerConfig c;
  c.max_loaded_models = 10;
  c.memory_budget_bytes = 1000;
  Scheduler s(c, f.loader(), f.clock());
  { auto a = s.acquire(spec("a", 400), std::nullopt); ASSERT_TRUE(a.ok()); }
  { auto b = s.acquire(spec("b", 400), std::nullopt); ASSERT_TRUE(b.ok()); }
  { auto x = s.acquire(spec("c", 900), std::nullopt); ASSERT_TRUE(x.ok()); }
  auto models = s.loaded();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].key, "c");
}

TEST(Scheduler, ModelInUseIsNeverEvicted) {
  Fake f;
  SchedulerConfig c;
  c.max_loaded_models = 1;
  Scheduler s(c, f.loader(), f.clock());
  auto a = s.acquire(spec("a"), std::nullopt);
  ASSERT_TRUE(a.ok());
  std::atomic<bool> got_b{false};
  auto fut = std::async(std::launch::async, [&] {
    auto b = s.acquire(spec("b"), std::nullopt);
    got_b = b.ok();
    return b.ok();
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(got_b.load()) << "b must wait while a is in use";
  EXPECT_EQ(s.queue_depth(), 1);
  ASSERT_EQ(s.loaded().size(), 1u);
  EXPECT_EQ(s.loaded()[0].key, "a");
  a.lease.release();
  EXPECT_TRUE(fut.get());
  ASSERT_EQ(s.loaded().size(), 1u);
  EXPECT_EQ(s.loaded()[0].key, "b");
}

TEST(Scheduler, QueueFullIsBusy) {
  Fake f;
  SchedulerConfig c;
  c.max_queue = 2;
  Scheduler s(c, f.loader(), f.clock());
  std::vector<Scheduler::AcquireResult> held;
  held.push_back(s.acquire(spec("a"), std::nullopt));  // runs (one slot)
  held.push_back(s.acquire(spec("a"), std::nullopt));  // queued in the runner: depth 1
  held.push_back(s.acquire(spec("a"), std::nullopt));  // depth 2
  for (auto& h : held) ASSERT_TRUE(h.ok());
  EXPECT_EQ(s.queue_depth(), 2);
  auto busy = s.acquire(spec("a"), std::nullopt);
  EXPECT_EQ(busy.kind, SchedulerErrorKind::kBusy);
  EXPECT_NE(busy.error.find("server busy"), std::string::npos);
  held.pop_back();
  EXPECT_TRUE(s.acquire(spec("a"), std::nullopt).ok());
}

TEST(Scheduler, ParallelSlotsAreNotQueued) {
  Fake f;
  SchedulerConfig c;
  c.max_queue = 1;
  Scheduler s(c, f.loader(), f.clock());
  std::vector<Scheduler::AcquireResult> held;
  for (int i = 0; i < 3; ++i) held.push_back(s.acquire(spec("a", 100, 2), std::nullopt));
  for (auto& h : held) ASSERT_TRUE(h.ok()) << h.error;
  EXPECT_EQ(s.queue_depth(), 1) << "two run in slots, one waits";
  EXPECT_EQ(s.acquire(spec("a", 100, 2), std::nullopt).kind, SchedulerErrorKind::kBusy);
}

TEST(Scheduler, ConcurrentRequestsDuringLoadShareOneLoad) {
  Fake f;
  f.load_delay_ms = 200;
  Scheduler s({}, f.loader());
  std::vector<std::future<bool>> futs;
  for (int i = 0; i < 8; ++i)
    futs.push_back(std::async(std::launch::async, [&] { return s.acquire(spec("a", 1, 8), std::nullopt).ok(); }));
  for (auto& fu : futs) EXPECT_TRUE(fu.get());
  EXPECT_EQ(f.n_loads(), 1u);
}

TEST(Scheduler, LoadFailureReachesEveryWaiterAndIsNotCached) {
  Fake f;
  f.load_delay_ms = 100;
  f.fail = true;
  Scheduler s({}, f.loader());
  std::vector<std::future<Scheduler::AcquireResult>> futs;
  for (int i = 0; i < 4; ++i)
    futs.push_back(std::async(std::launch::async, [&] { return s.acquire(spec("a"), std::nullopt); }));
  for (auto& fu : futs) {
    auto r = fu.get();
    EXPECT_EQ(r.kind, SchedulerErrorKind::kLoadFailed);
    EXPECT_NE(r.error.find("cannot load a"), std::string::npos);
  }
  EXPECT_EQ(s.n_loaded(), 0);
  f.fail = false;
  f.load_delay_ms = 0;
  EXPECT_TRUE(s.acquire(spec("a"), std::nullopt).ok());
}

TEST(Scheduler, UnloadWhileInUseHappensAfterLastUser) {
  Fake f;
  Scheduler s({}, f.loader(), f.clock());
  auto a = s.acquire(spec("a"), std::nullopt);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(s.unload("a"));
  EXPECT_EQ(s.n_loaded(), 1);
  EXPECT_EQ(f.live.load(), 1);
  a.lease.release();
  EXPECT_EQ(s.n_loaded(), 0);
  EXPECT_EQ(f.live.load(), 0);
}

TEST(Scheduler, CancelledWhileWaiting) {
  Fake f;
  SchedulerConfig c;
  c.max_loaded_models = 1;
  Scheduler s(c, f.loader(), f.clock());
  auto a = s.acquire(spec("a"), std::nullopt);
  std::atomic<bool> cancel{false};
  auto fut = std::async(std::launch::async, [&] {
    return s.acquire(spec("b"), std::nullopt, [&] { return cancel.load(); });
  });
  std::this_thread::sleep_for(100ms);
  cancel = true;
  auto r = fut.get();
  EXPECT_EQ(r.kind, SchedulerErrorKind::kCancelled);
  EXPECT_EQ(s.queue_depth(), 0);
}

TEST(Scheduler, ManyThreadsLoadAndEvictConsistently) {
  Fake f;
  SchedulerConfig c;
  c.max_loaded_models = 2;
  Scheduler s(c, f.loader());
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = s.acquire(spec(std::string(1, static_cast<char>('a' + (t + i) % 4))), std::nullopt);
        if (r.ok()) ++ok;
        EXPECT_LE(s.n_loaded(), 2);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 400);
  EXPECT_LE(f.live.load(), 2);
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

TEST(SchedulerDeadline, WaitingForRoomGivesUpAtTheDeadline) {
  Fake f;
  SchedulerConfig c;
  c.max_loaded_models = 1;
  Scheduler s(c, f.loader(), f.clock());
  auto a = s.acquire(spec("a"), std::nullopt);
  ASSERT_TRUE(a.ok());
  const auto deadline = s.now() + 5s;
  auto fut = std::async(std::launch::async, [&] { return s.acquire(spec("b"), std::nullopt, nullptr, deadline); });
  while (s.queue_depth() == 0) std::this_thread::sleep_for(5ms);
  f.advance(6s);  // the fake clock passes the deadline while b waits for a's room
  auto b = fut.get();
  EXPECT_EQ(b.kind, SchedulerErrorKind::kDeadline);
  EXPECT_NE(b.error.find("deadline"), std::string::npos);
  EXPECT_EQ(s.queue_depth(), 0) << "a request that gave up no longer counts as waiting";
  ASSERT_EQ(s.loaded().size(), 1u);
  EXPECT_EQ(s.loaded()[0].key, "a");
}

TEST(SchedulerDeadline, APassedDeadlineLoadsNothing) {
  Fake f;
  Scheduler s(SchedulerConfig{}, f.loader(), f.clock());
  auto a = s.acquire(spec("a"), std::nullopt, nullptr, s.now() - 1s);
  EXPECT_EQ(a.kind, SchedulerErrorKind::kDeadline) << "already past: nothing is loaded for it";
  EXPECT_EQ(f.n_loads(), 0u);
  auto b = s.acquire(spec("a"), std::nullopt, nullptr, s.now() + 1s);
  EXPECT_TRUE(b.ok());
}

TEST(SchedulerAdmission, AModelThatCanLoadNowIsNotRefusedByAFullQueue) {
  Fake f;
  SchedulerConfig c;
  c.max_queue = 1;
  Scheduler s(c, f.loader(), f.clock());
  std::vector<Scheduler::AcquireResult> held;
  held.push_back(s.acquire(spec("a"), std::nullopt));
  held.push_back(s.acquire(spec("a"), std::nullopt));  // queued: the queue is full
  ASSERT_EQ(s.queue_depth(), 1);
  EXPECT_EQ(s.acquire(spec("a"), std::nullopt).kind, SchedulerErrorKind::kBusy);
  auto b = s.acquire(spec("b"), std::nullopt);  // another model, room to load it: it starts now
  EXPECT_TRUE(b.ok()) << b.error;
}

TEST(SchedulerMemory, BudgetEvictsLeastRecentlyUsedIdleModelFirst) {
  Fake f;
  SchedulerConfig c;
  c.max_loaded_models = 10;
  c.memory_budget_bytes = 1000;
  Scheduler s(c, f.loader(), f.clock());
  { auto a = s.acquire(spec("a", 300), std::nullopt); ASSERT_TRUE(a.ok()); }
  { auto b = s.acquire(spec("b", 300), std::nullopt); ASSERT_TRUE(b.ok()); }
  { auto x = s.acquire(spec("c", 300), std::nullopt); ASSERT_TRUE(x.ok()); }
  { auto a = s.acquire(spec("a", 300), std::nullopt); ASSERT_TRUE(a.ok()); }  // a is now more recent than b
  { auto d = s.acquire(spec("d", 300), std::nullopt); ASSERT_TRUE(d.ok()); }
  std::vector<std::string> keys;
  for (const auto& m : s.loaded()) keys.push_back(m.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "c", "d"})) << "b, least recently used, went first";
}

TEST(SchedulerMemory, BudgetNeverEvictsAModelInUse) {
  Fake f;
  SchedulerConfig c;
  c.max_loaded_models = 10;
  c.memory_budget_bytes = 1000;
  Scheduler s(c, f.loader(), f.clock());
  auto a = s.acquire(spec("a", 600), std::nullopt);
  ASSERT_TRUE(a.ok());
  std::atomic<bool> got_b{false};
  auto fut = std::async(std::launch::async, [&] {
    auto b = s.acquire(spec("b", 600), std::nullopt);
    got_b = b.ok();
    return b.ok();
  });
  while (s.queue_depth() == 0) std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(got_b.load()) << "b does not fit beside a, and a is in use";
  ASSERT_EQ(s.loaded().size(), 1u);
  a.lease.release();
  EXPECT_TRUE(fut.get());
  ASSERT_EQ(s.loaded().size(), 1u);
  EXPECT_EQ(s.loaded()[0].key, "b");
}

TEST(SchedulerMemory, BudgetFromMeminfoAndByteSizes) {
  const char* meminfo =
      "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:   10000000 kB\nBuffers: 1 kB\n";
  EXPECT_EQ(memory_budget_from_meminfo(meminfo), static_cast<int64_t>(10000000.0 * 1024 * 0.9));
  EXPECT_EQ(memory_budget_from_meminfo("MemTotal: 5 kB\n"), 0);
  EXPECT_EQ(memory_budget_from_meminfo(""), 0);
  EXPECT_EQ(*parse_byte_size("1024"), 1024);
  EXPECT_EQ(*parse_byte_size("2GiB"), int64_t{2} << 30);
  EXPECT_EQ(*parse_byte_size("1.5 GB"), 1500000000);
  EXPECT_EQ(*parse_byte_size("512mib"), int64_t{512} << 20);
  EXPECT_FALSE(parse_byte_size("lots").ok());
  EXPECT_FALSE(parse_byte_size("5 parsecs").ok());
  EXPECT_FALSE(parse_byte_size("").ok());
}

TEST(SchedulerMemory, ConfigReadsCorralMaxMemory) {
  setenv("CORRAL_MAX_MEMORY", "3GiB", 1);
  EXPECT_EQ(scheduler_config_from_env().memory_budget_bytes, int64_t{3} << 30);
  setenv("CORRAL_MAX_MEMORY", "0", 1);
  EXPECT_EQ(scheduler_config_from_env().memory_budget_bytes, 0) << "0 turns the budget off";
  unsetenv("CORRAL_MAX_MEMORY");
  EXPECT_GE(scheduler_config_from_env().memory_budget_bytes, 0);
}

}  // namespace
}  // namespace corral
