#include "cli/term/format.h"

#include <cstdio>
#include <ctime>

namespace corral::cli {
namespace {

// v/unit with up to `digits` decimals, trailing zeros trimmed (Go's fmtFrac).
std::string fraction(uint64_t v, uint64_t unit, int digits) {
  std::string s = std::to_string(v / unit);
  std::string f = std::to_string(v % unit);
  f.insert(0, static_cast<size_t>(digits) - f.size(), '0');
  while (!f.empty() && f.back() == '0') f.pop_back();
  return f.empty() ? s : s + "." + f;
}

}  // namespace

std::string go_duration(int64_t ns) {
  if (ns == 0) return "0s";
  const std::string sign = ns < 0 ? "-" : "";
  const uint64_t u = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + fraction(u, 1000, 3) + "µs";
  if (u < 1000000000) return sign + fraction(u, 1000000, 6) + "ms";
  const uint64_t h = u / 3600000000000ULL;
  const uint64_t m = (u / 60000000000ULL) % 60;
  std::string s = sign;
  if (h > 0) s += std::to_string(h) + "h";
  if (h > 0 || m > 0) s += std::to_string(m) + "m";
  return s + fraction(u % 60000000000ULL, 1000000000, 9) + "s";
}

int64_t parse_rfc3339_s(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 19 || std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6) return 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return 0;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t t = static_cast<int64_t>(::timegm(&tm));
  // Zone after the seconds and any fraction: Z, +hh:mm or -hh:mm.
  const size_t z = s.find_first_of("Z+-", 19);
  if (z != std::string::npos && s[z] != 'Z') {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + z + 1, "%2d:%2d", &oh, &om) == 2) t -= (oh * 3600 + om * 60) * (s[z] == '+' ? 1 : -1);
  }
  return t;
}

}  // namespace corral::cli
