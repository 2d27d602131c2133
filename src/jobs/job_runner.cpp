// Worker, housekeeping and webhook threads (see job_runner.h).
#include "jobs/job_runner.h"

#include <algorithm>

#include "base/log.h"
#include "jobs/http_call.h"
#include "jobs/job_request.h"
#include "jobs/webhook.h"

namespace corral::jobs {

JobRunner::JobRunner(std::shared_ptr<JobStore> store, RunnerConfig cfg)
    : store_(std::move(store)), cfg_(std::move(cfg)) {
  cfg_.workers = std::max(1, cfg_.workers);
  cfg_.lease_ms = std::max<int64_t>(cfg_.lease_ms, 300);
}

JobRunner::~JobRunner() { stop(); }

void JobRunner::start() {
  if (!threads_.empty()) return;
  for (int i = 0; i < cfg_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
  threads_.emplace_back([this] { housekeeping_loop(); });
  threads_.emplace_back([this] { webhook_loop(); });
  // Webhooks a stopped server left undelivered are sent again (at least once: a receiver
  // dedupes by X-Corral-Job-Id when another server was delivering the same one).
  if (auto pending = store_->undelivered_webhooks(10000); pending) {
    for (const auto& j : *pending) queue_webhook(j.id, j.webhook_attempts + 1, unix_now_ms());
  }
  CORRAL_LOG_INFO("jobs: {} workers on {} ({}), lease {} ms", cfg_.workers, store_->backend(), cfg_.server_id,
                  cfg_.lease_ms);
}

void JobRunner::pause() { paused_.store(true); }

void JobRunner::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, f] : in_flight_) f->abort = AbortReason::kStopping;
  }
  cv_.notify_all();
  webhook_cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void JobRunner::wake() {
  {
    std::lock_guard lock(mu_);
    ++wake_seq_;
  }
  cv_.notify_all();  // housekeeping waits on cv_ too; notify_one could wake only it
}

bool JobRunner::idle_wait(int64_t ms) {
  std::unique_lock lock(mu_);
  const uint64_t seen = wake_seq_;
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_.load() || wake_seq_ != seen; });
  return !stopping_.load();
}

void JobRunner::abort_local(const std::string& job_id) {
  std::lock_guard lock(mu_);
  if (auto it = in_flight_.find(job_id); it != in_flight_.end()) it->second->abort = AbortReason::kCancelled;
}

void JobRunner::notify_finished(const Job& job) {
  if (!job.webhook_url.empty()) queue_webhook(job.id, 1, unix_now_ms());
}

void JobRunner::worker_loop() {
  while (!stopping_.load()) {
    if (paused_.load()) {
      idle_wait(cfg_.poll_ms);
      continue;
    }
    auto claimed = store_->claim(cfg_.server_id, unix_now_ms(), cfg_.lease_ms);
    if (!claimed) {
      CORRAL_LOG_WARN("jobs: claim failed: {}", claimed.error().message);
      idle_wait(std::max<int64_t>(cfg_.poll_ms, 1000));
      continue;
    }
    if (!claimed->has_value()) {
      idle_wait(cfg_.poll_ms);
      continue;
    }
    run_one(**claimed);
  }
}

void JobRunner::run_one(const Job& job) {
  auto f = std::make_shared<InFlight>();
  f->claim = {job.id, job.worker, job.attempts};
  f->deadline_at_ms = job.deadline_at_ms;
  {
    std::lock_guard lock(mu_);
    if (stopping_.load()) f->abort = AbortReason::kStopping;
    in_flight_[job.id] = f;
  }
  CORRAL_LOG_DEBUG("jobs: running {} ({} {}, attempt {})", job.id, job.type, job.model, job.attempts);
  HttpPost post;
  post.url = cfg_.base_url + std::string(job_type_path(job.type).value_or("/api/generate"));
  post.body = job.request;
  post.headers = {"X-Corral-Job-Id: " + job.id, "X-Request-Id: " + job.id};
  post.headers.insert(post.headers.end(), cfg_.extra_headers.begin(), cfg_.extra_headers.end());
  if (job.deadline_at_ms > 0) {
    // The server enforces the rest of the job's deadline itself (X-Request-Timeout, seconds):
    // a generation cut short answers with what it has and done_reason "deadline". The runner
    // gives up on the call only a grace period later, in case the server does not answer.
    const int64_t left_ms = std::max<int64_t>(1, job.deadline_at_ms - unix_now_ms());
    post.headers.push_back(fmt::format("X-Request-Timeout: {:.3f}", static_cast<double>(left_ms) / 1000.0));
  }
  post.should_abort = [f] {
    constexpr int64_t kGraceMs = 2000;
    if (f->abort.load() != AbortReason::kNone) return true;
    if (f->deadline_at_ms > 0 && unix_now_ms() >= f->deadline_at_ms + kGraceMs) {
      AbortReason none = AbortReason::kNone;
      f->abort.compare_exchange_strong(none, AbortReason::kDeadline);
      return true;
    }
    return false;
  };
  HttpReply reply;
  if (f->abort.load() == AbortReason::kNone) reply = http_post(post);
  else reply.transport = HttpReply::Transport::kAborted;
  {
    std::lock_guard lock(mu_);
    in_flight_.erase(job.id);
  }
  const int64_t now = unix_now_ms();
  Outcome o;
  o.status = JobStatus::kFailed;
  using T = HttpReply::Transport;
  if (reply.transport == T::kAborted) {
    switch (f->abort.load()) {
      case AbortReason::kCancelled: {  // the store already says cancelled; close the run record
        (void)store_->finish(f->claim, o, now);
        return;
      }
      case AbortReason::kStopping:
        if (auto st = store_->release(f->claim, now); !st) CORRAL_LOG_WARN("jobs: release {}: {}", job.id, st.error().message);
        return;
      default:
        o.reason = "deadline";
        o.error = "the job's deadline passed while it ran";
    }
  } else if (reply.transport == T::kConnectFailed) {
    // Our own server is not accepting (shutting down): put the job back for whoever runs next.
    CORRAL_LOG_WARN("jobs: {} not run: {}", job.id, reply.error);
    (void)store_->release(f->claim, now);
    idle_wait(1000);
    return;
  } else if (reply.transport == T::kFailed && !server_answers()) {
    // The connection broke because our server is going down: the job is not at fault.
    CORRAL_LOG_WARN("jobs: {} interrupted: {}", job.id, reply.error);
    (void)store_->release(f->claim, now);
    idle_wait(1000);
    return;
  } else if (reply.transport == T::kFailed) {
    o.reason = "transport";
    o.error = reply.error;
  } else {
    o.http_status = reply.status;
    o.result = reply.body;
    if (reply.status >= 200 && reply.status < 300) {
      o.status = JobStatus::kSucceeded;
    } else {
      o.reason = reply.status == 504 ? "deadline" : "http_error";
      auto j = api::Json::parse(reply.body, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.contains("error")) {
        const auto& e = j["error"];
        o.error = e.is_string() ? e.get<std::string>()
                  : e.is_object() && e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>()
                                                                                      : e.dump();
      } else {
        o.error = "HTTP " + std::to_string(reply.status);
      }
    }
  }
  auto owned = store_->finish(f->claim, o, now);
  if (!owned) {
    CORRAL_LOG_WARN("jobs: recording {} failed: {}", job.id, owned.error().message);
    return;
  }
  if (*owned && !job.webhook_url.empty()) queue_webhook(job.id, 1, now);
}

bool JobRunner::server_answers() const {
  HttpPost ping;
  ping.url = cfg_.base_url + "/api/version";  // any HTTP answer (even 404 to a POST) means it is up
  ping.timeout_s = 2;
  return http_post(ping).transport == HttpReply::Transport::kOk;
}

void JobRunner::housekeeping_loop() {
  const int64_t period_ms = std::clamp<int64_t>(cfg_.lease_ms / 3, 100, 5000);
  const int64_t purge_every_ms = std::clamp<int64_t>(cfg_.retention_ms / 4, 1000, 60000);
  int64_t next_purge = 0;
  while (!stopping_.load()) {
    const int64_t now = unix_now_ms();
    std::vector<std::shared_ptr<InFlight>> running;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, f] : in_flight_) running.push_back(f);
    }
    for (auto& f : running) {
      auto ok = store_->renew(f->claim, now + cfg_.lease_ms);
      if (ok && !*ok) {  // cancelled (possibly on another server) or taken over: stop calling
        AbortReason none = AbortReason::kNone;
        f->abort.compare_exchange_strong(none, AbortReason::kCancelled);
      }
    }
    if (auto swept = store_->sweep(now, cfg_.max_attempts); swept) {
      for (const auto& j : *swept) {
        CORRAL_LOG_INFO("jobs: {} {} ({})", j.id, status_name(j.status), j.reason);
        notify_finished(j);
      }
    } else {
      CORRAL_LOG_WARN("jobs: sweep failed: {}", swept.error().message);
    }
    if (now >= next_purge) {
      if (auto n = store_->purge(now - cfg_.retention_ms); n && *n > 0)
        CORRAL_LOG_INFO("jobs: purged {} finished jobs older than the retention", *n);
      next_purge = now + purge_every_ms;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(period_ms), [&] { return stopping_.load(); });
  }
}

void JobRunner::queue_webhook(const std::string& job_id, int64_t attempt, int64_t due_ms) {
  {
    std::lock_guard lock(mu_);
    webhooks_.push({due_ms, job_id, attempt});
  }
  webhook_cv_.notify_one();
}

void JobRunner::webhook_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_.load()) {
    if (webhooks_.empty()) {
      webhook_cv_.wait(lock, [&] { return stopping_.load() || !webhooks_.empty(); });
      continue;
    }
    const int64_t wait_ms = webhooks_.top().due_ms - unix_now_ms();
    if (wait_ms > 0) {
      webhook_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms));
      continue;
    }
    Delivery d = webhooks_.top();
    webhooks_.pop();
    lock.unlock();
    deliver(d);
    lock.lock();
  }
}

void JobRunner::deliver(const Delivery& d) {
  auto got = store_->get(d.job_id);
  if (!got || !got->has_value()) return;  // purged meanwhile
  const Job& job = **got;
  const std::string body = job_json(job).dump(-1, ' ', false, api::OJson::error_handler_t::replace);
  HttpPost post;
  post.url = job.webhook_url;
  post.body = body;
  post.timeout_s = 10;
  post.headers = {std::string(kSignatureHeader) + ": " + webhook_signature(job.webhook_secret, body),
                  "X-Corral-Job-Id: " + job.id, "X-Corral-Delivery-Attempt: " + std::to_string(d.attempt),
                  "User-Agent: corral-jobs"};
  post.should_abort = [this] { return stopping_.load(); };
  const HttpReply r = http_post(post);
  const bool ok = r.transport == HttpReply::Transport::kOk && r.status >= 200 && r.status < 300;
  std::string state = ok ? "delivered" : "retrying";
  if (!ok && d.attempt >= cfg_.webhook_max_attempts) state = "failed";
  if (auto st = store_->set_webhook_state(job.id, state, d.attempt); !st)
    CORRAL_LOG_WARN("jobs: webhook state of {}: {}", job.id, st.error().message);
  if (ok) return;
  CORRAL_LOG_INFO("jobs: webhook for {} attempt {} failed ({}): {}", job.id, d.attempt,
                  r.transport == HttpReply::Transport::kOk ? "HTTP " + std::to_string(r.status) : r.error, state);
  if (state == "retrying") {
    const int64_t delay = cfg_.webhook_backoff_ms << std::min<int64_t>(d.attempt - 1, 20);
    queue_webhook(job.id, d.attempt + 1, unix_now_ms() + delay);
  }
}

}  // namespace corral::jobs
