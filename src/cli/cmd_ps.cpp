// `corral ps` (models loaded in the server, Ollama's columns) and `corral stop MODEL` (unload now).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/client.h"
#include "cli/command.h"
#include "cli/table.h"
#include "store/model_info.h"

namespace corral::cli {
namespace {

// "4 minutes from now", "Forever", "Stopping...", like Ollama's ps.
std::string until_text(const std::string& expires_at) {
  const int64_t t = parse_rfc3339_s(expires_at);
  if (t <= 0) return "";
  const int64_t d = t - static_cast<int64_t>(std::time(nullptr));
  if (d > 86400LL * 365 * 10) return "Forever";
  if (d <= 0) return "Stopping...";
  auto unit = [](int64_t n, const char* one, const char* many) {
    return n == 1 ? std::string(one) : fmt::format("{} {} from now", n, many);
  };
  if (d < 60) return unit(d, "1 second from now", "seconds");
  if (d < 3600) return unit(d / 60, "1 minute from now", "minutes");
  if (d < 86400) return unit(d / 3600, "1 hour from now", "hours");
  return unit(d / 86400, "1 day from now", "days");
}

std::string processor_text(int64_t size, int64_t size_vram) {
  if (size <= 0 || size_vram <= 0) return "100% CPU";
  if (size_vram >= size) return "100% GPU";
  const int64_t gpu = size_vram * 100 / size;
  return fmt::format("{}%/{}% CPU/GPU", 100 - gpu, gpu);
}

int cmd_ps(int argc, char** argv) {
  CLI::App app{"List running models", "corral ps"};
  app.footer("Example:\n  corral ps\n\nColumns: NAME ID SIZE PROCESSOR CONTEXT UNTIL (when the model unloads).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  const std::string base = server_base_url();
  if (!server_reachable(base)) return fail(no_server_message(base), kExitNoServer);
  auto j = get_json(base + "/api/ps");
  if (!j) return fail(j.error().message);
  std::vector<std::vector<std::string>> rows = {{"NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"}};
  for (const auto& m : j->value("models", api::Json::array())) {
    const int64_t size = m.value("size", int64_t{0});
    rows.push_back({m.value("name", ""), m.value("digest", "").substr(0, 12), human_bytes(size),
                    processor_text(size, m.value("size_vram", int64_t{0})),
                    std::to_string(m.value("context_length", int64_t{0})), until_text(m.value("expires_at", ""))});
  }
  print_table(rows);
  return 0;
}

int cmd_stop(int argc, char** argv) {
  CLI::App app{"Stop (unload) a running model", "corral stop"};
  app.footer("Example:\n  corral stop llama3.2");
  std::string model;
  app.add_option("model", model, "Model name")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  const std::string base = server_base_url();
  if (!server_reachable(base)) return fail(no_server_message(base), kExitNoServer);
  auto ps = get_json(base + "/api/ps");
  if (!ps) return fail(ps.error().message);
  bool loaded = false;
  const std::string with_tag = model.find(':') == std::string::npos ? model + ":latest" : model;
  for (const auto& m : ps->value("models", api::Json::array())) {
    const std::string n = m.value("name", "");
    loaded = loaded || n == model || n == with_tag;
  }
  if (!loaded) return fail(fmt::format("model \"{}\" is not running; \"corral ps\" lists the running models", model));
  auto r = post_json(base + "/api/generate", api::Json{{"model", model}, {"keep_alive", 0}});
  if (!r) return fail(r.error().message);
  return 0;
}

}  // namespace

CORRAL_COMMAND("ps", "List running models", cmd_ps);
CORRAL_COMMAND("stop", "Stop a running model", cmd_stop);

}  // namespace corral::cli
