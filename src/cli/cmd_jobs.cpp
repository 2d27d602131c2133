// `corral jobs`: asynchronous jobs on a running server. submit a JSONL file (each line a
// /api/jobs body or an OpenAI batch line), list/status, watch with a progress bar, results as
// JSONL, cancel.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "api/http_client.h"
#include "api/types.h"
#include "cli/command.h"
#include "jobs/job_request.h"

namespace corral::cli {
namespace {

using api::Json;

// CORRAL_HOST, else OLLAMA_HOST, else 127.0.0.1:11434, as a base URL.
std::string server_url() {
  const char* h = std::getenv("CORRAL_HOST");
  if (h == nullptr || *h == '\0') h = std::getenv("OLLAMA_HOST");
  std::string s = h != nullptr && *h != '\0' ? h : "127.0.0.1:11434";
  if (s.find("://") == std::string::npos) s = "http://" + s;
  const std::string rest = s.substr(s.find("://") + 3);
  if (rest.find(':') == std::string::npos) s += ":11434";
  return s;
}

// A JSON reply, or an error message (transport failure, HTTP error body).
Result<Json> call(const std::string& method, const std::string& path, const std::string& body = "") {
  const std::string url = server_url() + path;
  auto r = method == "GET" ? api::http_get(url)
           : method == "DELETE" ? api::http_delete_json(url, body)
                                : api::http_post_json(url, body);
  if (!r) return make_error("could not connect to the server: {}", r.error().message);
  Json j = Json::parse(r->body, nullptr, false);
  if (r->status >= 300) {
    if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string())
      return make_error("{}", j["error"].get<std::string>());
    return make_error("HTTP {}: {}", r->status, r->body.substr(0, 300));
  }
  if (j.is_discarded()) return make_error("the server sent invalid JSON");
  return j;
}

std::vector<std::string> ids_from_stdin_if_empty(std::vector<std::string> ids) {
  if (!ids.empty() && !(ids.size() == 1 && ids[0] == "-")) return ids;
  ids.clear();
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string w;
    while (words >> w) ids.push_back(w);
  }
  return ids;
}

// The current state of `ids`: one listing call, then single GETs for ids the listing missed.
Result<std::map<std::string, Json>> fetch(const std::vector<std::string>& ids) {
  std::map<std::string, Json> out;
  auto all = call("GET", "/api/jobs?limit=10000");
  if (!all) return all.error();
  std::map<std::string, Json> listed;
  for (const auto& j : (*all)["jobs"]) listed[j.value("id", "")] = j;
  for (const auto& id : ids) {
    if (auto it = listed.find(id); it != listed.end()) {
      out[id] = it->second;
      continue;
    }
    auto one = call("GET", "/api/jobs/" + id);
    if (!one) return make_error("{}: {}", id, one.error().message);
    out[id] = *one;
  }
  return out;
}

bool finished(const Json& j) {
  const std::string s = j.value("status", "");
  return s == "succeeded" || s == "failed" || s == "cancelled";
}

void print_table(const std::vector<Json>& jobs) {
  std::printf("%-28s %-10s %-19s %-20s %-8s %-25s %s\n", "ID", "STATUS", "TYPE", "MODEL", "ATTEMPTS", "CREATED",
              "SERVER");
  for (const auto& j : jobs) {
    auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string("-"); };
    std::printf("%-28s %-10s %-19s %-20s %-8lld %-25s %s\n", str("id").c_str(), str("status").c_str(),
                str("type").c_str(), str("model").c_str(), static_cast<long long>(j.value("attempts", int64_t{0})),
                str("created_at").substr(0, 23).c_str(), str("server").c_str());
  }
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "Error: %s\n", msg.c_str());
  return 1;
}

int submit(const std::string& file, int64_t priority, int64_t deadline_ms, const std::string& webhook,
           const std::string& secret) {
  std::ifstream in(file);
  if (!in) return fail("cannot open " + file);
  std::vector<Json> bodies;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto body = jobs::job_body_from_line(line);
    if (!body) return fail(fmt::format("{} line {}: {}", file, n, body.error().message));
    if (priority != 0) (*body)["priority"] = priority;
    if (deadline_ms > 0) (*body)["deadline_ms"] = deadline_ms;
    if (!webhook.empty()) (*body)["webhook"] = Json{{"url", webhook}, {"secret", secret}};
    bodies.push_back(std::move(*body));
  }
  if (bodies.empty()) return fail(file + " has no jobs");
  for (const auto& b : bodies) {  // every line checked before the first is sent
    auto r = call("POST", "/api/jobs", b.dump());
    if (!r) return fail(r.error().message);
    std::printf("%s\n", r->value("id", "").c_str());
    std::fflush(stdout);
  }
  return 0;
}

int watch(const std::vector<std::string>& ids, double interval_s) {
  if (ids.empty()) return fail("no job ids (give them as arguments or on stdin)");
  const bool tty = isatty(STDERR_FILENO) != 0;
  for (;;) {
    auto state = fetch(ids);
    if (!state) return fail(state.error().message);
    int64_t done = 0, ok = 0, failed = 0, running = 0;
    for (const auto& [id, j] : *state) {
      const std::string s = j.value("status", "");
      if (finished(j)) ++done;
      if (s == "succeeded") ++ok;
      if (s == "failed" || s == "cancelled") ++failed;
      if (s == "running") ++running;
    }
    const int64_t total = static_cast<int64_t>(ids.size());
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / total);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    const std::string text = fmt::format("[{}] {}/{} done, {} running, {} failed", bar, done, total, running, failed);
    if (tty) std::fprintf(stderr, "\r%s\033[K", text.c_str());
    if (done == total) {
      if (tty) std::fprintf(stderr, "\n");
      std::printf("%s\n", text.c_str());
      return failed == 0 ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(interval_s * 1000)));
  }
}

int results(const std::vector<std::string>& ids) {
  if (ids.empty()) return fail("no job ids (give them as arguments or on stdin)");
  auto state = fetch(ids);
  if (!state) return fail(state.error().message);
  for (const auto& id : ids) {
    const Json& j = (*state)[id];
    Json line{{"id", id}, {"status", j.value("status", "")}};
    if (j.contains("custom_id")) line["custom_id"] = j["custom_id"];
    if (j.contains("result")) line["result"] = j["result"];
    if (j.contains("error")) line["error"] = j["error"];
    if (j.contains("reason")) line["reason"] = j["reason"];
    std::printf("%s\n", line.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  }
  return 0;
}

int cmd_jobs(int argc, char** argv) {
  CLI::App app{"Asynchronous jobs on the running server", "corral jobs"};
  app.require_subcommand(1);
  app.footer("Server: CORRAL_HOST / OLLAMA_HOST (default 127.0.0.1:11434). IDs for watch/results/status\n"
             "come from the arguments or, when there are none (or \"-\"), from stdin.");
  std::string file, webhook, secret, status_filter, model_filter;
  int64_t priority = 0, deadline_ms = 0, limit = 50;
  double interval_s = 0.5;
  std::vector<std::string> ids;
  std::string cancel_id;
  auto* sub = app.add_subcommand("submit", "Queue every line of a JSONL file; prints one job id per line");
  sub->add_option("file", file, "JSONL: /api/jobs bodies or OpenAI batch lines")->required();
  sub->add_option("--priority", priority, "Priority for every job (higher runs first)");
  sub->add_option("--deadline-ms", deadline_ms, "Fail jobs not finished this long after submission");
  sub->add_option("--webhook", webhook, "URL called when each job finishes");
  sub->add_option("--secret", secret, "HMAC-SHA256 key for the webhook signature");
  auto* list = app.add_subcommand("list", "List jobs, newest first");
  list->add_option("--status", status_filter, "queued, running, succeeded, failed or cancelled");
  list->add_option("--model", model_filter, "Only jobs for this model");
  list->add_option("--limit", limit, "At most this many");
  auto* st = app.add_subcommand("status", "Show jobs by id");
  st->add_option("ids", ids, "Job ids");
  auto* w = app.add_subcommand("watch", "Progress bar until the jobs have finished (exit 1 if any failed)");
  w->add_option("ids", ids, "Job ids");
  w->add_option("--interval", interval_s, "Seconds between polls")->check(CLI::Range(0.05, 60.0));
  auto* res = app.add_subcommand("results", "Print each job's result as a JSON line");
  res->add_option("ids", ids, "Job ids");
  auto* can = app.add_subcommand("cancel", "Cancel a queued or running job");
  can->add_option("id", cancel_id, "Job id")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (sub->parsed()) return submit(file, priority, deadline_ms, webhook, secret);
  if (list->parsed()) {
    std::string q = fmt::format("/api/jobs?limit={}", limit);
    if (!status_filter.empty()) q += "&status=" + status_filter;
    if (!model_filter.empty()) q += "&model=" + model_filter;
    auto r = call("GET", q);
    if (!r) return fail(r.error().message);
    print_table((*r)["jobs"].get<std::vector<Json>>());
    return 0;
  }
  if (st->parsed()) {
    ids = ids_from_stdin_if_empty(ids);
    std::vector<Json> rows;
    for (const auto& id : ids) {
      auto r = call("GET", "/api/jobs/" + id);
      if (!r) return fail(id + ": " + r.error().message);
      rows.push_back(*r);
    }
    print_table(rows);
    return 0;
  }
  if (w->parsed()) return watch(ids_from_stdin_if_empty(ids), interval_s);
  if (res->parsed()) return results(ids_from_stdin_if_empty(ids));
  if (can->parsed()) {
    auto r = call("DELETE", "/api/jobs/" + cancel_id);
    if (!r) return fail(r.error().message);
    std::printf("%s %s\n", cancel_id.c_str(), r->value("status", "").c_str());
    return 0;
  }
  return 1;
}

}  // namespace

CORRAL_COMMAND("jobs", "Submit, watch and fetch asynchronous jobs", cmd_jobs);

}  // namespace corral::cli
