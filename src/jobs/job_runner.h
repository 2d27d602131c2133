// Executes jobs: worker threads claim jobs from the JobStore and call this server's own HTTP API
// on loopback (POST /api/generate etc., stream false), so a job takes exactly the path a client
// request takes. A housekeeping thread renews the leases of running jobs, sweeps expired leases
// and deadlines, and purges old results; a webhook thread delivers completion callbacks with
// retries and backoff.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "jobs/job_store.h"

namespace corral::jobs {

struct RunnerConfig {
  std::string base_url;            // this server: "http://127.0.0.1:11434"
  std::string server_id;           // recorded on every job it runs
  int workers = 2;                 // CORRAL_JOBS_WORKERS
  int64_t lease_ms = 30000;        // CORRAL_JOBS_LEASE: a dead server's jobs come back after this
  int64_t retention_ms = int64_t{24} * 3600 * 1000;  // CORRAL_JOBS_RETENTION
  int64_t max_attempts = 2;        // a job running during a crash is retried once
  int64_t poll_ms = 250;           // idle workers look for jobs this often (and when woken)
  int64_t webhook_backoff_ms = 500;  // first retry delay; doubles each time
  int64_t webhook_max_attempts = 6;
  std::vector<std::string> extra_headers;  // "Name: value" on every job call (the server's token)
};

class JobRunner {
 public:
  JobRunner(std::shared_ptr<JobStore> store, RunnerConfig cfg);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void start();
  // Stops claiming new jobs; running ones go on, their leases renewed (a server draining).
  void pause();
  // Stops the threads; jobs still running here are released back to the queue unspent.
  void stop();
  // A job was queued: wake an idle worker now.
  void wake();
  // The store has marked this job cancelled: abort its call if it runs here.
  void abort_local(const std::string& job_id);
  // A job finished outside a worker (cancelled by a route, failed by a sweep): send its webhook.
  void notify_finished(const Job& job);
  const RunnerConfig& config() const { return cfg_; }

 private:
  enum class AbortReason { kNone, kCancelled, kDeadline, kStopping };
  struct InFlight {
    Claim claim;
    int64_t deadline_at_ms = 0;
    std::atomic<AbortReason> abort{AbortReason::kNone};
  };
  struct Delivery {
    int64_t due_ms;
    std::string job_id;
    int64_t attempt;
    bool operator>(const Delivery& o) const { return due_ms > o.due_ms; }
  };

  void worker_loop();
  void run_one(const Job& job);
  bool server_answers() const;
  void housekeeping_loop();
  void webhook_loop();
  void deliver(const Delivery& d);
  void queue_webhook(const std::string& job_id, int64_t attempt, int64_t due_ms);
  // Sleeps up to `ms` or until stop()/wake(); returns false once stopping.
  bool idle_wait(int64_t ms);

  std::shared_ptr<JobStore> store_;
  RunnerConfig cfg_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> paused_{false};
  std::mutex mu_;  // guards in_flight_, webhooks_, wake_seq_
  std::condition_variable cv_, webhook_cv_;
  uint64_t wake_seq_ = 0;
  std::map<std::string, std::shared_ptr<InFlight>> in_flight_;
  std::priority_queue<Delivery, std::vector<Delivery>, std::greater<>> webhooks_;
  std::vector<std::thread> threads_;
};

}  // namespace corral::jobs
