// corral: entry point; dispatches to the registered subcommands.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/command.h"

namespace corral::cli {

std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}

namespace {

void print_usage() {
  auto commands = command_registry();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return std::strcmp(a.name, b.name) < 0; });
  std::printf("Usage:\n  corral [command]\n\nAvailable Commands:\n");
  for (const auto& c : commands) std::printf("  %-12s %s\n", c.name, c.summary);
  std::printf("\nFlags:\n  -h, --help      help for corral\n  -v, --version   Show version information\n");
}

}  // namespace
}  // namespace corral::cli

int main(int argc, char** argv) {
  using namespace corral::cli;
  if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    print_usage();
    return argc < 2 ? 1 : 0;
  }
  if (std::strcmp(argv[1], "-v") == 0 || std::strcmp(argv[1], "--version") == 0) {
    std::printf("corral version is %s\n", CORRAL_VERSION);
    return 0;
  }
  for (const auto& c : command_registry()) {
    if (std::strcmp(c.name, argv[1]) == 0) return c.fn(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "Error: unknown command \"%s\" for \"corral\"\nRun 'corral --help' for usage.\n", argv[1]);
  return 1;
}
