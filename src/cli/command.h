// Subcommand registry: each cmd_*.cpp registers itself with CORRAL_COMMAND, so adding a command
// never touches main.cpp.
#pragma once

#include <string>
#include <vector>

namespace corral::cli {

using CommandFn = int (*)(int argc, char** argv);  // argv[0] is the subcommand name

struct Command {
  const char* name;
  const char* summary;
  CommandFn fn;
};

std::vector<Command>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* summary, CommandFn fn) {
    command_registry().push_back({name, summary, fn});
  }
};

}  // namespace corral::cli

#define CORRAL_COMMAND(name, summary, fn) \
  static ::corral::cli::CommandRegistrar corral_registrar_##fn(name, summary, fn)
