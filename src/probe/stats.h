// Statistics for probe measurements: percentiles, summaries, edit distance, and suite thresholds
// ("p95_total_ms < 2000") parsed and evaluated against named metrics.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace corral::probe {

// Linear interpolation between closest ranks (numpy's default): p in [0, 100]. Empty -> NaN.
double percentile(std::vector<double> values, double p);

struct Summary {
  size_t n = 0;
  double min = 0, median = 0, p90 = 0, p95 = 0, p99 = 0, max = 0, mean = 0, stddev = 0;
  double spread() const { return max - min; }
};
Summary summarize(const std::vector<double>& values);

// Levenshtein distance over bytes, O(|a|*|b|) time and O(|b|) memory.
size_t edit_distance(std::string_view a, std::string_view b);

enum class CompareOp { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual };

struct Threshold {
  std::string metric;
  CompareOp op = CompareOp::kLess;
  double value = 0;
  std::string text;  // as written, for messages
};

// "metric OP number", OP one of < <= > >= == !=.
Result<Threshold> parse_threshold(std::string_view text);

struct ThresholdVerdict {
  Threshold threshold;
  bool measured = false;  // metric present in this run
  double actual = 0;
  bool passed = false;    // a metric that was not measured fails
};
ThresholdVerdict evaluate_threshold(const Threshold& t, const std::map<std::string, double>& metrics);

}  // namespace corral::probe
