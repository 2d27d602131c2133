#include "cli/table.h"

#include <cstdio>

#include <fmt/format.h>

namespace corral::cli {

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 4, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

std::string no_server_message(const std::string& base) {
  return fmt::format("could not connect to a corral server at {}; start one with \"corral serve\" "
                     "(or set CORRAL_HOST)",
                     base.substr(base.find("://") + 3));
}

}  // namespace corral::cli
