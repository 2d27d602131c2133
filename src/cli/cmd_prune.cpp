// `corral prune`: delete blobs that no manifest references (never one a model still uses).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "store/model_info.h"
#include "store/store.h"

namespace corral::cli {
namespace {

int cmd_prune(int argc, char** argv) {
  CLI::App app{"Remove unreferenced blobs from the store", "corral prune"};
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
  auto stats = store->prune();
  if (!stats) {
    std::fprintf(stderr, "Error: %s\n", stats.error().message.c_str());
    return 1;
  }
  std::printf("removed %d unused blob(s), %s\n", stats->n_removed,
              human_bytes(stats->bytes_removed).c_str());
  return 0;
}

}  // namespace

CORRAL_COMMAND("prune", "Remove unreferenced blobs from the store", cmd_prune);

}  // namespace corral::cli
