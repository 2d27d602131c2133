// `corral list` (alias `ls`): the models in the store as NAME ID SIZE MODIFIED, newest first.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/command.h"
#include "store/model_info.h"
#include "store/store.h"

namespace corral::cli {
namespace {

// "2 minutes ago", like Ollama's format.HumanTime.
std::string ago(int64_t then_s) {
  const int64_t d = std::max<int64_t>(0, static_cast<int64_t>(std::time(nullptr)) - then_s);
  auto unit = [](int64_t n, const char* one, const char* many) {
    return n == 1 ? std::string(one) : fmt::format("{} {} ago", n, many);
  };
  if (d < 1) return "Less than a second ago";
  if (d < 60) return unit(d, "1 second ago", "seconds");
  if (d < 120) return "About a minute ago";
  if (d < 3600) return unit(d / 60, "1 minute ago", "minutes");
  if (d < 7200) return "About an hour ago";
  if (d < 86400 * 2) return unit(d / 3600, "1 hour ago", "hours");
  if (d < 86400 * 7 * 2) return unit(d / 86400, "1 day ago", "days");
  if (d < 86400 * 30 * 3) return unit(d / (86400 * 7), "1 week ago", "weeks");
  if (d < 86400 * 365 * 2) return unit(d / (86400 * 30), "1 month ago", "months");
  return unit(d / (86400 * 365), "1 year ago", "years");
}

int cmd_list(int argc, char** argv) {
  CLI::App app{"List models", "corral list"};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto store = Store::open_default();
  if (!store) {
    std::fprintf(stderr, "Error: %s\n", store.error().message.c_str());
    return 1;
  }
  auto models = store->list();
  if (!models) {
    std::fprintf(stderr, "Error: %s\n", models.error().message.c_str());
    return 1;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "ID", "SIZE", "MODIFIED"}};
  for (const auto& m : *models) {
    rows.push_back({m.name.display_shortest(), m.manifest_digest.substr(7, 12),
                    human_bytes(m.size_bytes), ago(m.modified_unix_s)});
  }
  std::vector<size_t> width(4, 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < 4; ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < 4; ++i) {
      line += r[i];
      if (i < 3) line += std::string(width[i] - r[i].size() + 4, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace

CORRAL_COMMAND("list", "List models", cmd_list);
static CommandRegistrar corral_registrar_ls("ls", "List models (alias of list)", cmd_list);

}  // namespace corral::cli
