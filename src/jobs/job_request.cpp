// Job body and batch-line validation (see job_request.h).
#include "jobs/job_request.h"

#include <charconv>
#include <set>

#include "base/duration.h"

namespace corral::jobs {
namespace {

using api::Json;

struct TypeRoute {
  std::string_view type, path, endpoint;  // endpoint: the OpenAI batch URL, or ""
};
constexpr TypeRoute kRoutes[] = {
    {"generate", "/api/generate", ""},
    {"chat", "/api/chat", ""},
    {"embed", "/api/embed", ""},
    {"openai.chat", "/v1/chat/completions", "/v1/chat/completions"},
    {"openai.completions", "/v1/completions", "/v1/completions"},
    {"openai.embeddings", "/v1/embeddings", "/v1/embeddings"},
};

constexpr int64_t kMaxDeadlineMs = int64_t{30} * 24 * 3600 * 1000;
constexpr int64_t kMaxPriority = 1000000;

Status require_model(const Json& request) {
  const auto it = request.find("model");
  if (it == request.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    return make_error("request: model is required");
  return {};
}

Status check_openai(std::string_view type, const Json& r) {
  CORRAL_TRY(require_model(r));
  if (type == "openai.chat") {
    const auto it = r.find("messages");
    if (it == r.end() || !it->is_array() || it->empty())
      return make_error("request: messages must be a non-empty array");
    for (const auto& m : *it) {
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
        return make_error("request: each message needs a string role");
    }
  } else if (type == "openai.completions") {
    const auto it = r.find("prompt");
    if (it == r.end() || !(it->is_string() || it->is_array()))
      return make_error("request: prompt must be a string or an array");
  } else {
    const auto it = r.find("input");
    if (it == r.end() || !(it->is_string() || it->is_array()))
      return make_error("request: input must be a string or an array");
  }
  if (const auto n = r.find("n"); n != r.end() && !(n->is_number_integer() && n->get<int64_t>() == 1))
    return make_error("request: n must be 1");
  return {};
}

bool is_http_url(const std::string& u) {
  return (u.rfind("http://", 0) == 0 && u.size() > 7) || (u.rfind("https://", 0) == 0 && u.size() > 8);
}

}  // namespace

std::optional<std::string_view> job_type_path(std::string_view type) {
  for (const auto& r : kRoutes)
    if (r.type == type) return r.path;
  return std::nullopt;
}

std::optional<std::string_view> job_type_for_endpoint(std::string_view endpoint) {
  for (const auto& r : kRoutes)
    if (!r.endpoint.empty() && r.endpoint == endpoint) return r.type;
  return std::nullopt;
}

Status validate_job_request(std::string_view type, const Json& request, NewJob* job) {
  if (!job_type_path(type))
    return make_error("type must be one of generate, chat, embed, openai.chat, openai.completions, "
                      "openai.embeddings (got \"{}\")", type);
  if (!request.is_object()) return make_error("request must be an object");
  if (type == "generate") {
    auto r = api::parse_generate_request(request);
    if (!r) return make_error("request: {}", r.error().message);
  } else if (type == "chat") {
    auto r = api::parse_chat_request(request);
    if (!r) return make_error("request: {}", r.error().message);
    if (r->messages.empty()) return make_error("request: messages must not be empty");
  } else if (type == "embed") {
    auto r = api::parse_embed_request(request, false);
    if (!r) return make_error("request: {}", r.error().message);
    if (r->input.empty()) return make_error("request: input must not be empty");
  } else {
    CORRAL_TRY(check_openai(type, request));
  }
  CORRAL_TRY(require_model(request));
  if (type == "generate") {
    const auto p = request.find("prompt");
    if (p == request.end() || !p->is_string() || p->get_ref<const std::string&>().empty())
      return make_error("request: prompt is required");
  }
  Json inner = request;
  inner["stream"] = false;  // a job collects the whole answer
  inner.erase("stream_options");
  job->type = std::string(type);
  job->model = inner["model"].get<std::string>();
  job->request = inner.dump(-1, ' ', false, Json::error_handler_t::replace);
  return {};
}

Result<NewJob> parse_job_submission(const Json& body) {
  if (!body.is_object()) return make_error("job body must be a JSON object");
  static const std::set<std::string> kKeys = {"type", "request", "priority", "deadline_ms", "webhook"};
  for (const auto& [k, v] : body.items())
    if (!kKeys.count(k)) return make_error("unknown field \"{}\"", k);
  const auto type = body.find("type");
  if (type == body.end() || !type->is_string()) return make_error("type is required (a string)");
  const auto request = body.find("request");
  if (request == body.end()) return make_error("request is required");
  NewJob job;
  CORRAL_TRY(validate_job_request(type->get_ref<const std::string&>(), *request, &job));
  if (const auto p = body.find("priority"); p != body.end() && !p->is_null()) {
    if (!p->is_number_integer()) return make_error("priority must be an integer");
    job.priority = p->get<int64_t>();
    if (job.priority < -kMaxPriority || job.priority > kMaxPriority)
      return make_error("priority must be within ±{}", kMaxPriority);
  }
  if (const auto d = body.find("deadline_ms"); d != body.end() && !d->is_null()) {
    if (!d->is_number_integer()) return make_error("deadline_ms must be an integer");
    job.deadline_ms = d->get<int64_t>();
    if (job.deadline_ms <= 0 || job.deadline_ms > kMaxDeadlineMs)
      return make_error("deadline_ms must be between 1 and {}", kMaxDeadlineMs);
  }
  if (const auto w = body.find("webhook"); w != body.end() && !w->is_null()) {
    if (!w->is_object()) return make_error("webhook must be an object with a url");
    const auto url = w->find("url");
    if (url == w->end() || !url->is_string() || !is_http_url(url->get<std::string>()))
      return make_error("webhook.url must be an http:// or https:// URL");
    job.webhook_url = url->get<std::string>();
    if (const auto s = w->find("secret"); s != w->end() && !s->is_null()) {
      if (!s->is_string()) return make_error("webhook.secret must be a string");
      job.webhook_secret = s->get<std::string>();
    }
  }
  return job;
}

Result<NewJob> parse_batch_line(std::string_view line, std::string_view endpoint) {
  Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("not a JSON object");
  const auto id = j.find("custom_id");
  if (id == j.end() || !id->is_string() || id->get_ref<const std::string&>().empty())
    return make_error("custom_id is required (a non-empty string)");
  if (const auto m = j.find("method"); m != j.end() && !(m->is_string() && *m == "POST"))
    return make_error("method must be POST");
  const auto url = j.find("url");
  if (url == j.end() || !url->is_string()) return make_error("url is required");
  if (url->get_ref<const std::string&>() != endpoint)
    return make_error("url \"{}\" does not match the batch endpoint \"{}\"", url->get<std::string>(), endpoint);
  const auto type = job_type_for_endpoint(endpoint);
  if (!type) return make_error("unsupported endpoint \"{}\"", endpoint);
  const auto body = j.find("body");
  if (body == j.end()) return make_error("body is required");
  NewJob job;
  CORRAL_TRY(validate_job_request(*type, *body, &job));
  job.custom_id = id->get<std::string>();
  return job;
}

Result<std::vector<NewJob>> parse_batch_jsonl(std::string_view text, std::string_view endpoint,
                                              size_t max_lines) {
  std::vector<NewJob> jobs;
  std::set<std::string> ids;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (jobs.size() >= max_lines) return make_error("more than {} requests", max_lines);
    auto job = parse_batch_line(line, endpoint);
    if (!job) return make_error("line {}: {}", line_no, job.error().message);
    if (!ids.insert(job->custom_id).second)
      return make_error("line {}: duplicate custom_id \"{}\"", line_no, job->custom_id);
    jobs.push_back(std::move(*job));
  }
  if (jobs.empty()) return make_error("the file has no requests");
  return jobs;
}

Result<Json> job_body_from_line(std::string_view line) {
  Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("not a JSON object");
  if (j.contains("url")) {  // an OpenAI batch line
    const std::string url = j["url"].is_string() ? j["url"].get<std::string>() : "";
    auto job = parse_batch_line(line, url);
    if (!job) return job.error();
    return Json{{"type", job->type}, {"request", Json::parse(job->request)}};
  }
  auto job = parse_job_submission(j);
  if (!job) return job.error();
  return j;
}

Result<int64_t> parse_duration_ms(std::string_view text) {
  auto seconds = parse_duration_seconds(text, /*allow_days=*/true);
  if (!seconds) return seconds.error();
  const double ms = *seconds * 1000.0;
  if (!(ms >= 1) || ms > 1e15) return make_error("duration \"{}\" out of range", text);
  return static_cast<int64_t>(ms);
}

}  // namespace corral::jobs
