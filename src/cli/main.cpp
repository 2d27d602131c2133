// corral: entry point; dispatches to the registered subcommands and prints the top-level help.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/client.h"
#include "cli/command.h"

namespace corral::cli {

std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}

namespace {

const Command* find_command(const char* name) {
  for (const auto& c : command_registry()) {
    if (std::strcmp(c.name, name) == 0) return &c;
  }
  return nullptr;
}

void print_usage() {
  auto commands = command_registry();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return std::strcmp(a.name, b.name) < 0; });
  std::printf("Large language models, run locally (Ollama compatible).\n\n"
              "Usage:\n  corral [flags]\n  corral [command]\n\nAvailable Commands:\n");
  for (const auto& c : commands) std::printf("  %-12s %s\n", c.name, c.summary);
  std::printf(
      "  %-12s %s\n"
      "\nFlags:\n  -h, --help      help for corral\n  -v, --version   Show version information\n"
      "\nExamples:\n"
      "  corral run llama3.2                 chat with a model (pulled first if missing)\n"
      "  corral run llama3.2 \"Hello\"         one answer, then exit\n"
      "  echo \"Hello\" | corral run llama3.2  the prompt from stdin\n"
      "  corral serve                        start the API server on 127.0.0.1:11434\n"
      "  corral list                         models in the store\n"
      "  corral ps                           models loaded in the server\n"
      "\nEnvironment:\n"
      "  CORRAL_HOST / OLLAMA_HOST      server address (default 127.0.0.1:11434)\n"
      "  CORRAL_MODELS / OLLAMA_MODELS  model store (default ~/.corral/models)\n"
      "  CORRAL_HOME                    history and logs (default ~/.corral)\n"
      "\nExit codes:\n"
      "  0    success\n"
      "  1    the command failed (the message says why and what to do)\n"
      "  2    bad command line (unknown command, flag or missing argument)\n"
      "  3    no server reachable and none could be started\n"
      "  130  interrupted with Ctrl-C\n"
      "\nUse \"corral [command] --help\" for more information about a command.\n",
      "help", "Help about any command");
}

int print_version() {
  std::printf("corral version is %s\n", CORRAL_VERSION);
  const std::string base = server_base_url();
  if (server_reachable(base, 0.5)) {
    if (auto j = get_json(base + "/api/version"); j.ok() && j->contains("version") && (*j)["version"].is_string()) {
      std::printf("server at %s reports API version %s\n", base.substr(base.find("://") + 3).c_str(),
                  (*j)["version"].get<std::string>().c_str());
    }
  }
  return 0;
}

}  // namespace
}  // namespace corral::cli

int main(int argc, char** argv) {
  using namespace corral::cli;
  if (argc < 2) {
    print_usage();
    return kExitUsage;
  }
  const char* first = argv[1];
  if (std::strcmp(first, "-h") == 0 || std::strcmp(first, "--help") == 0) {
    print_usage();
    return kExitOk;
  }
  if (std::strcmp(first, "help") == 0) {
    if (argc < 3) {
      print_usage();
      return kExitOk;
    }
    const Command* c = find_command(argv[2]);
    if (c == nullptr) {
      std::fprintf(stderr, "Error: unknown command \"%s\"; \"corral help\" lists the commands\n", argv[2]);
      return kExitUsage;
    }
    char help[] = "--help";
    char* args[] = {argv[2], help, nullptr};
    return c->fn(2, args);
  }
  if (std::strcmp(first, "-v") == 0 || std::strcmp(first, "--version") == 0) return print_version();
  if (const Command* c = find_command(first)) return c->fn(argc - 1, argv + 1);
  std::fprintf(stderr, "Error: unknown command \"%s\" for \"corral\"; \"corral help\" lists the commands\n", first);
  return kExitUsage;
}
