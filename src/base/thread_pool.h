// A fixed pool of worker threads running one data-parallel loop at a time.
// parallel_for splits the work into contiguous static ranges (one per thread, so the split
// depends only on n and the thread count); parallel_for_dynamic hands out chunks of `grain` to
// whichever thread is free, so a thread slowed by a neighbour on a shared core does less of the
// work instead of holding everyone up. Kernels whose units write disjoint outputs give identical
// results either way, for any thread count.
// Workers and the caller spin briefly (kSpinNs) before sleeping on a condition variable: the
// forward pass issues hundreds of short loops per token, and a sleep/wake costs tens of µs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "base/function_ref.h"

namespace corral {

// The body of a parallel loop: fn(begin, end, thread_index). Referenced, not copied: it lives
// on the caller's stack for the length of the call.
using LoopBody = FunctionRef<void(size_t, size_t, int)>;

class ThreadPool {
 public:
  // n_threads <= 0 means: CORRAL_NUM_THREADS if set, else all hardware threads.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end, thread_index) over disjoint ranges covering [0, n); returns when done.
  // Must not be called re-entrantly from inside fn.
  void parallel_for(size_t n, LoopBody fn);
  // Calls fn(begin, end, thread_index) on chunks of at most `grain` (>= 1) covering [0, n), each
  // claimed by the next free thread; a thread may get several chunks, or none.
  void parallel_for_dynamic(size_t n, size_t grain, LoopBody fn);
  // The same with about 8 chunks per thread: small enough to even out a slow thread, large
  // enough that claiming them costs nothing next to the work.
  void parallel_for_dynamic(size_t n, LoopBody fn);

  static ThreadPool& global();
  static int default_thread_count();

 private:
  void worker_loop(int index);
  void run_chunk(int index);
  void run_job(size_t n, size_t grain, LoopBody fn);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  static constexpr long kSpinNs = 200000;  // ~ the gap between two matmuls of one token
  const LoopBody* job_ = nullptr;
  size_t job_n_ = 0;
  size_t job_grain_ = 0;             // 0: static ranges
  std::atomic<size_t> next_{0};      // first unclaimed unit of a dynamic job
  std::atomic<unsigned long> generation_{0};  // bumped (release) once job_ is set
  std::atomic<int> pending_{0};               // workers still running the current job
  std::atomic<bool> stop_{false};
  std::mutex call_mu_;  // one parallel_for at a time
};

}  // namespace corral
