// `corral rm MODEL...`: delete models, then garbage-collect blobs nothing references.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <vector>

#include "cli/client.h"
#include "cli/command.h"
#include "cli/remote_store.h"
#include "store/store.h"

namespace corral::cli {
namespace {

int cmd_rm(int argc, char** argv) {
  CLI::App app{"Remove a model", "corral rm"};
  std::vector<std::string> models;
  app.add_option("model", models, "Model name(s)")->required();
  app.footer("Example:\n  corral rm my-llama old-model\n\nThrough the server when one answers, else the store directly.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (const std::string base = server_base_url(); store_commands_use_server(base)) return remote_remove(base, models);
  auto store = Store::open_default();
  if (!store) {
    std::fprintf(stderr, "Error: %s\n", store.error().message.c_str());
    return 1;
  }
  int rc = 0;
  for (const auto& m : models) {
    auto name = ModelName::parse(m);
    Status st = name ? store->remove(*name) : Status(name.error());
    if (!st) {
      std::fprintf(stderr, "Error: %s\n", st.error().message.c_str());
      rc = 1;
      continue;
    }
    std::printf("deleted '%s'\n", m.c_str());
  }
  return rc;
}

}  // namespace

CORRAL_COMMAND("rm", "Remove a model", cmd_rm);

}  // namespace corral::cli
