#include "cli/table.h"

#include <cstdio>
#include <ctime>

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

int64_t parse_rfc3339_s(const std::string& s) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6) return 0;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t t = static_cast<int64_t>(::timegm(&tm));
  // Zone offset after the seconds (and fraction): Z, +hh:mm or -hh:mm.
  const size_t z = s.find_first_of("Z+-", 19);
  if (z != std::string::npos && s[z] != 'Z') {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + z + 1, "%2d:%2d", &oh, &om) == 2) {
      const int64_t off = (oh * 3600 + om * 60) * (s[z] == '+' ? 1 : -1);
      t -= off;
    }
  }
  return t;
}

std::string no_server_message(const std::string& base) {
  return fmt::format("could not connect to a corral server at {}; start one with \"corral serve\" "
                     "(or set CORRAL_HOST)",
                     base.substr(base.find("://") + 3));
}

}  // namespace corral::cli
