// The job model shared by the store, the runner and the routes: what is submitted, what is kept,
// and the JSON views clients see.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"

namespace corral::jobs {

enum class JobStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

std::string_view status_name(JobStatus s);
std::optional<JobStatus> parse_status(std::string_view s);
inline bool is_terminal(JobStatus s) {
  return s == JobStatus::kSucceeded || s == JobStatus::kFailed || s == JobStatus::kCancelled;
}

// A validated submission, ready to store.
struct NewJob {
  std::string type;            // "generate", "chat", "embed", "openai.chat", ...
  std::string model;
  std::string request;         // the inner request as compact JSON, "stream": false
  int64_t priority = 0;        // higher runs first
  int64_t deadline_ms = 0;     // relative to submission; 0 = none
  std::string webhook_url, webhook_secret;
  std::string batch_id, custom_id;
};

struct Job {
  std::string id, type, model, request;
  int64_t priority = 0;
  JobStatus status = JobStatus::kQueued;
  int64_t attempts = 0;        // times claimed (a crash retry makes it 2)
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0;  // unix ms; 0 = not yet
  int64_t deadline_at_ms = 0;  // unix ms; 0 = none
  int64_t lease_until_ms = 0;
  std::string worker;          // the server that ran (or runs) it
  std::string result;          // response body (JSON text) when the call answered
  int64_t http_status = 0;
  std::string error, reason;   // reason: "deadline", "crashed", "http_error", "cancelled", ...
  std::string webhook_url, webhook_secret, webhook_state;
  int64_t webhook_attempts = 0;
  std::string batch_id, custom_id;
  int64_t seq = 0;             // submission order (ties in priority run FIFO)
};

// One claim of a job by a worker: the row in job_runs.
struct JobRun {
  std::string job_id, worker, outcome;  // outcome: "" while running, then succeeded/failed/lost/...
  int64_t attempt = 0, started_ms = 0, finished_ms = 0;
};

// Who holds a claimed job: every later write checks all three, so a worker whose lease expired
// (and whose job was taken over) can no longer change it.
struct Claim {
  std::string job_id, worker;
  int64_t attempt = 0;
};

struct Outcome {
  JobStatus status = JobStatus::kSucceeded;  // kSucceeded or kFailed
  std::string result, error, reason;
  int64_t http_status = 0;
};

struct JobFilter {
  std::optional<JobStatus> status;
  std::string model, batch_id;
  int64_t limit = 100;
};

struct FileRecord {
  std::string id, purpose, filename;
  int64_t bytes = 0, created_ms = 0;
};

struct BatchRecord {
  std::string id, input_file_id, endpoint, completion_window, metadata = "null";
  int64_t created_ms = 0, cancelled_ms = 0;
};

struct BatchCounts {
  int64_t total = 0, queued = 0, running = 0, succeeded = 0, failed = 0, cancelled = 0;
  int64_t last_finished_ms = 0, first_started_ms = 0;
  bool all_done() const { return queued == 0 && running == 0; }
};

// The client's view of a job (no webhook secret); `result` parsed back into JSON.
api::OJson job_json(const Job& j);

int64_t unix_now_ms();
// A random id: prefix + 24 hex digits.
std::string new_id(std::string_view prefix);

}  // namespace corral::jobs
