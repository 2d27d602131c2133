// A fixed pool of worker threads running one data-parallel loop at a time.
// Work is split into contiguous static ranges, so the split depends only on n and the thread
// count, and kernels that write disjoint outputs give identical results for any thread count.
// Workers and the caller spin briefly (kSpinNs) before sleeping on a condition variable: the
// forward pass issues hundreds of short loops per token, and a sleep/wake costs tens of µs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace corral {

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
  void parallel_for(size_t n, const std::function<void(size_t, size_t, int)>& fn);

  static ThreadPool& global();
  static int default_thread_count();

 private:
  void worker_loop(int index);
  void run_chunk(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  static constexpr long kSpinNs = 200000;  // ~ the gap between two matmuls of one token
  const std::function<void(size_t, size_t, int)>* job_ = nullptr;
  size_t job_n_ = 0;
  std::atomic<unsigned long> generation_{0};  // bumped (release) once job_ is set
  std::atomic<int> pending_{0};               // workers still running the current job
  std::atomic<bool> stop_{false};
  std::mutex call_mu_;  // one parallel_for at a time
};

}  // namespace corral
