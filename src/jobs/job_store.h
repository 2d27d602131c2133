// Durable job storage. One interface; one SQL implementation over two backends: an SQLite file
// (default, beside the model store) and PostgreSQL (CORRAL_JOBS_DSN), which lets several servers
// share one queue. Times are unix milliseconds passed in by the caller, so leases, deadlines and
// retention are testable without sleeping.
//
// Invariants: a job is claimed by one worker at a time (a claim is a row update from queued to
// running inside a transaction; PostgreSQL locks the row with FOR UPDATE SKIP LOCKED, SQLite holds
// the database write lock); every later write by that worker names its Claim and is refused once
// the lease was lost or the job cancelled, so a result is recorded at most once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "jobs/job.h"
#include "jobs/sql.h"

namespace corral::jobs {

struct CancelResult {
  std::optional<Job> job;  // nullopt: no such job
  bool cancelled = false;  // false: it had already finished
};

class JobStore {
 public:
  virtual ~JobStore() = default;
  virtual std::string backend() const = 0;  // "sqlite" or "postgres"

  // All or nothing; returns the new ids in order. With `batch`, the batch row is written in the
  // same transaction and every job carries its id.
  virtual Result<std::vector<std::string>> enqueue(const std::vector<NewJob>& jobs, int64_t now_ms,
                                                   const BatchRecord* batch = nullptr) = 0;
  virtual Result<std::optional<Job>> get(const std::string& id) = 0;
  virtual Result<std::vector<Job>> list(const JobFilter& f) = 0;

  // Takes the queued job with the highest priority (then oldest) whose deadline has not passed,
  // marks it running under `worker` until now + lease_ms, and counts the attempt.
  virtual Result<std::optional<Job>> claim(const std::string& worker, int64_t now_ms, int64_t lease_ms) = 0;
  // Extends the lease; false when the claim is no longer the job's (cancelled, taken over).
  virtual Result<bool> renew(const Claim& c, int64_t lease_until_ms) = 0;
  // Records the outcome; false (nothing written to the job) when the claim was lost.
  virtual Result<bool> finish(const Claim& c, const Outcome& o, int64_t now_ms) = 0;
  // Puts a claimed job back in the queue without spending its attempt (server shutting down).
  virtual Status release(const Claim& c, int64_t now_ms) = 0;
  // Housekeeping: running jobs whose lease expired go back to the queue, or fail ("crashed")
  // once `max_attempts` were spent; queued jobs past their deadline fail ("deadline"). Returns
  // the jobs it finished, for their webhooks.
  virtual Result<std::vector<Job>> sweep(int64_t now_ms, int64_t max_attempts) = 0;
  virtual Result<CancelResult> cancel(const std::string& id, int64_t now_ms) = 0;
  // Deletes finished jobs (and their runs) that finished before cutoff_ms, and batches and
  // files older than it that no job refers to. Returns the number of jobs removed.
  virtual Result<int64_t> purge(int64_t cutoff_ms) = 0;
  virtual Status set_webhook_state(const std::string& id, const std::string& state, int64_t attempts) = 0;
  // Finished jobs whose webhook is not yet delivered nor given up (a server stopped meanwhile).
  virtual Result<std::vector<Job>> undelivered_webhooks(int64_t limit) = 0;
  virtual Result<std::vector<JobRun>> runs(const std::string& job_id) = 0;

  // OpenAI files and batches.
  virtual Status put_file(const FileRecord& f, const std::string& content) = 0;
  virtual Result<std::optional<FileRecord>> get_file(const std::string& id, std::string* content) = 0;
  virtual Result<std::optional<BatchRecord>> get_batch(const std::string& id) = 0;
  virtual Result<std::vector<BatchRecord>> list_batches(int64_t limit) = 0;
  virtual Result<BatchCounts> batch_counts(const std::string& batch_id) = 0;
  virtual Result<std::vector<Job>> batch_jobs(const std::string& batch_id) = 0;
  // Marks the batch cancelled and cancels its unfinished jobs; returns the ids cancelled.
  virtual Result<std::vector<std::string>> cancel_batch(const std::string& batch_id, int64_t now_ms) = 0;

  // Stored OpenAI Responses (`store: true`): the body is the server's record of one response
  // (its conversation and output), opaque here. delete_response is false when none was stored.
  virtual Status put_response(const std::string& id, const std::string& body, int64_t created_ms) = 0;
  virtual Result<std::optional<std::string>> get_response(const std::string& id) = 0;
  virtual Result<bool> delete_response(const std::string& id) = 0;
};

// The store over an open connection (creates the tables when missing).
Result<std::unique_ptr<JobStore>> make_sql_job_store(std::unique_ptr<SqlConnection> conn);

// `location`: a PostgreSQL DSN ("postgres://..." / "postgresql://..." or "host=... dbname=..."),
// else an SQLite file path (an optional "sqlite:" prefix is dropped).
Result<std::unique_ptr<JobStore>> open_job_store(const std::string& location);

}  // namespace corral::jobs
