// Plain-text tables (`list`, `ps`) and the time parsing they need.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/term/format.h"

namespace corral::cli {

// Columns padded to their widest cell plus 4 spaces, as Ollama's tables are; the first row is the header.
void print_table(const std::vector<std::vector<std::string>>& rows);


// The one-line error when no server answers, saying what to do.
std::string no_server_message(const std::string& base);

}  // namespace corral::cli
