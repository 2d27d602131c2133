// JobStore in SQL shared by SQLite and PostgreSQL (see job_store.h). One connection, one mutex:
// each method is one short statement or transaction, so serialising them in-process costs little,
// and between processes the database does the locking.
#include <mutex>

#include "jobs/job_store.h"

namespace corral::jobs {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  model TEXT NOT NULL,
  request TEXT NOT NULL,
  priority BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  created_ms BIGINT NOT NULL,
  started_ms BIGINT NOT NULL DEFAULT 0,
  finished_ms BIGINT NOT NULL DEFAULT 0,
  deadline_at_ms BIGINT NOT NULL DEFAULT 0,
  lease_until_ms BIGINT NOT NULL DEFAULT 0,
  worker TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '',
  http_status BIGINT NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  webhook_url TEXT NOT NULL DEFAULT '',
  webhook_secret TEXT NOT NULL DEFAULT '',
  webhook_state TEXT NOT NULL DEFAULT '',
  webhook_attempts BIGINT NOT NULL DEFAULT 0,
  batch_id TEXT NOT NULL DEFAULT '',
  custom_id TEXT NOT NULL DEFAULT '',
  seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (status, priority DESC, seq);
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch_id, seq);
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (status, finished_ms);
CREATE TABLE IF NOT EXISTS job_runs (
  job_id TEXT NOT NULL,
  attempt BIGINT NOT NULL,
  worker TEXT NOT NULL,
  started_ms BIGINT NOT NULL,
  finished_ms BIGINT NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS job_runs_job ON job_runs (job_id);
CREATE TABLE IF NOT EXISTS job_files (
  id TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  filename TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  content TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS job_batches (
  id TEXT PRIMARY KEY,
  input_file_id TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  completion_window TEXT NOT NULL,
  metadata TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  cancelled_ms BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS job_responses (
  id TEXT PRIMARY KEY,
  created_ms BIGINT NOT NULL,
  body TEXT NOT NULL
);
)sql";

constexpr const char* kJobCols =
    "id,type,model,request,priority,status,attempts,created_ms,started_ms,finished_ms,deadline_at_ms,"
    "lease_until_ms,worker,result,http_status,error,reason,webhook_url,webhook_secret,webhook_state,"
    "webhook_attempts,batch_id,custom_id,seq";

const std::string& text(const SqlRow& r, size_t i) {
  static const std::string kEmpty;
  return r[i] ? *r[i] : kEmpty;
}
int64_t num(const SqlRow& r, size_t i) { return r[i] && !r[i]->empty() ? std::stoll(*r[i]) : 0; }

Job job_from_row(const SqlRow& r) {
  Job j;
  j.id = text(r, 0);
  j.type = text(r, 1);
  j.model = text(r, 2);
  j.request = text(r, 3);
  j.priority = num(r, 4);
  j.status = parse_status(text(r, 5)).value_or(JobStatus::kFailed);
  j.attempts = num(r, 6);
  j.created_ms = num(r, 7);
  j.started_ms = num(r, 8);
  j.finished_ms = num(r, 9);
  j.deadline_at_ms = num(r, 10);
  j.lease_until_ms = num(r, 11);
  j.worker = text(r, 12);
  j.result = text(r, 13);
  j.http_status = num(r, 14);
  j.error = text(r, 15);
  j.reason = text(r, 16);
  j.webhook_url = text(r, 17);
  j.webhook_secret = text(r, 18);
  j.webhook_state = text(r, 19);
  j.webhook_attempts = num(r, 20);
  j.batch_id = text(r, 21);
  j.custom_id = text(r, 22);
  j.seq = num(r, 23);
  return j;
}

BatchRecord batch_from_row(const SqlRow& r) {
  BatchRecord b;
  b.id = text(r, 0);
  b.input_file_id = text(r, 1);
  b.endpoint = text(r, 2);
  b.completion_window = text(r, 3);
  b.metadata = text(r, 4);
  b.created_ms = num(r, 5);
  b.cancelled_ms = num(r, 6);
  return b;
}
constexpr const char* kBatchCols = "id,input_file_id,endpoint,completion_window,metadata,created_ms,cancelled_ms";

class SqlJobStore final : public JobStore {
 public:
  explicit SqlJobStore(std::unique_ptr<SqlConnection> c) : db_(std::move(c)) {}

  Status init() {
    std::lock_guard lock(mu_);
    const bool pg = db_->dialect() == SqlDialect::kPostgres;
    // Two servers starting at once would race on CREATE TABLE IF NOT EXISTS in PostgreSQL's
    // catalog; a transaction-scoped advisory lock serialises them.
    return tx([&]() -> Status {
      if (pg) CORRAL_TRY(db_->run("SELECT pg_advisory_xact_lock(7013370)"));
      CORRAL_TRY(db_->run(kSchema));
      return {};
    });
  }

  std::string backend() const override {
    return db_->dialect() == SqlDialect::kPostgres ? "postgres" : "sqlite";
  }

  Result<std::vector<std::string>> enqueue(const std::vector<NewJob>& jobs, int64_t now_ms,
                                           const BatchRecord* batch) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> ids;
    auto st = tx([&]() -> Status {
      if (batch != nullptr)
        CORRAL_TRY(db_->run("INSERT INTO job_batches (id,input_file_id,endpoint,completion_window,metadata,"
                            "created_ms,cancelled_ms) VALUES (?,?,?,?,?,?,0)",
                            {batch->id, batch->input_file_id, batch->endpoint, batch->completion_window,
                             batch->metadata, batch->created_ms}));
      for (size_t i = 0; i < jobs.size(); ++i) {
        const NewJob& n = jobs[i];
        std::string id = new_id("job-");
        // Submission order: ms * 1e5 + index keeps a batch's lines in order (5e4 lines at most).
        const int64_t seq = now_ms * 100000 + static_cast<int64_t>(i % 100000);
        CORRAL_TRY(db_->run(
            "INSERT INTO jobs (id,type,model,request,priority,status,created_ms,deadline_at_ms,webhook_url,"
            "webhook_secret,batch_id,custom_id,seq) VALUES (?,?,?,?,?,'queued',?,?,?,?,?,?,?)",
            {id, n.type, n.model, n.request, n.priority, now_ms, n.deadline_ms > 0 ? now_ms + n.deadline_ms : 0,
             n.webhook_url, n.webhook_secret, batch != nullptr ? batch->id : n.batch_id, n.custom_id, seq}));
        ids.push_back(std::move(id));
      }
      return {};
    });
    if (!st) return st.error();
    return ids;
  }

  Result<std::optional<Job>> get(const std::string& id) override {
    std::lock_guard lock(mu_);
    return get_locked(id);
  }

  Result<std::vector<Job>> list(const JobFilter& f) override {
    std::lock_guard lock(mu_);
    std::string sql = std::string("SELECT ") + kJobCols + " FROM jobs WHERE 1=1";
    std::vector<SqlValue> params;
    if (f.status) {
      sql += " AND status=?";
      params.emplace_back(std::string(status_name(*f.status)));
    }
    if (!f.model.empty()) {
      sql += " AND model=?";
      params.emplace_back(f.model);
    }
    if (!f.batch_id.empty()) {
      sql += " AND batch_id=?";
      params.emplace_back(f.batch_id);
    }
    sql += " ORDER BY seq DESC, id LIMIT ?";
    params.emplace_back(std::max<int64_t>(1, f.limit));
    auto r = db_->run(sql, params);
    if (!r) return r.error();
    std::vector<Job> out;
    for (const auto& row : r->rows) out.push_back(job_from_row(row));
    return out;
  }

  Result<std::optional<Job>> claim(const std::string& worker, int64_t now_ms, int64_t lease_ms) override {
    std::lock_guard lock(mu_);
    std::optional<Job> job;
    auto st = tx([&]() -> Status {
      std::string pick =
          "SELECT id FROM jobs WHERE status='queued' AND (deadline_at_ms=0 OR deadline_at_ms>?) "
          "ORDER BY priority DESC, seq, id LIMIT 1";
      if (db_->dialect() == SqlDialect::kPostgres) pick += " FOR UPDATE SKIP LOCKED";
      auto r = db_->run(pick, {now_ms});
      if (!r) return r.error();
      if (r->rows.empty()) return {};
      const std::string id = text(r->rows[0], 0);
      auto u = db_->run("UPDATE jobs SET status='running', attempts=attempts+1, started_ms=?, lease_until_ms=?, "
                        "worker=? WHERE id=? AND status='queued'",
                        {now_ms, now_ms + lease_ms, worker, id});
      if (!u) return u.error();
      if (u->changed != 1) return {};
      auto g = get_locked(id);
      if (!g) return g.error();
      job = std::move(*g);
      if (!job) return {};
      CORRAL_TRY(db_->run("INSERT INTO job_runs (job_id,attempt,worker,started_ms) VALUES (?,?,?,?)",
                          {id, job->attempts, worker, now_ms}));
      return {};
    });
    if (!st) return st.error();
    return job;
  }

  Result<bool> renew(const Claim& c, int64_t lease_until_ms) override {
    std::lock_guard lock(mu_);
    auto r = db_->run("UPDATE jobs SET lease_until_ms=? WHERE id=? AND status='running' AND worker=? AND attempts=?",
                      {lease_until_ms, c.job_id, c.worker, c.attempt});
    if (!r) return r.error();
    return r->changed == 1;
  }

  Result<bool> finish(const Claim& c, const Outcome& o, int64_t now_ms) override {
    std::lock_guard lock(mu_);
    bool owned = false;
    auto st = tx([&]() -> Status {
      auto r = db_->run("UPDATE jobs SET status=?, result=?, http_status=?, error=?, reason=?, finished_ms=?, "
                        "lease_until_ms=0 WHERE id=? AND status='running' AND worker=? AND attempts=?",
                        {std::string(status_name(o.status)), o.result, o.http_status, o.error, o.reason, now_ms,
                         c.job_id, c.worker, c.attempt});
      if (!r) return r.error();
      owned = r->changed == 1;
      CORRAL_TRY(db_->run("UPDATE job_runs SET finished_ms=?, outcome=? WHERE job_id=? AND attempt=? AND worker=? "
                          "AND outcome=''",
                          {now_ms, owned ? std::string(status_name(o.status)) : std::string("discarded"), c.job_id,
                           c.attempt, c.worker}));
      return {};
    });
    if (!st) return st.error();
    return owned;
  }

  Status release(const Claim& c, int64_t now_ms) override {
    std::lock_guard lock(mu_);
    return tx([&]() -> Status {
      auto r = db_->run("UPDATE jobs SET status='queued', attempts=attempts-1, lease_until_ms=0 WHERE id=? "
                        "AND status='running' AND worker=? AND attempts=?",
                        {c.job_id, c.worker, c.attempt});
      if (!r) return r.error();
      CORRAL_TRY(db_->run("UPDATE job_runs SET finished_ms=?, outcome='released' WHERE job_id=? AND attempt=? "
                          "AND worker=? AND outcome=''",
                          {now_ms, c.job_id, c.attempt, c.worker}));
      return {};
    });
  }

  Result<std::vector<Job>> sweep(int64_t now_ms, int64_t max_attempts) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> finished;
    auto st = tx([&]() -> Status {
      auto crashed = db_->run(
          "UPDATE jobs SET status='failed', reason='crashed', finished_ms=?, lease_until_ms=0, "
          "error='the server running the job stopped; it had been tried ' || CAST(attempts AS TEXT) || ' times' "
          "WHERE status='running' AND lease_until_ms<? AND attempts>=? RETURNING id",
          {now_ms, now_ms, max_attempts});
      if (!crashed) return crashed.error();
      auto requeued = db_->run(
          "UPDATE jobs SET status='queued', lease_until_ms=0 WHERE status='running' AND lease_until_ms<? RETURNING id",
          {now_ms});
      if (!requeued) return requeued.error();
      for (const auto* set : {&crashed->rows, &requeued->rows})
        for (const auto& row : *set)
          CORRAL_TRY(db_->run("UPDATE job_runs SET finished_ms=?, outcome='lost' WHERE job_id=? AND outcome=''",
                              {now_ms, text(row, 0)}));
      auto late = db_->run(
          "UPDATE jobs SET status='failed', reason='deadline', finished_ms=?, "
          "error='the deadline passed before the job could start' "
          "WHERE status='queued' AND deadline_at_ms>0 AND deadline_at_ms<=? RETURNING id",
          {now_ms, now_ms});
      if (!late) return late.error();
      for (const auto* set : {&crashed->rows, &late->rows})
        for (const auto& row : *set) finished.push_back(text(row, 0));
      return {};
    });
    if (!st) return st.error();
    std::vector<Job> out;
    for (const auto& id : finished) {
      auto g = get_locked(id);
      if (!g) return g.error();
      if (*g) out.push_back(std::move(**g));
    }
    return out;
  }

  Result<CancelResult> cancel(const std::string& id, int64_t now_ms) override {
    std::lock_guard lock(mu_);
    CancelResult out;
    auto st = tx([&]() -> Status {
      auto r = db_->run("UPDATE jobs SET status='cancelled', reason='cancelled', error='cancelled by request', "
                        "finished_ms=?, lease_until_ms=0 WHERE id=? AND status IN ('queued','running')",
                        {now_ms, id});
      if (!r) return r.error();
      out.cancelled = r->changed == 1;
      if (out.cancelled)
        CORRAL_TRY(db_->run("UPDATE job_runs SET finished_ms=?, outcome='cancelled' WHERE job_id=? AND outcome=''",
                            {now_ms, id}));
      auto g = get_locked(id);
      if (!g) return g.error();
      out.job = std::move(*g);
      return {};
    });
    if (!st) return st.error();
    return out;
  }

  Result<int64_t> purge(int64_t cutoff_ms) override {
    std::lock_guard lock(mu_);
    int64_t removed = 0;
    auto st = tx([&]() -> Status {
      const char* old = "status IN ('succeeded','failed','cancelled') AND finished_ms>0 AND finished_ms<?";
      CORRAL_TRY(db_->run(std::string("DELETE FROM job_runs WHERE job_id IN (SELECT id FROM jobs WHERE ") + old + ")",
                          {cutoff_ms}));
      auto r = db_->run(std::string("DELETE FROM jobs WHERE ") + old, {cutoff_ms});
      if (!r) return r.error();
      removed = r->changed;
      CORRAL_TRY(db_->run("DELETE FROM job_batches WHERE created_ms<? AND NOT EXISTS "
                          "(SELECT 1 FROM jobs WHERE jobs.batch_id=job_batches.id)",
                          {cutoff_ms}));
      CORRAL_TRY(db_->run("DELETE FROM job_files WHERE created_ms<? AND NOT EXISTS "
                          "(SELECT 1 FROM job_batches b WHERE b.input_file_id=job_files.id)",
                          {cutoff_ms}));
      return {};
    });
    if (!st) return st.error();
    return removed;
  }

  Status set_webhook_state(const std::string& id, const std::string& state, int64_t attempts) override {
    std::lock_guard lock(mu_);
    auto r = db_->run("UPDATE jobs SET webhook_state=?, webhook_attempts=? WHERE id=?", {state, attempts, id});
    if (!r) return r.error();
    return {};
  }

  Result<std::vector<Job>> undelivered_webhooks(int64_t limit) override {
    std::lock_guard lock(mu_);
    auto r = db_->run(std::string("SELECT ") + kJobCols +
                          " FROM jobs WHERE webhook_url<>'' AND status IN ('succeeded','failed','cancelled') "
                          "AND webhook_state IN ('','retrying') ORDER BY finished_ms LIMIT ?",
                      {limit});
    if (!r) return r.error();
    std::vector<Job> out;
    for (const auto& row : r->rows) out.push_back(job_from_row(row));
    return out;
  }

  Result<std::vector<JobRun>> runs(const std::string& job_id) override {
    std::lock_guard lock(mu_);
    auto r = db_->run("SELECT job_id,attempt,worker,started_ms,finished_ms,outcome FROM job_runs WHERE job_id=? "
                      "ORDER BY started_ms, attempt",
                      {job_id});
    if (!r) return r.error();
    std::vector<JobRun> out;
    for (const auto& row : r->rows)
      out.push_back({text(row, 0), text(row, 2), text(row, 5), num(row, 1), num(row, 3), num(row, 4)});
    return out;
  }

  Status put_file(const FileRecord& f, const std::string& content) override {
    std::lock_guard lock(mu_);
    auto r = db_->run("INSERT INTO job_files (id,purpose,filename,bytes,created_ms,content) VALUES (?,?,?,?,?,?)",
                      {f.id, f.purpose, f.filename, f.bytes, f.created_ms, content});
    if (!r) return r.error();
    return {};
  }

  Result<std::optional<FileRecord>> get_file(const std::string& id, std::string* content) override {
    std::lock_guard lock(mu_);
    auto r = db_->run(std::string("SELECT id,purpose,filename,bytes,created_ms") + (content ? ",content" : "") +
                          " FROM job_files WHERE id=?",
                      {id});
    if (!r) return r.error();
    if (r->rows.empty()) return std::optional<FileRecord>();
    const auto& row = r->rows[0];
    if (content != nullptr) *content = text(row, 5);
    return std::optional<FileRecord>(FileRecord{text(row, 0), text(row, 1), text(row, 2), num(row, 3), num(row, 4)});
  }

  Status put_response(const std::string& id, const std::string& body, int64_t created_ms) override {
    std::lock_guard lock(mu_);
    auto r = db_->run("INSERT INTO job_responses (id,created_ms,body) VALUES (?,?,?)", {id, created_ms, body});
    if (!r) return r.error();
    return {};
  }

  Result<std::optional<std::string>> get_response(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto r = db_->run("SELECT body FROM job_responses WHERE id=?", {id});
    if (!r) return r.error();
    if (r->rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(text(r->rows[0], 0));
  }

  Result<bool> delete_response(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto r = db_->run("DELETE FROM job_responses WHERE id=?", {id});
    if (!r) return r.error();
    return r->changed > 0;
  }

  Result<std::optional<BatchRecord>> get_batch(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto r = db_->run(std::string("SELECT ") + kBatchCols + " FROM job_batches WHERE id=?", {id});
    if (!r) return r.error();
    if (r->rows.empty()) return std::optional<BatchRecord>();
    return std::optional<BatchRecord>(batch_from_row(r->rows[0]));
  }

  Result<std::vector<BatchRecord>> list_batches(int64_t limit) override {
    std::lock_guard lock(mu_);
    auto r = db_->run(std::string("SELECT ") + kBatchCols + " FROM job_batches ORDER BY created_ms DESC, id LIMIT ?",
                      {std::max<int64_t>(1, limit)});
    if (!r) return r.error();
    std::vector<BatchRecord> out;
    for (const auto& row : r->rows) out.push_back(batch_from_row(row));
    return out;
  }

  Result<BatchCounts> batch_counts(const std::string& batch_id) override {
    std::lock_guard lock(mu_);
    auto r = db_->run("SELECT status, COUNT(*), MAX(finished_ms), MIN(CASE WHEN started_ms>0 THEN started_ms END) "
                      "FROM jobs WHERE batch_id=? GROUP BY status",
                      {batch_id});
    if (!r) return r.error();
    BatchCounts c;
    for (const auto& row : r->rows) {
      const int64_t n = num(row, 1);
      c.total += n;
      switch (parse_status(text(row, 0)).value_or(JobStatus::kFailed)) {
        case JobStatus::kQueued: c.queued += n; break;
        case JobStatus::kRunning: c.running += n; break;
        case JobStatus::kSucceeded: c.succeeded += n; break;
        case JobStatus::kFailed: c.failed += n; break;
        case JobStatus::kCancelled: c.cancelled += n; break;
      }
      c.last_finished_ms = std::max(c.last_finished_ms, num(row, 2));
      const int64_t started = num(row, 3);
      if (started > 0 && (c.first_started_ms == 0 || started < c.first_started_ms)) c.first_started_ms = started;
    }
    return c;
  }

  Result<std::vector<Job>> batch_jobs(const std::string& batch_id) override {
    std::lock_guard lock(mu_);
    auto r = db_->run(std::string("SELECT ") + kJobCols + " FROM jobs WHERE batch_id=? ORDER BY seq, id", {batch_id});
    if (!r) return r.error();
    std::vector<Job> out;
    for (const auto& row : r->rows) out.push_back(job_from_row(row));
    return out;
  }

  Result<std::vector<std::string>> cancel_batch(const std::string& batch_id, int64_t now_ms) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> ids;
    auto st = tx([&]() -> Status {
      CORRAL_TRY(db_->run("UPDATE job_batches SET cancelled_ms=? WHERE id=? AND cancelled_ms=0", {now_ms, batch_id}));
      auto r = db_->run("UPDATE jobs SET status='cancelled', reason='batch_cancelled', error='the batch was cancelled', "
                        "finished_ms=?, lease_until_ms=0 WHERE batch_id=? AND status IN ('queued','running') "
                        "RETURNING id",
                        {now_ms, batch_id});
      if (!r) return r.error();
      for (const auto& row : r->rows) {
        ids.push_back(text(row, 0));
        CORRAL_TRY(db_->run("UPDATE job_runs SET finished_ms=?, outcome='cancelled' WHERE job_id=? AND outcome=''",
                            {now_ms, ids.back()}));
      }
      return {};
    });
    if (!st) return st.error();
    return ids;
  }

 private:
  Result<std::optional<Job>> get_locked(const std::string& id) {
    auto r = db_->run(std::string("SELECT ") + kJobCols + " FROM jobs WHERE id=?", {id});
    if (!r) return r.error();
    if (r->rows.empty()) return std::optional<Job>();
    return std::optional<Job>(job_from_row(r->rows[0]));
  }

  // Runs `body` in a transaction: commit when it succeeds, roll back when it fails.
  template <class F>
  Status tx(F&& body) {
    CORRAL_TRY(db_->begin());
    Status st = body();
    if (!st) {
      (void)db_->run("ROLLBACK");
      return st;
    }
    auto c = db_->run("COMMIT");
    if (!c) {
      (void)db_->run("ROLLBACK");
      return c.error();
    }
    return {};
  }

  std::mutex mu_;
  std::unique_ptr<SqlConnection> db_;
};

bool is_postgres_dsn(const std::string& s) {
  return s.rfind("postgres://", 0) == 0 || s.rfind("postgresql://", 0) == 0 || s.find("dbname=") != std::string::npos ||
         s.find("host=") != std::string::npos;
}

}  // namespace

Result<std::unique_ptr<JobStore>> make_sql_job_store(std::unique_ptr<SqlConnection> conn) {
  auto store = std::make_unique<SqlJobStore>(std::move(conn));
  auto st = store->init();
  if (!st) return make_error("job database schema: {}", st.error().message);
  return std::unique_ptr<JobStore>(std::move(store));
}

Result<std::unique_ptr<JobStore>> open_job_store(const std::string& location) {
  if (location.empty()) return make_error("no job database given");
  Result<std::unique_ptr<SqlConnection>> conn =
      is_postgres_dsn(location) ? open_postgres(location)
                                : open_sqlite(location.rfind("sqlite:", 0) == 0 ? location.substr(7) : location);
  if (!conn) return conn.error();
  return make_sql_job_store(std::move(*conn));
}

}  // namespace corral::jobs
