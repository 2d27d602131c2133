// `corral push [--insecure] MODEL`: upload a model from the store to its registry.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "store/registry/progress_view.h"
#include "store/registry/registry_client.h"
#include "store/store.h"

namespace corral::cli {
namespace {

int cmd_push(int argc, char** argv) {
  CLI::App app{"Push a model to a registry", "corral push"};
  std::string model;
  bool insecure = false;
  app.add_option("model", model, "Model name, e.g. registry.example.com/me/model:tag")->required();
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
  Status st = client.push(*name, [&](const registry::Progress& p) { view.update(p); });
  view.finish();
  if (!st) {
    std::fprintf(stderr, "Error: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

CORRAL_COMMAND("push", "Push a model to a registry", cmd_push);

}  // namespace corral::cli
