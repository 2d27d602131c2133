// `corral list` (alias `ls`): the models in the store as NAME ID SIZE MODIFIED, newest first.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/client.h"
#include "cli/command.h"
#include "cli/remote_store.h"
#include "cli/table.h"
#include "store/model_info.h"
#include "store/store.h"

namespace corral::cli {
namespace {

int cmd_list(int argc, char** argv) {
  CLI::App app{"List models", "corral list"};
  app.footer("Example:\n  corral list\n\nThrough the server when one answers, else the store directly.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (const std::string base = server_base_url(); store_commands_use_server(base)) return remote_list(base);
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
                    human_bytes(m.size_bytes), time_ago(m.modified_unix_s)});
  }
  print_table(rows);
  return 0;
}

}  // namespace

CORRAL_COMMAND("list", "List models", cmd_list);
static CommandRegistrar corral_registrar_ls("ls", "List models (alias of list)", cmd_list);

}  // namespace corral::cli
