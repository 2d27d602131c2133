// `corral serve`: Ollama's HTTP API and the OpenAI API on CORRAL_HOST / OLLAMA_HOST
// (default 127.0.0.1:11434), models from the store (CORRAL_MODELS / OLLAMA_MODELS).
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "base/log.h"
#include "cli/command.h"
#include "server/server.h"

namespace corral::cli {
namespace {

server::HttpServer* g_server = nullptr;

void on_signal(int) {
  if (g_server != nullptr) g_server->stop();
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
      "  OLLAMA_ORIGINS                 extra CORS origins\n"
      "  CORRAL_PORT_FILE               write the bound port here once listening\n"
      "\nExamples:\n"
      "  corral serve\n"
      "  CORRAL_HOST=0.0.0.0:8080 corral serve\n"
      "\n`corral run` starts one in the background when none answers (log: ~/.corral/logs/server.log).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::unique_ptr<Store> store;
  auto opened = Store::open_default();
  if (opened) store = std::make_unique<Store>(std::move(*opened));
  else CORRAL_LOG_WARN("no model store: {}", opened.error().message);
  auto cfg = server::server_config_from_env();
  auto state = std::make_shared<server::ServerState>(std::move(store), scheduler_config_from_env(), cfg);
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
  g_server = &srv;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  const bool ok = srv.serve();
  g_server = nullptr;
  return ok ? 0 : 1;
}

}  // namespace

CORRAL_COMMAND("serve", "Start the API server (Ollama and OpenAI compatible)", cmd_serve);

}  // namespace corral::cli
