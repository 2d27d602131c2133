// `corral show MODEL [--modelfile|--template|--parameters|--license|--system]`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <sstream>

#include "cli/client.h"
#include "cli/command.h"
#include "cli/remote_store.h"
#include "store/model_info.h"
#include "store/modelfile.h"
#include "store/store.h"

namespace corral::cli {
namespace {

int cmd_show(int argc, char** argv) {
  CLI::App app{"Show information for a model", "corral show"};
  std::string model;
  bool modelfile = false, tmpl = false, params = false, license = false, system = false;
  app.add_option("model", model, "Model name")->required();
  app.add_flag("--modelfile", modelfile, "Show the Modelfile of the model");
  app.add_flag("--template", tmpl, "Show the template of the model");
  app.add_flag("--parameters", params, "Show the parameters of the model");
  app.add_flag("--license", license, "Show the license of the model");
  app.add_flag("--system", system, "Show the system message of the model");
  app.footer("Examples:\n  corral show llama3.2\n  corral show llama3.2 --modelfile\n\n"
             "Through the server when one answers, else the store directly.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (int(modelfile) + int(tmpl) + int(params) + int(license) + int(system) > 1) {
    std::fprintf(stderr, "Error: only one of --modelfile, --template, --parameters, --license, --system\n");
    return 1;
  }
  if (const std::string base = server_base_url(); store_commands_use_server(base)) {
    const char* which = modelfile ? "modelfile" : tmpl ? "template" : params ? "parameters" : license ? "license"
                        : system ? "system" : "";
    return remote_show(base, model, which);
  }
  auto store = Store::open_default();
  if (!store) {
    std::fprintf(stderr, "Error: %s\n", store.error().message.c_str());
    return 1;
  }
  auto r = store->resolve_model(model);
  if (!r) return fail(r.error().message.find("not found") != std::string::npos ? not_found_message(model)
                                                                              : r.error().message);
  std::string licenses;
  for (const auto& l : r->licenses) licenses += l + (l.empty() || l.back() != '\n' ? "\n" : "");
  if (modelfile) {
    std::printf("%s", modelfile_text(*r).c_str());
    return 0;
  }
  if (tmpl) return std::printf("%s\n", r->template_text.c_str()) < 0;
  if (system) return std::printf("%s\n", r->system.c_str()) < 0;
  if (license) return std::printf("%s", licenses.c_str()) < 0;
  if (params) return std::printf("%s", parameters_text(r->params_json).c_str()) < 0;
  auto info = summarize_gguf(r->model_path);
  if (!info) {
    std::fprintf(stderr, "Error: %s\n", info.error().message.c_str());
    return 1;
  }
  std::string m;
  m += fmt::format("{:<20}{}\n", "architecture", info->architecture);
  m += fmt::format("{:<20}{}\n", "parameters", info->parameter_size);
  if (info->context_length) m += fmt::format("{:<20}{}\n", "context length", info->context_length);
  if (info->embedding_length) m += fmt::format("{:<20}{}\n", "embedding length", info->embedding_length);
  m += fmt::format("{:<20}{}\n", "quantization", info->quantization);
  print_section("Model", m);
  if (!r->projector_paths.empty()) {
    auto p = summarize_gguf(r->projector_paths[0]);
    if (p) print_section("Projector", fmt::format("{:<20}{}\n{:<20}{}\n", "architecture", p->architecture,
                                           "parameters", p->parameter_size));
  }
  const std::string ptext = parameters_text(r->params_json);
  if (!ptext.empty()) print_section("Parameters", ptext);
  if (r->has_system && !r->system.empty()) print_section("System", r->system);
  if (!licenses.empty()) {
    // Like Ollama, only the head of a long license.
    std::istringstream in(licenses);
    std::string line, head;
    for (int i = 0; i < 2 && std::getline(in, line); ++i) head += line + "\n";
    print_section("License", head);
  }
  return 0;
}

}  // namespace

CORRAL_COMMAND("show", "Show information for a model", cmd_show);

}  // namespace corral::cli
