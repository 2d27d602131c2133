// `corral pull [--insecure] MODEL` and `corral push [--insecure] MODEL`: move a model between the
// store and its registry. One body for both: they differ only in the direction of the transfer.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/chat.h"
#include "cli/client.h"
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
  app.footer(pull ? "Examples:\n  corral pull llama3.2\n  corral pull hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M\n\n"
                    "Through the server when one answers, else the store directly."
                  : "Example:\n  corral push registry.example.com/me/mymodel:latest\n\n"
                    "Through the server when one answers, else the store directly.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  auto name = ModelName::parse(model);
  if (!name) {
    std::fprintf(stderr, "Error: %s\n", name.error().message.c_str());
    return 1;
  }
  if (const std::string base = server_base_url(); store_commands_use_server(base)) {
    Status st = transfer_via_server(base, model, pull, insecure);
    return st.ok() ? kExitOk : fail(st.error().message);
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
