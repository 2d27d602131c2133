// Percentiles, summaries, edit distance and threshold parsing for probe reports.
#include "probe/stats.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>

namespace corral::probe {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  p = std::clamp(p, 0.0, 100.0);
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

Summary summarize(const std::vector<double>& v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  s.median = percentile(v, 50);
  s.p90 = percentile(v, 90);
  s.p95 = percentile(v, 95);
  s.p99 = percentile(v, 99);
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double sq = 0;
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(sq / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      const size_t subst = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({up + 1, row[j - 1] + 1, subst});
      diag = up;
    }
  }
  return row[b.size()];
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<Threshold> parse_threshold(std::string_view text) {
  Threshold t;
  t.text = std::string(trim(text));
  std::string_view s = trim(text);
  size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == '.')) ++i;
  if (i == 0) return make_error("threshold '{}': expected a metric name first, like 'p95_total_ms < 2000'", t.text);
  t.metric = std::string(s.substr(0, i));
  std::string_view rest = trim(s.substr(i));
  static const std::pair<const char*, CompareOp> kOps[] = {
      {"<=", CompareOp::kLessEqual}, {">=", CompareOp::kGreaterEqual}, {"==", CompareOp::kEqual},
      {"!=", CompareOp::kNotEqual},  {"<", CompareOp::kLess},          {">", CompareOp::kGreater}};
  bool found = false;
  for (const auto& [sym, op] : kOps) {
    const std::string_view sv(sym);
    if (rest.substr(0, sv.size()) == sv) {
      t.op = op;
      rest = trim(rest.substr(sv.size()));
      found = true;
      break;
    }
  }
  if (!found) {
    return make_error("threshold '{}': expected one of < <= > >= == != after '{}'", t.text, t.metric);
  }
  if (rest.empty()) return make_error("threshold '{}': missing the number to compare with", t.text);
  const char* end = rest.data() + rest.size();
  auto [ptr, ec] = std::from_chars(rest.data(), end, t.value);
  if (ec != std::errc() || ptr != end || !std::isfinite(t.value)) {
    return make_error("threshold '{}': '{}' is not a number", t.text, rest);
  }
  return t;
}

ThresholdVerdict evaluate_threshold(const Threshold& t, const std::map<std::string, double>& metrics) {
  ThresholdVerdict v;
  v.threshold = t;
  auto it = metrics.find(t.metric);
  if (it == metrics.end() || std::isnan(it->second)) return v;
  v.measured = true;
  v.actual = it->second;
  const double a = v.actual;
  switch (t.op) {
    case CompareOp::kLess: v.passed = a < t.value; break;
    case CompareOp::kLessEqual: v.passed = a <= t.value; break;
    case CompareOp::kGreater: v.passed = a > t.value; break;
    case CompareOp::kGreaterEqual: v.passed = a >= t.value; break;
    case CompareOp::kEqual: v.passed = std::fabs(a - t.value) <= 1e-9 * std::max(1.0, std::fabs(t.value)); break;
    case CompareOp::kNotEqual: v.passed = !(std::fabs(a - t.value) <= 1e-9 * std::max(1.0, std::fabs(t.value))); break;
  }
  return v;
}

}  // namespace corral::probe
