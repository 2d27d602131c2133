// The HTTP server: configuration from the environment, Host-header and CORS checks, API keys,
// body limits, liveness/readiness/metrics routes, the drain, and the keep_alive reaper.
#include "server/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "base/log.h"
#include "server/connection_probe.h"
#include "server/generation.h"

namespace corral::server {

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

bool is_loopback_host(const std::string& h) {
  return h == "127.0.0.1" || h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
}

// The client's X-Request-Id for the access log: up to 64 of [A-Za-z0-9._-], else "-".
std::string request_id(const httplib::Request& req) {
  std::string id = req.get_header_value("X-Request-Id");
  if (id.empty() || id.size() > 64) return "-";
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return "-";
  return id;
}

// The route label for metrics: ids and digests collapsed.
std::string route_label(const std::string& path) {
  if (path.rfind("/api/blobs/", 0) == 0) return "/api/blobs";
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models/{id}";
  if (path.size() > 64) return "other";
  return path;
}

}  // namespace

bool parse_host_port(std::string_view s, std::string* host, int* port) {
  int def_port = 11434;
  if (auto p = s.find("://"); p != std::string_view::npos) {
    const auto scheme = s.substr(0, p);
    if (scheme == "http") def_port = 80;
    else if (scheme == "https") def_port = 443;
    s.remove_prefix(p + 3);
  }
  if (auto p = s.find('/'); p != std::string_view::npos) s = s.substr(0, p);
  std::string h;
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {  // [::1]:port
    const auto close = s.find(']');
    if (close == std::string_view::npos) return false;
    h = std::string(s.substr(1, close - 1));
    if (close + 1 < s.size() && s[close + 1] == ':') port_text = s.substr(close + 2);
  } else if (auto c = s.rfind(':'); c != std::string_view::npos) {
    h = std::string(s.substr(0, c));
    port_text = s.substr(c + 1);
  } else {
    h = std::string(s);
  }
  int p = def_port;
  if (!port_text.empty()) {
    p = 0;
    for (char ch : port_text) {
      if (ch < '0' || ch > '9' || p > 65535) return false;
      p = p * 10 + (ch - '0');
    }
    if (p > 65535) return false;
  }
  *host = h.empty() ? "127.0.0.1" : h;
  *port = p;
  return true;
}

ServerConfig server_config_from_env() {
  ServerConfig c;
  const char* h = std::getenv("CORRAL_HOST");
  if (h == nullptr || *h == '\0') h = std::getenv("OLLAMA_HOST");
  if (h != nullptr && *h != '\0' && !parse_host_port(h, &c.host, &c.port))
    CORRAL_LOG_WARN("ignoring invalid host {}", h);
  if (const char* o = std::getenv("OLLAMA_ORIGINS")) {
    std::string_view s(o);
    while (!s.empty()) {
      const auto comma = s.find(',');
      std::string item(s.substr(0, comma));
      while (!item.empty() && item.front() == ' ') item.erase(item.begin());
      while (!item.empty() && item.back() == ' ') item.pop_back();
      if (!item.empty()) c.extra_origins.push_back(item);
      if (comma == std::string_view::npos) break;
      s.remove_prefix(comma + 1);
    }
  }
  if (const char* a = std::getenv("CORRAL_ACCESS_LOG")) c.access_log = std::string_view(a) == "1";
  if (const char* t = std::getenv("CORRAL_HTTP_THREADS"); t != nullptr && *t != '\0') {
    const int n = std::atoi(t);
    if (n >= 8 && n <= 4096) c.http_threads = n;
    else CORRAL_LOG_WARN("ignoring CORRAL_HTTP_THREADS={} (want 8 to 4096)", t);
  }
  if (const char* b = std::getenv("CORRAL_MAX_BODY_BYTES")) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(b, &end, 10);
    if (*end == '\0' && n > 0) c.max_json_body_bytes = static_cast<size_t>(n);
  }
  return c;
}

bool host_header_allowed(std::string_view host_header) {
  std::string h = lower(host_header);
  if (h.empty()) return true;
  if (h.front() == '[') {
    const auto close = h.find(']');
    h = close == std::string::npos ? h : h.substr(1, close - 1);
  } else if (auto c = h.rfind(':'); c != std::string::npos && h.find(':') == c) {
    h = h.substr(0, c);
  }
  if (h == "localhost" || h.ends_with(".localhost") || h.ends_with(".local") || h.ends_with(".internal"))
    return true;
  in_addr a4{};
  if (inet_pton(AF_INET, h.c_str(), &a4) == 1) {
    const uint32_t ip = ntohl(a4.s_addr);
    const uint32_t b0 = ip >> 24, b1 = (ip >> 16) & 0xff;
    return b0 == 127 || b0 == 10 || (b0 == 172 && b1 >= 16 && b1 < 32) || (b0 == 192 && b1 == 168) ||
           ip == 0 || (b0 == 169 && b1 == 254);
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, h.c_str(), &a6) == 1) {
    static const in6_addr any = IN6ADDR_ANY_INIT;
    return IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_LINKLOCAL(&a6) ||
           (a6.s6_addr[0] & 0xfe) == 0xfc || std::memcmp(&a6, &any, sizeof a6) == 0;
  }
  return false;
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& extra) {
  const std::string o = lower(origin);
  for (const char* scheme : {"http://", "https://"}) {
    for (const char* host : {"localhost", "127.0.0.1", "0.0.0.0"}) {
      const std::string base = std::string(scheme) + host;
      if (o == base || o.rfind(base + ":", 0) == 0) return true;
    }
  }
  for (const char* prefix : {"app://", "file://", "tauri://", "vscode-webview://", "vscode-file://"})
    if (o.rfind(prefix, 0) == 0) return true;
  for (const auto& e : extra) {
    if (e == "*") return true;
    if (!e.empty() && e.back() == '*') {
      if (origin.substr(0, e.size() - 1) == std::string_view(e).substr(0, e.size() - 1)) return true;
    } else if (origin == e) {
      return true;
    }
  }
  return false;
}

void send_json(httplib::Response& res, const api::OJson& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, api::OJson::error_handler_t::replace), "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, const HttpError& e) {
  res.status = e.status;
  res.set_content(api::error_body(e.message), "application/json; charset=utf-8");
}

void send_openai_error(httplib::Response& res, const HttpError& e) {
  res.status = e.status;
  const char* type = e.status == 404 ? "not_found_error"
                     : e.status < 500 ? "invalid_request_error"
                                      : "api_error";
  res.set_content(api::openai_error_body(e.message, type), "application/json; charset=utf-8");
}

std::function<bool(const std::string&)> model_filter(ServerState& st, const httplib::Request& req) {
  if (!st.access.enabled()) return nullptr;
  return [&st, auth = req.get_header_value("Authorization"), xkey = req.get_header_value("x-api-key")](
             const std::string& model) { return st.access.model_allowed(auth, xkey, model); };
}

std::optional<HttpError> model_forbidden(ServerState& st, const httplib::Request& req, const std::string& model) {
  if (st.access.model_allowed(req.get_header_value("Authorization"), req.get_header_value("x-api-key"), model))
    return std::nullopt;
  return HttpError{403, fmt::format("this API key may not use model {}", model)};
}

std::function<bool()> client_connected(const httplib::Request& req) {
  auto probe = std::make_shared<ConnectionProbe>(req.remote_addr, req.remote_port, req.local_port);
  return [probe] { return probe->connected(); };
}

std::string json_line(const api::OJson& j) {
  return j.dump(-1, ' ', false, api::OJson::error_handler_t::replace) + "\n";
}

// `curl -d` and many scripts send JSON labelled application/x-www-form-urlencoded. Ollama reads
// the body whatever the label; httplib parses such bodies as a form and answers 413 above 8 KiB
// (a limit compiled into Debian's shared library). No route takes a form, so the label is dropped
// before httplib reads the body. The request object is httplib's own, non-const one.
static void forget_form_content_type(const httplib::Request& req) {
  auto& headers = const_cast<httplib::Request&>(req).headers;
  const auto it = headers.find("Content-Type");
  if (it != headers.end() && it->second.rfind("application/x-www-form-urlencoded", 0) == 0) headers.erase(it);
}

HttpServer::HttpServer(std::shared_ptr<ServerState> state)
    : state_(std::move(state)), svr_(std::make_unique<httplib::Server>()) {
  auto& svr = *svr_;
  ServerState& st = *state_;
  const int threads = st.config.http_threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd_ = static_cast<int>(sock);
  });
  svr.set_payload_max_length(size_t{1} << 40);  // blobs stream to disk; JSON bodies are checked below
  svr.set_read_timeout(600, 0);
  svr.set_write_timeout(600, 0);
  svr.set_keep_alive_max_count(1000);
  const bool loopback = is_loopback_host(st.config.host);

  svr.set_pre_routing_handler([&st, loopback](const httplib::Request& req, httplib::Response& res) {
    forget_form_content_type(req);
    if (loopback && !host_header_allowed(req.get_header_value("Host"))) {
      send_error(res, {403, "host not allowed"});
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string origin = req.get_header_value("Origin");
    if (!origin.empty()) {
      if (!origin_allowed(origin, st.config.extra_origins)) {
        send_error(res, {403, "origin not allowed"});
        return httplib::Server::HandlerResponse::Handled;
      }
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
      res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS");
      res.set_header("Access-Control-Allow-Headers",
                     "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, "
                     "x-api-key, anthropic-version, anthropic-beta, anthropic-dangerous-direct-browser-access, "
                     "x-stainless-arch, x-stainless-async, x-stainless-custom-poll-interval, "
                     "x-stainless-helper-method, x-stainless-lang, x-stainless-os, "
                     "x-stainless-package-version, x-stainless-poll-helper, x-stainless-retry-count, "
                     "x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout");
    }
    if (req.method == "OPTIONS") {
      res.status = 204;
      return httplib::Server::HandlerResponse::Handled;
    }
    const ApiFlavor flavor = api_flavor(req.path);
    const AccessVerdict verdict = st.access.check(req.path, req.get_header_value("Authorization"),
                                                  req.get_header_value("x-api-key"), mono_ns());
    if (verdict.status != 0) {
      res.status = verdict.status;
      if (verdict.status == 401) res.set_header("WWW-Authenticate", "Bearer");
      if (verdict.retry_after_s > 0) res.set_header("Retry-After", std::to_string(verdict.retry_after_s));
      res.set_content(error_body_for(flavor, verdict.status, verdict.message, verdict.code),
                      "application/json; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }
    const bool probe_route = req.path == "/health" || req.path == "/ready" || req.path == "/metrics";
    if (st.lifecycle.draining() && !probe_route && !verdict.internal) {
      // New work goes elsewhere: a balancer retries a 503 on another server.
      res.status = 503;
      res.set_header("Retry-After", "1");
      res.set_header("Connection", "close");
      res.set_content(error_body_for(flavor, 503, "server is shutting down"), "application/json; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!probe_route) {
      st.lifecycle.request_started(&req);
      if (st.config.access_log) CORRAL_LOG_INFO("access begin {} {} {}", request_id(req), req.method, route_label(req.path));
    }
    if (req.path.rfind("/api/blobs/", 0) != 0 && req.has_header("Content-Length")) {
      const std::string len = req.get_header_value("Content-Length");
      const unsigned long long n = std::strtoull(len.c_str(), nullptr, 10);
      if (n > st.config.max_json_body_bytes) {
        send_error(res, {413, fmt::format("request body too large ({} bytes, limit {})", n,
                                          st.config.max_json_body_bytes)});
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.set_post_routing_handler([&st](const httplib::Request&, httplib::Response& res) {
    if (st.lifecycle.draining()) res.set_header("Connection", "close");
  });
  svr.set_logger([&st](const httplib::Request& req, const httplib::Response& res) {
    if (st.lifecycle.request_finished(&req) && st.config.access_log)
      CORRAL_LOG_INFO("access end {} {}", request_id(req), res.status);
    st.metrics.count_request(route_label(req.path), res.status);
    CORRAL_LOG_DEBUG("{} {} -> {}", req.method, req.path, res.status);
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    CORRAL_LOG_ERROR("handler exception: {}", what);
    send_error(res, {500, what});
  });

  auto running = [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Ollama is running", "text/plain; charset=utf-8");
  };
  svr.Get("/", running);
  // httplib answers HEAD with the GET handler minus the body.
  svr.Get("/api/version", [](const httplib::Request&, httplib::Response& res) {
    api::OJson j;
    j["version"] = kVersion;
    send_json(res, j);
  });
  svr.Get("/health", [&st](const httplib::Request&, httplib::Response& res) {
    api::OJson j;
    j["status"] = "ok";
    j["models_loaded"] = st.host.scheduler().n_loaded();
    j["queue_depth"] = st.host.scheduler().queue_depth();
    send_json(res, j);
  });
  // Readiness for a balancer or Kubernetes: 503 while CORRAL_PRELOAD models load and once
  // draining. /health stays liveness (the process answers).
  svr.Get("/ready", [&st](const httplib::Request&, httplib::Response& res) {
    const std::string why = st.lifecycle.not_ready_reason();
    api::OJson j;
    j["status"] = why.empty() ? "ready" : "not ready";
    if (!why.empty()) j["reason"] = why;
    j["in_flight"] = st.lifecycle.in_flight();
    send_json(res, j, why.empty() ? 200 : 503);
  });
  svr.Get("/metrics", [&st](const httplib::Request&, httplib::Response& res) {
    std::string text = st.metrics.render(st.host.scheduler()) + st.host.resilience().render() + st.access.render_metrics();
    text += fmt::format(
        "# HELP corral_requests_in_flight Requests being served (all routes but /health, /ready, /metrics).\n"
        "# TYPE corral_requests_in_flight gauge\ncorral_requests_in_flight {}\n"
        "# HELP corral_draining 1 once the server is draining (SIGTERM).\n"
        "# TYPE corral_draining gauge\ncorral_draining {}\n",
        st.lifecycle.in_flight(), st.lifecycle.draining() ? 1 : 0);
    res.set_content(text, "text/plain; version=0.0.4");
  });
  register_ollama_routes(svr, st);
  register_model_routes(svr, st);
  register_openai_routes(svr, st);
  register_anthropic_routes(svr, st);
  register_rerank_routes(svr, st);
  jobs_ = register_job_routes(svr, st);
  register_responses_routes(svr, st, job_store(*jobs_, nullptr));

  reaper_ = std::thread([this] {
    while (!stopping_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      state_->host.scheduler().expire_idle();
    }
  });
}

HttpServer::~HttpServer() {
  stop();
  stopping_ = true;
  if (reaper_.joinable()) reaper_.join();
  if (preloader_.joinable()) preloader_.join();
}

void HttpServer::start_preload() {
  auto names = preload_from_env();
  state_->lifecycle.set_preload(names);
  if (names.empty()) return;
  preloader_ = std::thread([this, names] {
    for (const auto& name : names) {
      if (stopping_.load()) return;
      auto ref = state_->host.resolve(name);
      if (!ref.ok()) {
        CORRAL_LOG_ERROR("CORRAL_PRELOAD: {}", ref.error.message);
        state_->lifecycle.mark_preloaded(name, false);
        continue;
      }
      // Kept loaded for good: a preloaded model is what this server is ready for.
      auto lease = state_->host.acquire(*ref, ref->params, std::optional<std::string>("-1"));
      if (!lease.ok()) {
        CORRAL_LOG_ERROR("CORRAL_PRELOAD: cannot load {}: {}", name, lease.error.message);
        state_->lifecycle.mark_preloaded(name, false);
        continue;
      }
      lease->release();
      CORRAL_LOG_INFO("preloaded {}", name);
      state_->lifecycle.mark_preloaded(name, true);
    }
  });
}

size_t HttpServer::drain(int64_t timeout_ms) {
  ServerState& st = *state_;
  st.lifecycle.begin_drain();
  if (jobs_) pause_job_workers(*jobs_);
  CORRAL_LOG_INFO("draining: {} requests in flight, up to {} ms", st.lifecycle.in_flight(), timeout_ms);
  const int64_t deadline = mono_ns() + std::min<int64_t>(timeout_ms, int64_t{1} << 40) * 1000000;
  size_t ended = 0;
  if (!st.lifecycle.wait_idle(deadline)) {
    // Jobs first: their calls are aborted and their leases given back unspent, so another
    // server runs them whole rather than this one recording a cut-short answer.
    if (jobs_) stop_job_workers(*jobs_);
    ended = st.lifecycle.shutdown_generations();
    CORRAL_LOG_WARN("drain deadline: ended {} generations (done_reason \"shutdown\"), {} requests still in flight",
                    ended, st.lifecycle.in_flight());
    // The ended generations send their last event within a decode step; give them time to.
    if (!st.lifecycle.wait_idle(mono_ns() + int64_t{5} * 1000000000))
      CORRAL_LOG_WARN("drain: {} requests still in flight, stopping anyway", st.lifecycle.in_flight());
  }
  if (jobs_) stop_job_workers(*jobs_);  // gives back the leases of jobs still running here
  CORRAL_LOG_INFO("drained");
  stop();
  return ended;
}

void HttpServer::reload() {
  if (auto s = state_->access.reload(); !s) CORRAL_LOG_ERROR("SIGHUP: keeping the API keys in force: {}", s.error().message);
  else CORRAL_LOG_INFO("SIGHUP: API keys reloaded ({} keys)", state_->access.n_keys());
  apply_log_level_file("SIGHUP");
}

void apply_log_level_file(const char* when) {
  if (const char* f = std::getenv("CORRAL_LOG_LEVEL_FILE"); f != nullptr && *f != '\0') {
    std::ifstream in(f);
    std::string word;
    in >> word;
    static const std::pair<const char*, LogLevel> kLevels[] = {
        {"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo}, {"warn", LogLevel::kWarn}, {"error", LogLevel::kError}};
    bool known = false;
    for (const auto& [name, level] : kLevels)
      if (word == name) {
        set_log_level(level);
        known = true;
      }
    if (known) CORRAL_LOG_WARN("{}: log level {}", when, word);
    else CORRAL_LOG_ERROR("{}: {} does not name a log level (debug, info, warn, error)", when, f);
  }
}

int HttpServer::bind() {
  auto& st = *state_;
  const int port = st.config.port == 0 ? svr_->bind_to_any_port(st.config.host.c_str())
                   : svr_->bind_to_port(st.config.host.c_str(), st.config.port) ? st.config.port
                                                                                : -1;
  // httplib listens with a backlog of 5: a burst of connections (a balancer after a restart)
  // would be refused. Listening again on the bound socket raises it.
  if (port > 0 && listen_fd_ >= 0) ::listen(listen_fd_, SOMAXCONN);
  if (port > 0) start_job_workers(*jobs_, st.config.host, port, st.access.internal_authorization());
  return port;
}

bool HttpServer::serve() { return svr_->listen_after_bind(); }

bool HttpServer::listen() {
  if (bind() < 0) return false;
  return serve();
}

void HttpServer::stop() {
  if (svr_) svr_->stop();
}

}  // namespace corral::server
