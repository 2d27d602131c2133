// `corral serve`: Ollama's HTTP API and the OpenAI API on CORRAL_HOST / OLLAMA_HOST
// (default 127.0.0.1:11434), models from the store (CORRAL_MODELS / OLLAMA_MODELS).
// Signals are taken by one thread (sigwait): SIGTERM or SIGINT drains the server (a second one
// ends what is left at once), SIGHUP reloads the API keys and the log level.
#include <CLI/CLI.hpp>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "base/log.h"
#include "cli/command.h"
#include "server/server.h"

namespace corral::cli {
namespace {

// Waits for signals until the server has stopped; drains on the first SIGTERM/SIGINT.
void signal_loop(server::HttpServer* srv, server::ServerState* state, const sigset_t* set,
                 std::atomic<bool>* done, std::thread* drainer) {
  int n_term = 0;
  for (;;) {
    int sig = 0;
    if (sigwait(set, &sig) != 0 || done->load()) return;
    if (sig == SIGHUP) {
      srv->reload();
    } else if (++n_term == 1) {
      const int64_t timeout_ms = server::drain_timeout_ms_from_env();
      *drainer = std::thread([srv, timeout_ms, done] {
        srv->drain(timeout_ms);
        // Nothing is in flight any more, but idle keep-alive connections would hold the HTTP
        // threads (and the exit) for up to their 5 s timeout: leave without waiting for them.
        for (int i = 0; i < 50 && !done->load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!done->load()) {
          CORRAL_LOG_INFO("exiting with idle connections open");
          std::fflush(nullptr);
          std::_Exit(0);
        }
      });
    } else {
      CORRAL_LOG_WARN("second stop signal: ending every generation now");
      state->lifecycle.shutdown_generations();
      srv->stop();
    }
  }
}

int cmd_serve(int argc, char** argv) {
  CLI::App app{"Start the API server (Ollama and OpenAI compatible)", "corral serve"};
  app.footer(
      "Environment:\n"
      "  CORRAL_HOST / OLLAMA_HOST      bind address (default 127.0.0.1:11434; port 0 = any free port)\n"
      "  CORRAL_MODELS / OLLAMA_MODELS  model store\n"
      "  CORRAL_MODEL_PATHS             extra models by GGUF path: name=/path/model.gguf,...\n"
      "  OLLAMA_KEEP_ALIVE              how long a model stays loaded (default 5m; <0 forever)\n"
      "  OLLAMA_MAX_LOADED_MODELS       models loaded at once (default 3)\n"
      "  OLLAMA_NUM_PARALLEL            slots per model (default 1)\n"
      "  OLLAMA_MAX_QUEUE               waiting requests before 503 (default 512)\n"
      "  OLLAMA_CONTEXT_LENGTH          default num_ctx (4096)\n"
      "  OLLAMA_KV_CACHE_TYPE           KV cache type: f16 (default), q8_0 (about half the memory), q4_0\n"
      "  OLLAMA_ORIGINS                 extra CORS origins\n"
      "  CORRAL_PORT_FILE               write the bound port here once listening\n"
      "  CORRAL_API_KEYS_FILE           require API keys (one per line: KEY [models=a,b] [rate=60/m] [name=x])\n"
      "  CORRAL_PRELOAD                 models to load at start; /ready answers 503 until they are\n"
      "  CORRAL_DRAIN_TIMEOUT           on SIGTERM, how long in-flight requests may finish (default 30s)\n"
      "  CORRAL_LOG_LEVEL_FILE          log level (debug|info|warn|error) read again on SIGHUP\n"
      "  CORRAL_ACCESS_LOG=1            log each request's begin and end (with its X-Request-Id)\n"
      "  CORRAL_HTTP_THREADS            HTTP threads (default 192; each streaming client holds one)\n"
      "\nExamples:\n"
      "  corral serve\n"
      "  CORRAL_HOST=0.0.0.0:8080 corral serve\n"
      "\n`corral run` starts one in the background when none answers (log: ~/.corral/logs/server.log).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Every thread the server starts inherits this mask, so only the signal thread sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Store> store;
  auto opened = Store::open_default();
  if (opened) store = std::make_unique<Store>(std::move(*opened));
  else CORRAL_LOG_WARN("no model store: {}", opened.error().message);
  server::apply_log_level_file("start");
  auto cfg = server::server_config_from_env();
  auto state = std::make_shared<server::ServerState>(std::move(store), scheduler_config_from_env(), cfg);
  if (const char* keys = std::getenv("CORRAL_API_KEYS_FILE"); keys != nullptr && *keys != '\0') {
    if (auto s = state->access.load(keys); !s) {
      std::fprintf(stderr, "Error: %s\n", s.error().message.c_str());
      return 1;
    }
    CORRAL_LOG_INFO("API keys required ({} keys)", state->access.n_keys());
  }
  server::HttpServer srv(state);
  const int port = srv.bind();
  if (port < 0) {
    std::fprintf(stderr, "Error: listen tcp %s:%d: cannot bind\n", cfg.host.c_str(), cfg.port);
    return 1;
  }
  CORRAL_LOG_INFO("Listening on {}:{} (version {})", cfg.host, port, server::kVersion);
  if (const char* pf = std::getenv("CORRAL_PORT_FILE")) {
    if (FILE* f = std::fopen(pf, "w")) {
      std::fprintf(f, "%d\n", port);
      std::fclose(f);
    }
  }
  srv.start_preload();
  std::atomic<bool> done{false};
  std::thread drainer;
  std::thread signals(signal_loop, &srv, state.get(), &sigs, &done, &drainer);
  const bool ok = srv.serve();
  done = true;
  pthread_kill(signals.native_handle(), SIGHUP);  // wakes sigwait; `done` makes it return
  signals.join();
  if (drainer.joinable()) drainer.join();
  return ok ? 0 : 1;
}

}  // namespace

CORRAL_COMMAND("serve", "Start the API server (Ollama and OpenAI compatible)", cmd_serve);

}  // namespace corral::cli
