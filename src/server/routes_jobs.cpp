// Asynchronous jobs over HTTP: /api/jobs (submit, status, list, cancel) and the OpenAI Batch API
// (/v1/files, /v1/batches) mapped onto the same jobs. The JobRunner executes them through this
// server's own routes on loopback, once the server is bound (start_job_workers).
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>

#include "base/log.h"
#include "jobs/job_request.h"
#include "jobs/job_runner.h"
#include "jobs/job_store.h"
#include "server/server.h"

namespace corral::server {

struct JobService {
  std::shared_ptr<jobs::JobStore> store;
  std::unique_ptr<jobs::JobRunner> runner;
  jobs::RunnerConfig config;
  std::string unavailable;  // why jobs are off (no store and no CORRAL_JOBS_DSN, bad database)

  ~JobService() {
    if (runner) runner->stop();
  }
};

namespace {

using api::OJson;
using jobs::Job;
using jobs::JobStatus;

int64_t env_duration_ms(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  auto d = jobs::parse_duration_ms(v);
  if (!d) {
    CORRAL_LOG_WARN("ignoring {}: {}", name, d.error().message);
    return fallback;
  }
  return *d;
}

std::shared_ptr<JobService> make_service(ServerState& st) {
  auto svc = std::make_shared<JobService>();
  std::string location;
  if (const char* dsn = std::getenv("CORRAL_JOBS_DSN"); dsn != nullptr && *dsn != '\0') location = dsn;
  else if (st.host.store() != nullptr) location = st.host.store()->root() + "/jobs.db";
  if (location.empty()) {
    svc->unavailable = "jobs need a model store or CORRAL_JOBS_DSN";
    return svc;
  }
  auto store = jobs::open_job_store(location);
  if (!store) {
    svc->unavailable = store.error().message;
    CORRAL_LOG_ERROR("jobs disabled: {}", svc->unavailable);
    return svc;
  }
  svc->store = std::move(*store);
  auto& c = svc->config;
  if (const char* w = std::getenv("CORRAL_JOBS_WORKERS"); w != nullptr && *w != '\0') {
    const int n = std::atoi(w);
    if (n > 0 && n <= 256) c.workers = n;
    else CORRAL_LOG_WARN("ignoring CORRAL_JOBS_WORKERS={}", w);
  }
  c.retention_ms = env_duration_ms("CORRAL_JOBS_RETENTION", c.retention_ms);
  c.lease_ms = env_duration_ms("CORRAL_JOBS_LEASE", c.lease_ms);
  c.webhook_backoff_ms = env_duration_ms("CORRAL_JOBS_WEBHOOK_BACKOFF", c.webhook_backoff_ms);
  return svc;
}

bool available(const JobService& svc, httplib::Response& res, bool openai) {
  if (svc.store) return true;
  HttpError e{503, "jobs are unavailable: " + svc.unavailable};
  openai ? send_openai_error(res, e) : send_error(res, e);
  return false;
}

// ---- OpenAI files and batches -------------------------------------------------------------

constexpr const char* kOutPrefix = "file-out-";
constexpr const char* kErrPrefix = "file-err-";
constexpr const char* kBatchPrefix = "batch_";

int64_t unix_s(int64_t ms) { return ms / 1000; }

OJson ts_or_null(int64_t ms) { return ms > 0 ? OJson(unix_s(ms)) : OJson(nullptr); }

OJson file_json(const jobs::FileRecord& f) {
  return {{"id", f.id},          {"object", "file"},   {"bytes", f.bytes}, {"created_at", unix_s(f.created_ms)},
          {"filename", f.filename}, {"purpose", f.purpose}, {"status", "processed"}, {"status_details", nullptr}};
}

// One line of a batch's output (or error) file, in OpenAI's shape.
OJson batch_output_line(const Job& j) {
  OJson line;
  line["id"] = "batch_req_" + j.id.substr(j.id.find('-') + 1);
  line["custom_id"] = j.custom_id;
  if (j.http_status > 0) {
    auto body = OJson::parse(j.result, nullptr, false);
    line["response"] = {{"status_code", j.http_status}, {"request_id", j.id},
                        {"body", body.is_discarded() ? OJson(j.result) : body}};
    line["error"] = nullptr;
  } else {
    line["response"] = nullptr;
    line["error"] = {{"code", j.reason.empty() ? "failed" : j.reason}, {"message", j.error}};
  }
  return line;
}

bool is_output_line(const Job& j) { return j.status == JobStatus::kSucceeded; }

std::string batch_file_content(jobs::JobStore& store, const std::string& batch_id, bool errors) {
  std::string out;
  auto all = store.batch_jobs(batch_id);
  if (!all) return out;
  for (const auto& j : *all) {
    if (!jobs::is_terminal(j.status) || is_output_line(j) == errors) continue;
    out += json_line(batch_output_line(j));
  }
  return out;
}

Expected<OJson> batch_json(jobs::JobStore& store, const jobs::BatchRecord& b) {
  auto counts = store.batch_counts(b.id);
  if (!counts) return HttpError{500, counts.error().message};
  const auto& c = *counts;
  const bool done = c.all_done();
  std::string status = "in_progress";
  if (b.cancelled_ms > 0) status = done ? "cancelled" : "cancelling";
  else if (done) status = "completed";
  const std::string hex = b.id.substr(std::string(kBatchPrefix).size());
  const int64_t window_ms = jobs::parse_duration_ms(b.completion_window).ok() ? *jobs::parse_duration_ms(b.completion_window) : 0;
  OJson j;
  j["id"] = b.id;
  j["object"] = "batch";
  j["endpoint"] = b.endpoint;
  j["errors"] = nullptr;
  j["input_file_id"] = b.input_file_id;
  j["completion_window"] = b.completion_window;
  j["status"] = status;
  j["output_file_id"] = done && c.succeeded > 0 ? OJson(kOutPrefix + hex) : OJson(nullptr);
  j["error_file_id"] = done && c.failed + c.cancelled > 0 ? OJson(kErrPrefix + hex) : OJson(nullptr);
  j["created_at"] = unix_s(b.created_ms);
  j["in_progress_at"] = unix_s(b.created_ms);
  j["expires_at"] = unix_s(b.created_ms + window_ms);
  j["finalizing_at"] = done && b.cancelled_ms == 0 ? ts_or_null(c.last_finished_ms) : OJson(nullptr);
  j["completed_at"] = done && b.cancelled_ms == 0 ? ts_or_null(c.last_finished_ms) : OJson(nullptr);
  j["failed_at"] = nullptr;
  j["expired_at"] = nullptr;
  j["cancelling_at"] = ts_or_null(b.cancelled_ms);
  j["cancelled_at"] = done && b.cancelled_ms > 0 ? ts_or_null(std::max(b.cancelled_ms, c.last_finished_ms)) : OJson(nullptr);
  j["request_counts"] = {{"total", c.total}, {"completed", c.succeeded}, {"failed", c.failed + c.cancelled}};
  auto meta = OJson::parse(b.metadata, nullptr, false);
  j["metadata"] = meta.is_discarded() ? OJson(nullptr) : meta;
  return j;
}

bool valid_utf8_text(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

void register_batch_routes(httplib::Server& svr, const std::shared_ptr<JobService>& svc) {
  svr.Post("/v1/files", [svc](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, true)) return;
    if (!req.is_multipart_form_data() || !req.has_file("file"))
      return send_openai_error(res, {400, "expected a multipart/form-data upload with a file field"});
    const std::string purpose = req.has_file("purpose") ? req.get_file_value("purpose").content : "";
    if (purpose != "batch") return send_openai_error(res, {400, "purpose must be \"batch\" (the only one supported)"});
    const auto file = req.get_file_value("file");
    if (!valid_utf8_text(file.content))
      return send_openai_error(res, {400, "the file must be UTF-8 JSONL text"});
    jobs::FileRecord f{jobs::new_id("file-"), purpose, file.filename.empty() ? "upload.jsonl" : file.filename,
                       static_cast<int64_t>(file.content.size()), jobs::unix_now_ms()};
    if (auto st = svc->store->put_file(f, file.content); !st) return send_openai_error(res, {500, st.error().message});
    send_json(res, file_json(f));
  });

  // A batch's output/error file is made from its jobs when asked for.
  auto find_file = [svc](const std::string& id, std::string* content) -> Expected<jobs::FileRecord> {
    for (const char* prefix : {kOutPrefix, kErrPrefix}) {
      if (id.rfind(prefix, 0) != 0) continue;
      const std::string batch_id = kBatchPrefix + id.substr(std::string(prefix).size());
      auto b = svc->store->get_batch(batch_id);
      if (!b) return HttpError{500, b.error().message};
      if (!b->has_value()) break;
      std::string text = batch_file_content(*svc->store, batch_id, prefix == kErrPrefix);
      jobs::FileRecord f{id, "batch_output", batch_id + (prefix == kErrPrefix ? "_error.jsonl" : "_output.jsonl"),
                         static_cast<int64_t>(text.size()), (*b)->created_ms};
      if (content != nullptr) *content = std::move(text);
      return f;
    }
    auto f = svc->store->get_file(id, content);
    if (!f) return HttpError{500, f.error().message};
    if (!f->has_value()) return HttpError{404, "No such File object: " + id};
    return **f;
  };
  svr.Get(R"(/v1/files/([^/]+))", [svc, find_file](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, true)) return;
    auto f = find_file(req.matches[1], nullptr);
    if (!f.ok()) return send_openai_error(res, f.error);
    send_json(res, file_json(*f));
  });
  svr.Get(R"(/v1/files/([^/]+)/content)", [svc, find_file](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, true)) return;
    std::string content;
    auto f = find_file(req.matches[1], &content);
    if (!f.ok()) return send_openai_error(res, f.error);
    res.set_content(content, "application/jsonl");
  });

  svr.Post("/v1/batches", [svc](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, true)) return;
    auto body = api::parse_json_body(req.body);
    if (!body) return send_openai_error(res, {400, body.error().message});
    std::string input_file_id, endpoint, window = "24h";
    if (auto s = api::get_string(*body, "input_file_id", &input_file_id); !s || input_file_id.empty())
      return send_openai_error(res, {400, "input_file_id is required"});
    if (auto s = api::get_string(*body, "endpoint", &endpoint); !s || !jobs::job_type_for_endpoint(endpoint))
      return send_openai_error(res, {400, "endpoint must be /v1/chat/completions, /v1/completions or /v1/embeddings"});
    if (auto s = api::get_string(*body, "completion_window", &window); !s || !jobs::parse_duration_ms(window))
      return send_openai_error(res, {400, "completion_window must be a duration such as \"24h\""});
    std::string content;
    auto f = svc->store->get_file(input_file_id, &content);
    if (!f) return send_openai_error(res, {500, f.error().message});
    if (!f->has_value()) return send_openai_error(res, {404, "No such File object: " + input_file_id});
    auto lines = jobs::parse_batch_jsonl(content, endpoint);
    if (!lines) return send_openai_error(res, {400, "invalid batch input file: " + lines.error().message});
    jobs::BatchRecord b;
    b.id = jobs::new_id(kBatchPrefix);
    b.input_file_id = input_file_id;
    b.endpoint = endpoint;
    b.completion_window = window;
    b.created_ms = jobs::unix_now_ms();
    if (const auto m = body->find("metadata"); m != body->end() && !m->is_null()) {
      if (!m->is_object()) return send_openai_error(res, {400, "metadata must be an object"});
      b.metadata = m->dump();
    }
    const int64_t window_ms = *jobs::parse_duration_ms(window);
    for (auto& j : *lines) j.deadline_ms = window_ms;  // not started within the window: expired
    auto ids = svc->store->enqueue(*lines, b.created_ms, &b);
    if (!ids) return send_openai_error(res, {500, ids.error().message});
    if (svc->runner) svc->runner->wake();
    auto j = batch_json(*svc->store, b);
    if (!j.ok()) return send_openai_error(res, j.error);
    send_json(res, *j);
  });
  svr.Get(R"(/v1/batches/([^/]+))", [svc](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, true)) return;
    auto b = svc->store->get_batch(req.matches[1]);
    if (!b) return send_openai_error(res, {500, b.error().message});
    if (!b->has_value()) return send_openai_error(res, {404, "No such Batch object: " + std::string(req.matches[1])});
    auto j = batch_json(*svc->store, **b);
    if (!j.ok()) return send_openai_error(res, j.error);
    send_json(res, *j);
  });
  svr.Get("/v1/batches", [svc](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, true)) return;
    int64_t limit = 20;
    if (req.has_param("limit")) limit = std::clamp<int64_t>(std::atoll(req.get_param_value("limit").c_str()), 1, 100);
    auto all = svc->store->list_batches(limit);
    if (!all) return send_openai_error(res, {500, all.error().message});
    OJson data = OJson::array();
    for (const auto& b : *all) {
      auto j = batch_json(*svc->store, b);
      if (j.ok()) data.push_back(*j);
    }
    OJson out{{"object", "list"}, {"data", data}, {"has_more", false}};
    out["first_id"] = data.empty() ? OJson(nullptr) : data.front()["id"];
    out["last_id"] = data.empty() ? OJson(nullptr) : data.back()["id"];
    send_json(res, out);
  });
  svr.Post(R"(/v1/batches/([^/]+)/cancel)", [svc](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, true)) return;
    const std::string id = req.matches[1];
    auto b = svc->store->get_batch(id);
    if (!b) return send_openai_error(res, {500, b.error().message});
    if (!b->has_value()) return send_openai_error(res, {404, "No such Batch object: " + id});
    auto cancelled = svc->store->cancel_batch(id, jobs::unix_now_ms());
    if (!cancelled) return send_openai_error(res, {500, cancelled.error().message});
    if (svc->runner)
      for (const auto& jid : *cancelled) svc->runner->abort_local(jid);
    b = svc->store->get_batch(id);
    if (!b || !b->has_value()) return send_openai_error(res, {500, "batch vanished"});
    auto j = batch_json(*svc->store, **b);
    if (!j.ok()) return send_openai_error(res, j.error);
    send_json(res, *j);
  });
}

}  // namespace

std::shared_ptr<JobService> register_job_routes(httplib::Server& svr, ServerState& st) {
  auto svc = make_service(st);

  svr.Post("/api/jobs", [svc, &st](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, false)) return;
    auto body = api::parse_json_body(req.body);
    if (!body) return send_error(res, {400, body.error().message});
    auto job = jobs::parse_job_submission(*body);
    if (!job) return send_error(res, {400, job.error().message});
    if (auto no = model_forbidden(st, req, job->model)) return send_error(res, *no);
    auto ids = svc->store->enqueue({*job}, jobs::unix_now_ms());
    if (!ids) return send_error(res, {500, ids.error().message});
    if (svc->runner) svc->runner->wake();
    auto got = svc->store->get((*ids)[0]);
    if (!got || !got->has_value()) return send_error(res, {500, "the job vanished after it was queued"});
    res.set_header("Location", "/api/jobs/" + (*ids)[0]);
    send_json(res, jobs::job_json(**got), 202);
  });
  svr.Get(R"(/api/jobs/([^/]+))", [svc](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, false)) return;
    auto got = svc->store->get(req.matches[1]);
    if (!got) return send_error(res, {500, got.error().message});
    if (!got->has_value()) return send_error(res, {404, "job \"" + std::string(req.matches[1]) + "\" not found"});
    OJson j = jobs::job_json(**got);
    if (auto runs = svc->store->runs((*got)->id); runs) {  // every claim: which server, how it ended
      OJson list = OJson::array();
      for (const auto& r : *runs)
        list.push_back({{"attempt", r.attempt},
                        {"server", r.worker},
                        {"started_at", api::rfc3339_nano(r.started_ms * 1000000)},
                        {"finished_at", r.finished_ms > 0 ? OJson(api::rfc3339_nano(r.finished_ms * 1000000)) : OJson(nullptr)},
                        {"outcome", r.outcome.empty() ? "running" : r.outcome}});
      j["runs"] = list;
    }
    send_json(res, j);
  });
  svr.Get("/api/jobs", [svc](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, false)) return;
    jobs::JobFilter f;
    if (req.has_param("status")) {
      f.status = jobs::parse_status(req.get_param_value("status"));
      if (!f.status) return send_error(res, {400, "status must be queued, running, succeeded, failed or cancelled"});
    }
    f.model = req.get_param_value("model");
    f.batch_id = req.get_param_value("batch_id");
    if (req.has_param("limit")) {
      const std::string l = req.get_param_value("limit");
      char* end = nullptr;
      const long long n = std::strtoll(l.c_str(), &end, 10);
      if (l.empty() || *end != '\0' || n < 1 || n > 10000) return send_error(res, {400, "limit must be 1..10000"});
      f.limit = n;
    }
    auto all = svc->store->list(f);
    if (!all) return send_error(res, {500, all.error().message});
    OJson list = OJson::array();
    for (const auto& j : *all) list.push_back(jobs::job_json(j));
    send_json(res, OJson{{"jobs", list}});
  });
  svr.Delete(R"(/api/jobs/([^/]+))", [svc](const httplib::Request& req, httplib::Response& res) {
    if (!available(*svc, res, false)) return;
    const std::string id = req.matches[1];
    auto c = svc->store->cancel(id, jobs::unix_now_ms());
    if (!c) return send_error(res, {500, c.error().message});
    if (!c->job) return send_error(res, {404, "job \"" + id + "\" not found"});
    if (!c->cancelled)
      return send_error(res, {409, fmt::format("job \"{}\" already {}", id, jobs::status_name(c->job->status))});
    if (svc->runner) {
      svc->runner->abort_local(id);
      svc->runner->notify_finished(*c->job);
    }
    send_json(res, jobs::job_json(*c->job));
  });

  register_batch_routes(svr, svc);
  return svc;
}

std::shared_ptr<jobs::JobStore> job_store(const JobService& svc, std::string* unavailable) {
  if (!svc.store && unavailable != nullptr) *unavailable = svc.unavailable;
  return svc.store;
}

void pause_job_workers(JobService& svc) {
  if (svc.runner) svc.runner->pause();
}

void stop_job_workers(JobService& svc) {
  if (svc.runner) svc.runner->stop();
}

void start_job_workers(JobService& svc, const std::string& host, int port, const std::string& authorization) {
  if (!svc.store || svc.runner) return;
  svc.config.extra_headers = {"Authorization: " + authorization};
  std::string h = host;
  if (h.empty() || h == "0.0.0.0") h = "127.0.0.1";
  else if (h == "::") h = "[::1]";
  else if (h.find(':') != std::string::npos && h.front() != '[') h = "[" + h + "]";
  svc.config.base_url = fmt::format("http://{}:{}", h, port);
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) std::snprintf(name, sizeof name, "localhost");
  svc.config.server_id = fmt::format("{}:{}/{}", name, port, static_cast<long>(getpid()));
  svc.runner = std::make_unique<jobs::JobRunner>(svc.store, svc.config);
  svc.runner->start();
}

}  // namespace corral::server
