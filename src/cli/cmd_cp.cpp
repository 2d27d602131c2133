// `corral cp SOURCE DESTINATION`: copy a model's manifest (blobs are shared, not duplicated).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/client.h"
#include "cli/command.h"
#include "cli/remote_store.h"
#include "store/store.h"

namespace corral::cli {
namespace {

int cmd_cp(int argc, char** argv) {
  CLI::App app{"Copy a model", "corral cp"};
  std::string src, dst;
  app.add_option("source", src, "Existing model")->required();
  app.add_option("destination", dst, "New name")->required();
  app.footer("Example:\n  corral cp llama3.2 my-llama\n\nThrough the server when one answers, else the store directly.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (const std::string base = server_base_url(); store_commands_use_server(base)) return remote_copy(base, src, dst);
  auto from = ModelName::parse(src);
  auto to = ModelName::parse(dst);
  auto store = Store::open_default();
  Status st = !from ? Status(from.error()) : !to ? Status(to.error()) : !store ? Status(store.error())
                                                                       : store->copy(*from, *to);
  if (!st) {
    std::fprintf(stderr, "Error: %s\n", st.error().message.c_str());
    return 1;
  }
  std::printf("copied '%s' to '%s'\n", src.c_str(), dst.c_str());
  return 0;
}

}  // namespace

CORRAL_COMMAND("cp", "Copy a model", cmd_cp);

}  // namespace corral::cli
