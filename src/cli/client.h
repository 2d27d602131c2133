// The CLI as a client of corral's HTTP API: where the server is (CORRAL_HOST / OLLAMA_HOST),
// whether it answers, starting one in the background when it does not, and turning error bodies
// into one-line messages.
#pragma once

#include <signal.h>

#include <atomic>
#include <string>

#include "api/http_client.h"
#include "api/types.h"
#include "base/result.h"

namespace corral::cli {

// Exit codes of every command (documented in `corral help` and docs/cli.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,        // the request failed (model not found, bad Modelfile, server error, ...)
  kExitUsage = 2,        // bad flags or arguments
  kExitNoServer = 3,     // no server reachable (and none could be started)
  kExitInterrupted = 130 // Ctrl-C
};

// ~/.corral, or $CORRAL_HOME: history, logs/server.log.
std::string corral_home();
// "http://127.0.0.1:11434" from CORRAL_HOST, else OLLAMA_HOST, else the default.
std::string server_base_url();
// True when the user chose a host (CORRAL_HOST or OLLAMA_HOST is set).
bool server_host_set();
// True when GET / answers within `timeout_s`.
bool server_reachable(const std::string& base, double timeout_s = 2.0);

// Store commands use the server when one answers. An explicit CORRAL_MODELS/OLLAMA_MODELS without
// an explicit host means "this store", so they work on it directly even if some server is up.
bool store_commands_use_server(const std::string& base);

// Makes sure a server answers at server_base_url(): when none does, starts `corral serve` detached
// (its own session, output to <home>/logs/server.log, pid in <home>/logs/server.pid), says so in
// one line on stderr and waits for it. Returns the base URL.
Result<std::string> ensure_server();

// "model \"x\" not found" etc. from an error response ({"error": "..."}), else the raw body.
std::string error_message(const api::HttpResult& r);

// One request, error folded in: a transport failure or HTTP status >= 400 becomes an error.
Result<api::Json> get_json(const std::string& url);
Result<api::Json> post_json(const std::string& url, const api::Json& body);

// Set by the SIGINT handler while a request runs (installed by `InterruptScope`).
extern std::atomic<bool> g_interrupted;

// While alive, Ctrl-C sets g_interrupted instead of killing the process.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  struct ::sigaction old_ {};
};

// Prints "Error: <msg>" on stderr and returns `code`.
int fail(const std::string& msg, int code = kExitError);

}  // namespace corral::cli
