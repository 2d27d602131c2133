// `corral create MODEL [-f Modelfile]`: build a model from a Modelfile into the store.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "base/file_util.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/remote_store.h"
#include "store/modelfile.h"
#include "store/store.h"

namespace corral::cli {
namespace {

int cmd_create(int argc, char** argv) {
  CLI::App app{"Create a model from a Modelfile", "corral create"};
  std::string model, file = "Modelfile";
  app.add_option("model", model, "Name of the new model")->required();
  app.add_option("-f,--file", file, "Modelfile path (default: Modelfile)");
  app.footer("Examples:\n  corral create mymodel -f ./Modelfile\n\n  Modelfile:\n    FROM ./model.gguf\n"
             "    PARAMETER temperature 0.7\n    SYSTEM You are terse.\n\n"
             "Through the server when one answers (the GGUF is uploaded as a blob), else the store\n"
             "directly (the GGUF is hard-linked when it can be).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  auto name = ModelName::parse(model);
  if (!name) return fail(name.error().message);
  auto text = read_file(file);
  if (!text) return fail(text.error().message);
  auto mf = Modelfile::parse(*text);
  if (!mf) return fail(file + ": " + mf.error().message);
  for (const auto& w : mf->warnings) std::fprintf(stderr, "Warning: %s: %s\n", file.c_str(), w.c_str());
  const std::string base_dir = std::filesystem::path(file).parent_path().string();
  if (const std::string base = server_base_url(); store_commands_use_server(base))
    return remote_create(base, model, *mf, base_dir);
  auto store = Store::open_default();
  if (!store) return fail(store.error().message);
  Status st = create_model(*store, *name, *mf, base_dir,
                           [](const std::string& s) { std::printf("%s\n", s.c_str()); });
  if (!st) return fail(st.error().message);
  return 0;
}

}  // namespace

CORRAL_COMMAND("create", "Create a model from a Modelfile", cmd_create);

}  // namespace corral::cli
