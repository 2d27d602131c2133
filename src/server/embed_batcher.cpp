#include "server/embed_batcher.h"

#include <exception>

namespace corral::server {

Result<EmbedBatcher::Rows> EmbedBatcher::embed(Seqs seqs, const EmbedFn& fn) {
  Job job;
  job.seqs = std::move(seqs);
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&job);
  ++requests_;
  while (!job.done) {
    if (running_) {
      cv_.wait(lock);
      continue;
    }
    // Lead: take everything queued (this job is among it) and run one call outside the lock.
    running_ = true;
    std::vector<Job*> batch(queue_.begin(), queue_.end());
    queue_.clear();
    ++calls_;
    lock.unlock();
    Seqs all;
    for (Job* j : batch)
      for (auto& s : j->seqs) all.push_back(std::move(s));
    Result<Rows> rows = make_error("embedding failed");
    try {
      rows = fn(all);
    } catch (const std::exception& e) {  // e.g. bad_alloc: the waiting requests must still wake
      rows = make_error("embedding failed: {}", e.what());
    }
    lock.lock();
    size_t next = 0;
    for (Job* j : batch) {
      if (!rows.ok()) {
        j->error = rows.error().message;
      } else {
        // A job's rows are the next j->seqs.size() rows (its sequences were moved out, not erased).
        const size_t n = j->seqs.size();
        for (size_t i = 0; i < n && next < rows->size(); ++i) j->rows.push_back(std::move((*rows)[next++]));
        if (j->rows.size() != n) j->error = "the encoder returned fewer rows than sequences";
      }
      j->done = true;
    }
    running_ = false;
    cv_.notify_all();
  }
  if (!job.error.empty()) return make_error("{}", job.error);
  return std::move(job.rows);
}

int64_t EmbedBatcher::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

int64_t EmbedBatcher::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

}  // namespace corral::server
