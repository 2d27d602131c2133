// `corral run MODEL` with no prompt: the interactive session (Ollama's REPL): line editing and
// history, """ multi-line input, /set, /show, /load, /save, /clear, /bye, /? help.
#pragma once

#include <string>

#include "cli/chat.h"

namespace corral::cli {

// Returns the process exit code.
int run_interactive(const std::string& base, Session session);

}  // namespace corral::cli
