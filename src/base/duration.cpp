// parse_duration_seconds(): a signed sequence of decimal numbers, each with a unit suffix, as
// Go's time.ParseDuration reads them; or a plain number of seconds.
#include "base/duration.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

namespace corral {
namespace {

bool is_num_char(char c) { return (c >= '0' && c <= '9') || c == '.'; }

// The whole of s as a finite decimal number, exponent allowed (a JSON number such as 1e+20
// arrives as that text); no spaces, hex, inf or nan.
bool parse_decimal(std::string_view s, double* out) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!is_num_char(c) && c != 'e' && c != 'E' && c != '+' && c != '-') return false;
  const std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size() || errno != 0 || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

// Seconds per unit, or 0 for an unknown one.
double unit_seconds(std::string_view u, bool allow_days) {
  if (u == "ns") return 1e-9;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1e-6;  // us, µs (micro sign), μs (mu)
  if (u == "ms") return 1e-3;
  if (u == "s") return 1.0;
  if (u == "m") return 60.0;
  if (u == "h") return 3600.0;
  if (u == "d" && allow_days) return 86400.0;
  return 0.0;
}

}  // namespace

Result<double> parse_duration_seconds(std::string_view text, bool allow_days) {
  double plain = 0;
  if (parse_decimal(text, &plain)) return plain;
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  if (rest.empty()) return make_error("invalid duration \"{}\"", text);
  double total = 0;
  while (!rest.empty()) {
    size_t i = 0;
    while (i < rest.size() && is_num_char(rest[i])) ++i;
    size_t j = i;
    while (j < rest.size() && !is_num_char(rest[j])) ++j;
    double v = 0;
    const double unit = unit_seconds(rest.substr(i, j - i), allow_days);
    if (i == 0 || !parse_decimal(rest.substr(0, i), &v)) return make_error("invalid duration \"{}\"", text);
    if (unit == 0.0)
      return make_error("invalid duration unit in \"{}\" (ns, us, ms, s, m, h{})", text, allow_days ? ", d" : "");
    total += v * unit;
    rest.remove_prefix(j);
  }
  if (!std::isfinite(total)) return make_error("invalid duration \"{}\"", text);
  return negative ? -total : total;
}

}  // namespace corral
