// `corral pull [--insecure] MODEL`: download a model from its registry into the store.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "store/registry/progress_view.h"
#include "store/registry/registry_client.h"
#include "store/store.h"

namespace corral::cli {
namespace {

int cmd_pull(int argc, char** argv) {
  CLI::App app{"Pull a model from a registry", "corral pull"};
  std::string model;
  bool insecure = false;
  app.add_option("model", model, "Model name, e.g. llama3.2:3b or hf.co/user/repo:Q4_K_M")->required();
  app.add_flag("--insecure", insecure, "Use plain HTTP (allows http:// registries)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto name = ModelName::parse(model);
  if (!name) {
    std::fprintf(stderr, "Error: %s\n", name.error().message.c_str());
    return 1;
  }
  auto store = Store::open_default();
  if (!store) {
    std::fprintf(stderr, "Error: %s\n", store.error().message.c_str());
    return 1;
  }
  registry::Options opts;
  opts.insecure = insecure;
  registry::Client client(*store, opts);
  registry::ProgressView view(stdout, ::isatty(STDOUT_FILENO) != 0);
  Status st = client.pull(*name, [&](const registry::Progress& p) { view.update(p); });
  view.finish();
  if (!st) {
    std::fprintf(stderr, "Error: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

CORRAL_COMMAND("pull", "Pull a model from a registry", cmd_pull);

}  // namespace corral::cli
