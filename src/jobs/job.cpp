// Status names, ids and the client's JSON view of a job.
#include "jobs/job.h"

#include <openssl/rand.h>

#include <chrono>

namespace corral::jobs {

std::string_view status_name(JobStatus s) {
  switch (s) {
    case JobStatus::kQueued: return "queued";
    case JobStatus::kRunning: return "running";
    case JobStatus::kSucceeded: return "succeeded";
    case JobStatus::kFailed: return "failed";
    case JobStatus::kCancelled: return "cancelled";
  }
  return "queued";
}

std::optional<JobStatus> parse_status(std::string_view s) {
  for (auto st : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kSucceeded, JobStatus::kFailed,
                  JobStatus::kCancelled})
    if (status_name(st) == s) return st;
  return std::nullopt;
}

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string new_id(std::string_view prefix) {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // RAND_bytes only fails without an entropy source; fall back to time and address bits.
    const uint64_t t = static_cast<uint64_t>(unix_now_ms()) ^ reinterpret_cast<uintptr_t>(&bytes);
    for (size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<unsigned char>(t >> ((i % 8) * 8));
  }
  static const char* kHex = "0123456789abcdef";
  std::string id(prefix);
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

namespace {
api::OJson time_or_null(int64_t ms) {
  if (ms <= 0) return nullptr;
  return api::rfc3339_nano(ms * 1000000);
}
}  // namespace

api::OJson job_json(const Job& j) {
  api::OJson o;
  o["id"] = j.id;
  o["type"] = j.type;
  o["model"] = j.model;
  o["status"] = status_name(j.status);
  o["priority"] = j.priority;
  o["attempts"] = j.attempts;
  o["created_at"] = time_or_null(j.created_ms);
  o["started_at"] = time_or_null(j.started_ms);
  o["finished_at"] = time_or_null(j.finished_ms);
  o["deadline_at"] = time_or_null(j.deadline_at_ms);
  o["server"] = j.worker.empty() ? api::OJson(nullptr) : api::OJson(j.worker);
  if (!j.batch_id.empty()) o["batch_id"] = j.batch_id;
  if (!j.custom_id.empty()) o["custom_id"] = j.custom_id;
  if (j.http_status != 0) o["http_status"] = j.http_status;
  if (!j.result.empty()) {
    auto r = api::OJson::parse(j.result, nullptr, false);
    o["result"] = r.is_discarded() ? api::OJson(j.result) : r;
  }
  if (!j.error.empty()) o["error"] = j.error;
  if (!j.reason.empty()) o["reason"] = j.reason;
  if (!j.webhook_url.empty())
    o["webhook"] = {{"url", j.webhook_url},
                    {"state", j.webhook_state.empty() ? "pending" : j.webhook_state},
                    {"attempts", j.webhook_attempts}};
  return o;
}

}  // namespace corral::jobs
