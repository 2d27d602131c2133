#include "cli/client.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

namespace corral::cli {

std::atomic<bool> g_interrupted{false};

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

void on_sigint(int) { g_interrupted.store(true); }

}  // namespace

std::string corral_home() {
  if (const char* h = env("CORRAL_HOME")) return h;
  const char* home = env("HOME");
  return std::string(home != nullptr ? home : ".") + "/.corral";
}

bool server_host_set() { return env("CORRAL_HOST") != nullptr || env("OLLAMA_HOST") != nullptr; }

std::string server_base_url() {
  const char* h = env("CORRAL_HOST");
  if (h == nullptr) h = env("OLLAMA_HOST");
  std::string s = h != nullptr ? h : "127.0.0.1:11434";
  if (s.find("://") == std::string::npos) s = "http://" + s;
  while (!s.empty() && s.back() == '/') s.pop_back();
  std::string rest = s.substr(s.find("://") + 3);
  // A bind-all address is reached on loopback.
  if (rest.rfind("0.0.0.0", 0) == 0) {
    s.replace(s.find("://") + 3, 7, "127.0.0.1");
    rest = s.substr(s.find("://") + 3);
  }
  if (rest.empty()) s += "127.0.0.1";
  if (rest.find(':') == std::string::npos || rest.back() == ']') s += ":11434";
  return s;
}

bool server_reachable(const std::string& base, double timeout_s) {
  api::HttpClientOptions o;
  o.connect_timeout_s = timeout_s;
  o.total_timeout_s = timeout_s;
  auto r = api::http_get(base + "/", o);
  return r.ok() && r->status == 200;
}

bool store_commands_use_server(const std::string& base) {
  if (!server_host_set() && (env("CORRAL_MODELS") != nullptr || env("OLLAMA_MODELS") != nullptr)) return false;
  return server_reachable(base, 1.0);
}

Result<std::string> ensure_server() {
  const std::string base = server_base_url();
  if (server_reachable(base)) return base;
  // Only a server on this machine can be started here.
  const std::string hostport = base.substr(base.find("://") + 3);
  const bool local = hostport.rfind("127.", 0) == 0 || hostport.rfind("localhost", 0) == 0 ||
                     hostport.rfind("[::1]", 0) == 0;
  if (!local) return make_error("could not connect to a corral server at {}; is it running?", hostport);
  const std::string logs = corral_home() + "/logs";
  std::error_code ec;
  std::filesystem::create_directories(logs, ec);
  if (ec) return make_error("cannot create {}: {}", logs, ec.message());
  const std::string log_path = logs + "/server.log";
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return make_error("cannot find the corral binary to start the server");
  exe[n] = '\0';
  const pid_t pid = ::fork();
  if (pid < 0) return make_error("cannot start the server: fork failed");
  if (pid == 0) {
    // Detached: a session of its own (Ctrl-C in this terminal does not reach it), no terminal.
    ::setsid();
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0) ::dup2(in, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
    ::signal(SIGINT, SIG_DFL);
    char arg0[] = "corral";
    char arg1[] = "serve";
    char* argv[] = {arg0, arg1, nullptr};
    ::execv(exe, argv);
    ::_exit(127);
  }
  if (FILE* f = std::fopen((logs + "/server.pid").c_str(), "w")) {
    std::fprintf(f, "%d\n", static_cast<int>(pid));
    std::fclose(f);
  }
  std::fprintf(stderr, "Started corral serve in the background on %s (pid %d, log %s)\n",
               base.substr(base.find("://") + 3).c_str(), static_cast<int>(pid), log_path.c_str());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (server_reachable(base, 0.5)) return base;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) break;  // it exited: the log says why
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return make_error("the server did not start; see {}", log_path);
}

std::string error_message(const api::HttpResult& r) {
  auto j = api::Json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    if (e.is_string()) return e.get<std::string>();
    if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
  }
  std::string body = r.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return body.empty() ? fmt::format("the server answered HTTP {}", r.status) : body;
}

namespace {

Result<api::Json> to_json(const Result<api::HttpResult>& r) {
  if (!r) return r.error();
  if (r->status >= 400) return make_error("{}", error_message(*r));
  if (r->body.empty()) return api::Json::object();
  auto j = api::Json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return make_error("the server sent a malformed answer");
  return j;
}

}  // namespace

Result<api::Json> get_json(const std::string& url) { return to_json(api::http_get(url)); }

Result<api::Json> post_json(const std::string& url, const api::Json& body) {
  return to_json(api::http_post_json(url, body.dump()));
}

InterruptScope::InterruptScope() {
  g_interrupted.store(false);
  struct ::sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_);
}

InterruptScope::~InterruptScope() { ::sigaction(SIGINT, &old_, nullptr); }

int fail(const std::string& msg, int code) {
  std::fprintf(stderr, "Error: %s\n", msg.c_str());
  return code;
}

}  // namespace corral::cli
