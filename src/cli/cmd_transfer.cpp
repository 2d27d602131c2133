// `corral pull [--insecure] MODEL` and `corral push [--insecure] MODEL`: move a model between the
// store and its registry. One body for both: they differ only in the direction of the transfer.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "store/registry/progress_view.h"
#include "store/registry/registry_client.h"
#include "store/store.h"

namespace corral::cli {
namespace {

enum class Direction { kPull, kPush };

int transfer(Direction dir, int argc, char** argv) {
  const bool pull = dir == Direction::kPull;
  CLI::App app{pull ? "Pull a model from a registry" : "Push a model to a registry",
               pull ? "corral pull" : "corral push"};
  std::string model;
  bool insecure = false;
  app.add_option("model", model,
                 pull ? "Model name, e.g. llama3.2:3b or hf.co/user/repo:Q4_K_M"
                      : "Model name, e.g. registry.example.com/me/model:tag")
      ->required();
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
  auto on_progress = [&](const registry::Progress& p) { view.update(p); };
  Status st = pull ? client.pull(*name, on_progress) : client.push(*name, on_progress);
  view.finish();
  if (!st) {
    std::fprintf(stderr, "Error: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}

int cmd_pull(int argc, char** argv) { return transfer(Direction::kPull, argc, argv); }
int cmd_push(int argc, char** argv) { return transfer(Direction::kPush, argc, argv); }

}  // namespace

CORRAL_COMMAND("pull", "Pull a model from a registry", cmd_pull);
CORRAL_COMMAND("push", "Push a model to a registry", cmd_push);

}  // namespace corral::cli
