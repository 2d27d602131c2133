// `corral serve`: an HTTP server speaking Ollama's API and the OpenAI API over the scheduler.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/access.h"
#include "server/lifecycle.h"
#include "server/metrics.h"
#include "server/model_host.h"

namespace httplib {
class Server;
class Request;
class Response;
}  // namespace httplib

namespace corral::jobs {
class JobStore;
}  // namespace corral::jobs

namespace corral::server {

inline constexpr const char* kVersion = "0.12.11";  // the Ollama API level we speak

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 11434;
  std::vector<std::string> extra_origins;  // OLLAMA_ORIGINS
  size_t max_json_body_bytes = size_t{32} << 20;
  int http_threads = 192;  // every streaming client holds one
  bool access_log = false;  // CORRAL_ACCESS_LOG=1: a line when each request begins and ends
};

// CORRAL_HOST, else OLLAMA_HOST ("[scheme://]host[:port]"), OLLAMA_ORIGINS, CORRAL_MAX_BODY_BYTES,
// CORRAL_ACCESS_LOG, CORRAL_HTTP_THREADS.
ServerConfig server_config_from_env();
// Parses "[scheme://]host[:port][/path]" (Ollama's rules: http -> 80, https -> 443, else 11434).
bool parse_host_port(std::string_view s, std::string* host, int* port);
// Ollama's DNS-rebinding rule: the Host header must name a loopback, private or local address.
bool host_header_allowed(std::string_view host_header);
// Ollama's default CORS origins (localhost, 127.0.0.1, 0.0.0.0 on any port; app://, file://,
// tauri://, vscode-webview://, vscode-file://) plus `extra` (a trailing * matches any suffix).
bool origin_allowed(std::string_view origin, const std::vector<std::string>& extra);

struct ServerState {
  ServerState(std::unique_ptr<Store> store, SchedulerConfig sc, ServerConfig cfg)
      : host(std::move(store), sc), config(std::move(cfg)) {}
  ModelHost host;
  Metrics metrics;
  ServerConfig config;
  Lifecycle lifecycle;
  Access access;
};

// Helpers shared by the route files.
void send_json(httplib::Response& res, const api::OJson& body, int status = 200);
void send_error(httplib::Response& res, const HttpError& e);
void send_openai_error(httplib::Response& res, const HttpError& e);
std::string json_line(const api::OJson& j);  // compact JSON + "\n"
// Streams a generation: each event becomes the text `chunk` returns (skipped when empty), then
// `trailer` after the final event. A failed write (client gone) cancels the generation.
void stream_generation(httplib::Response& res, std::shared_ptr<class Generation> gen,
                       const std::string& content_type,
                       std::function<std::string(const GenerateEvent&)> chunk, std::string trailer);

// For non-streaming handlers: whether the request's client is still connected (ConnectionProbe).
std::function<bool()> client_connected(const httplib::Request& req);
// Which models the request's API key may use (null with keys off).
std::function<bool(const std::string&)> model_filter(ServerState& st, const httplib::Request& req);
// The 403 for a model the request's key may not use, or nullopt when it may.
std::optional<HttpError> model_forbidden(ServerState& st, const httplib::Request& req, const std::string& model);

void register_ollama_routes(httplib::Server& svr, ServerState& st);
void register_model_routes(httplib::Server& svr, ServerState& st);
void register_openai_routes(httplib::Server& svr, ServerState& st);
void register_anthropic_routes(httplib::Server& svr, ServerState& st);  // routes_anthropic.cpp
void register_rerank_routes(httplib::Server& svr, ServerState& st);     // routes_rerank.cpp
// routes_jobs.cpp: /api/jobs and the OpenAI files/batches API. Its workers call this server on
// loopback, so they start once the port is bound.
struct JobService;
std::shared_ptr<JobService> register_job_routes(httplib::Server& svr, ServerState& st);
// `authorization`: the header value its loopback calls carry (the server's internal token).
void start_job_workers(JobService& jobs, const std::string& host, int port, const std::string& authorization);
// Stops the job workers claiming new jobs; those running go on (drain).
void pause_job_workers(JobService& jobs);
// Stops the job workers; jobs still running go back to the queue unspent.
void stop_job_workers(JobService& jobs);
// The service's job database (null when jobs are off; then `unavailable` says why).
std::shared_ptr<jobs::JobStore> job_store(const JobService& jobs, std::string* unavailable);
// routes_responses.cpp: /v1/responses, stored in the job database when there is one.
void register_responses_routes(httplib::Server& svr, ServerState& st, std::shared_ptr<jobs::JobStore> store);

// Sets the log level from the file CORRAL_LOG_LEVEL_FILE names, when set (at start and on SIGHUP;
// `when` prefixes the log line).
void apply_log_level_file(const char* when);

class HttpServer {
 public:
  explicit HttpServer(std::shared_ptr<ServerState> state);
  ~HttpServer();
  // Binds and serves until stop(); returns false when the address cannot be bound.
  bool listen();
  // Binds now (port 0 picks a free port); then serve() blocks.
  int bind();
  bool serve();
  void stop();
  // The graceful stop (SIGTERM): /ready turns 503 and new work is refused with 503 (a balancer
  // retries it elsewhere); the job workers stop claiming; in-flight requests get `timeout_ms`
  // to finish, then running generations end with done_reason "shutdown"; the job workers give
  // their leases back; then the server stops. Returns the number of generations it had to end.
  size_t drain(int64_t timeout_ms);
  // SIGHUP: reloads the API keys (CORRAL_API_KEYS_FILE) and the log level (CORRAL_LOG_LEVEL_FILE).
  void reload();
  // Loads the CORRAL_PRELOAD models in the background (/ready waits for them).
  void start_preload();

 private:
  std::shared_ptr<ServerState> state_;
  std::unique_ptr<httplib::Server> svr_;
  std::thread reaper_;
  std::thread preloader_;
  int listen_fd_ = -1;  // the listening socket, to raise httplib's backlog of 5
  std::atomic<bool> stopping_{false};
  std::shared_ptr<JobService> jobs_;  // last: stopped before the rest goes
};

}  // namespace corral::server
