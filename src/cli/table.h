// Plain-text tables (`list`, `ps`) and the time parsing they need.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace corral::cli {

// Columns padded to their widest cell plus 4 spaces, as Ollama's tables are; the first row is the header.
void print_table(const std::vector<std::vector<std::string>>& rows);

// "2024-01-02T03:04:05.123Z" / "...+02:00" -> Unix seconds; 0 when it does not parse.
int64_t parse_rfc3339_s(const std::string& s);

// The one-line error when no server answers, saying what to do.
std::string no_server_message(const std::string& base);

}  // namespace corral::cli
