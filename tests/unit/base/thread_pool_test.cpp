// The pool's two ways of splitting a loop: static ranges (one per thread) and chunks claimed by
// whichever thread is free. Both must cover [0, n) exactly once; the dynamic one must keep to
// its grain and move work away from a thread that is held up.
#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace corral {
namespace {

TEST(ThreadPool, CoversRangeExactlyOnce) {
  ThreadPool pool(3);
  std::vector<int> hits(1000, 0);
  pool.parallel_for(hits.size(), [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) hits[i]++;
  });
  for (int h : hits) EXPECT_EQ(h, 1);
}

TEST(ThreadPool, StaticRangesAreOnePerThreadAndDependOnlyOnN) {
  ThreadPool pool(3);
  std::mutex mu;
  std::set<std::pair<size_t, size_t>> ranges;
  std::set<int> threads;
  pool.parallel_for(10, [&](size_t b, size_t e, int t) {
    std::lock_guard<std::mutex> lock(mu);
    ranges.insert({b, e});
    threads.insert(t);
  });
  EXPECT_EQ(ranges, (std::set<std::pair<size_t, size_t>>{{0, 3}, {3, 6}, {6, 10}}));
  EXPECT_EQ(threads, (std::set<int>{0, 1, 2}));
}

TEST(ThreadPool, DynamicChunksCoverEveryUnitOnceWithinTheGrain) {
  for (const int n_threads : {1, 2, 5}) {
    ThreadPool pool(n_threads);
    for (const size_t n : {1, 2, 7, 64, 1001}) {
      for (const size_t grain : {1, 3, 16, 5000}) {
        std::vector<std::atomic<int>> hits(n);
        std::atomic<bool> too_big{false}, bad_thread{false};
        pool.parallel_for_dynamic(n, grain, [&](size_t b, size_t e, int t) {
          if (e - b > grain || b >= e) too_big = true;
          if (t < 0 || t >= n_threads) bad_thread = true;
          for (size_t i = b; i < e; ++i) hits[i]++;
        });
        for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << n_threads << " threads, n " << n << ", grain " << grain << ", unit " << i;
        EXPECT_FALSE(too_big) << "n " << n << " grain " << grain;
        EXPECT_FALSE(bad_thread);
      }
    }
  }
}

TEST(ThreadPool, DefaultGrainIsAboutEightChunksPerThread) {
  ThreadPool pool(2);
  for (const size_t n : {1, 5, 16, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    std::atomic<size_t> largest{0};
    pool.parallel_for_dynamic(n, [&](size_t b, size_t e, int) {
      for (size_t i = b; i < e; ++i) hits[i]++;
      size_t seen = largest.load();
      while (e - b > seen && !largest.compare_exchange_weak(seen, e - b)) {
      }
    });
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n " << n << " unit " << i;
    EXPECT_EQ(largest.load(), std::max<size_t>(1, n / 16)) << "n " << n;
  }
}

TEST(ThreadPool, DynamicChunksGoToTheThreadThatIsFree) {
  // The caller (thread 0) is held on its first chunk until the worker has taken all the rest:
  // with static halves it would have had to do half of the loop itself.
  ThreadPool pool(2);
  constexpr size_t kUnits = 64;
  std::atomic<size_t> by_worker{0}, by_caller{0};
  std::vector<std::atomic<int>> hits(kUnits);
  pool.parallel_for_dynamic(kUnits, 1, [&](size_t b, size_t e, int t) {
    for (size_t i = b; i < e; ++i) hits[i]++;
    if (t != 0) {
      by_worker += e - b;
      return;
    }
    if (by_caller.fetch_add(e - b) == 0) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (by_worker.load() + by_caller.load() < kUnits && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  EXPECT_LE(by_caller.load(), 1u);  // it claimed at most one unit before it stalled
  EXPECT_EQ(by_worker.load() + by_caller.load(), kUnits);
}

TEST(ThreadPool, RunsManyShortLoopsBackToBack) {
  // The forward pass issues hundreds of short loops per token, alternating both kinds.
  ThreadPool pool(2);
  std::atomic<long> sum{0};
  for (int r = 0; r < 2000; ++r) {
    if (r % 2 == 0) pool.parallel_for(8, [&](size_t b, size_t e, int) { sum += static_cast<long>(e - b); });
    else pool.parallel_for_dynamic(8, 3, [&](size_t b, size_t e, int) { sum += static_cast<long>(e - b); });
  }
  EXPECT_EQ(sum.load(), 2000L * 8);
}

}  // namespace
}  // namespace corral
