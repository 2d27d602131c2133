// The HTTP server: configuration from the environment, Host-header and CORS checks, body
// limits, liveness/health/metrics routes, and the keep_alive reaper.
#include "server/server.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <cstdlib>
#include <cstring>

#include "base/log.h"
#include "server/connection_probe.h"

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

std::function<bool()> client_connected(const httplib::Request& req) {
  auto probe = std::make_shared<ConnectionProbe>(req.remote_addr, req.remote_port, req.local_port);
  return [probe] { return probe->connected(); };
}

std::string json_line(const api::OJson& j) {
  return j.dump(-1, ' ', false, api::OJson::error_handler_t::replace) + "\n";
}

HttpServer::HttpServer(std::shared_ptr<ServerState> state)
    : state_(std::move(state)), svr_(std::make_unique<httplib::Server>()) {
  auto& svr = *svr_;
  ServerState& st = *state_;
  const int threads = st.config.http_threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_payload_max_length(size_t{1} << 40);  // blobs stream to disk; JSON bodies are checked below
  svr.set_read_timeout(600, 0);
  svr.set_write_timeout(600, 0);
  svr.set_keep_alive_max_count(1000);
  const bool loopback = is_loopback_host(st.config.host);

  svr.set_pre_routing_handler([&st, loopback](const httplib::Request& req, httplib::Response& res) {
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
  svr.set_logger([&st](const httplib::Request& req, const httplib::Response& res) {
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
  svr.Get("/metrics", [&st](const httplib::Request&, httplib::Response& res) {
    res.set_content(st.metrics.render(st.host.scheduler()) + st.host.resilience().render(), "text/plain; version=0.0.4");
  });
  register_ollama_routes(svr, st);
  register_model_routes(svr, st);
  register_openai_routes(svr, st);
  register_anthropic_routes(svr, st);
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
}

int HttpServer::bind() {
  auto& st = *state_;
  const int port = st.config.port == 0 ? svr_->bind_to_any_port(st.config.host.c_str())
                   : svr_->bind_to_port(st.config.host.c_str(), st.config.port) ? st.config.port
                                                                                : -1;
  if (port > 0) start_job_workers(*jobs_, st.config.host, port);
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
