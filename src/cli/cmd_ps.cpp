// `corral ps`: models loaded in the running server (GET /api/ps), Ollama's columns.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "api/http_client.h"
#include "api/types.h"
#include "cli/command.h"

namespace corral::cli {
namespace {

// CORRAL_HOST, else OLLAMA_HOST, else 127.0.0.1:11434, as a base URL.
std::string base_url() {
  const char* h = std::getenv("CORRAL_HOST");
  if (h == nullptr || *h == '\0') h = std::getenv("OLLAMA_HOST");
  std::string s = h != nullptr && *h != '\0' ? h : "127.0.0.1:11434";
  if (s.find("://") == std::string::npos) s = "http://" + s;
  const std::string rest = s.substr(s.find("://") + 3);
  if (rest.find(':') == std::string::npos) s += ":11434";
  return s;
}

int cmd_ps(int argc, char** argv) {
  CLI::App app{"List running models", "corral ps"};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto r = api::http_get(base_url() + "/api/ps");
  if (!r) {
    std::fprintf(stderr, "Error: could not connect to the server: %s\n", r.error().message.c_str());
    return 1;
  }
  auto j = api::Json::parse(r->body, nullptr, false);
  if (r->status != 200 || j.is_discarded() || !j.contains("models")) {
    std::fprintf(stderr, "Error: %s\n", r->body.c_str());
    return 1;
  }
  std::printf("%-30s %-14s %-10s %-10s %-8s %s\n", "NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL");
  for (const auto& m : j["models"]) {
    const std::string digest = m.value("digest", "");
    const double size_mb = static_cast<double>(m.value("size", int64_t{0})) / 1e6;
    std::printf("%-30s %-14s %-10s %-10s %-8lld %s\n", m.value("name", "").c_str(), digest.substr(0, 12).c_str(),
                fmt::format("{:.1f} MB", size_mb).c_str(), "100% CPU",
                static_cast<long long>(m.value("context_length", int64_t{0})), m.value("expires_at", "").c_str());
  }
  return 0;
}

int cmd_stop(int argc, char** argv) {
  CLI::App app{"Stop (unload) a running model", "corral stop"};
  std::string model;
  app.add_option("model", model, "Model name")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const std::string body = api::Json{{"model", model}, {"keep_alive", 0}}.dump();
  auto r = api::http_post_json(base_url() + "/api/generate", body);
  if (!r) {
    std::fprintf(stderr, "Error: could not connect to the server: %s\n", r.error().message.c_str());
    return 1;
  }
  if (r->status != 200) {
    auto j = api::Json::parse(r->body, nullptr, false);
    std::fprintf(stderr, "Error: %s\n", !j.is_discarded() && j.contains("error") ? j["error"].get<std::string>().c_str()
                                                                                   : r->body.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

CORRAL_COMMAND("ps", "List running models", cmd_ps);
CORRAL_COMMAND("stop", "Stop a running model", cmd_stop);

}  // namespace corral::cli
