// ThreadPool: static ranges or claimed chunks, one job at a time, workers parked on a condition
// variable.
#include "base/thread_pool.h"

#include <chrono>
#include <cstdlib>
#include <string>

namespace corral {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() or about `ns` nanoseconds have passed; true when done() held.
template <class Pred>
bool spin_until(Pred done, long ns) {
  const auto t0 = std::chrono::steady_clock::now();
  for (unsigned i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if ((i & 255u) == 0 && std::chrono::steady_clock::now() - t0 > std::chrono::nanoseconds(ns)) return done();
  }
}

}  // namespace

int ThreadPool::default_thread_count() {
  if (const char* env = std::getenv("CORRAL_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = default_thread_count();
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool;
  return pool;
}

void ThreadPool::run_chunk(int index) {
  if (job_grain_ != 0) {
    for (;;) {
      const size_t begin = next_.fetch_add(job_grain_, std::memory_order_relaxed);
      if (begin >= job_n_) return;
      (*job_)(begin, begin + job_grain_ < job_n_ ? begin + job_grain_ : job_n_, index);
    }
  }
  const size_t n_threads = static_cast<size_t>(size());
  const size_t idx = static_cast<size_t>(index);
  const size_t begin = job_n_ * idx / n_threads;
  const size_t end = job_n_ * (idx + 1) / n_threads;
  if (begin < end) (*job_)(begin, end, index);
}

void ThreadPool::worker_loop(int index) {
  unsigned long seen = 0;
  for (;;) {
    auto ready = [&] { return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(ready, kSpinNs)) {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, ready);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    run_chunk(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      { std::lock_guard<std::mutex> lock(mu_); }  // a caller about to sleep sees pending_ == 0
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(size_t n, LoopBody fn) { run_job(n, 0, fn); }

void ThreadPool::parallel_for_dynamic(size_t n, size_t grain, LoopBody fn) {
  run_job(n, grain == 0 ? 1 : grain, fn);
}

void ThreadPool::parallel_for_dynamic(size_t n, LoopBody fn) {
  const size_t grain = n / (8 * static_cast<size_t>(size()));
  run_job(n, grain == 0 ? 1 : grain, fn);
}

void ThreadPool::run_job(size_t n, size_t grain, LoopBody fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1 || (grain != 0 && grain >= n)) {
    if (grain == 0) grain = n;
    for (size_t b = 0; b < n; b += grain) fn(b, b + grain < n ? b + grain : n, 0);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mu_);
  job_ = &fn;
  job_n_ = n;
  job_grain_ = grain;
  next_.store(0, std::memory_order_relaxed);
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  { std::lock_guard<std::mutex> lock(mu_); }  // a worker about to sleep sees the new generation
  start_cv_.notify_all();
  run_chunk(0);
  auto done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(done, kSpinNs)) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, done);
  }
  job_ = nullptr;
}

}  // namespace corral
