// A probe suite: which experiments to run with which prompts, and the thresholds that gate a
// deployment. Parsed from a JSON file (format in docs below) or the built-in suite of the note.
//
// {
//   "name": "my suite",
//   "experiments": [
//     {"kind": "latency",   "prompts": ["Hi", "..."], "runs": 8, "concurrency": 4, "num_predict": 32},
//     {"kind": "variation", "prompt": "Tell a story", "runs": 5, "seed": 42},
//     {"kind": "structure", "prompt": "Give me a JSON object with name and age",
//      "fields": ["name", "age"], "schema": {...JSON Schema...}, "runs": 5},
//     {"kind": "vagueness", "prompts": ["Judge whether this plan is reasonable."]}
//   ],
//   "thresholds": ["p95_total_ms < 2000", "schema_valid == 1.0"]
// }
// At most one experiment per kind; "runs"/"concurrency" default to --runs/--concurrency;
// "temperature" (number) is optional everywhere.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "probe/stats.h"

namespace corral::probe {

enum class ExperimentKind { kLatency, kVariation, kStructure, kVagueness };
const char* kind_name(ExperimentKind k);

struct Experiment {
  ExperimentKind kind = ExperimentKind::kLatency;
  std::vector<std::string> prompts;
  std::optional<int> runs;         // unset: the --runs flag
  std::optional<int> concurrency;  // latency only; unset: --concurrency
  int num_predict = 64;
  std::optional<double> temperature;
  int64_t seed = 42;                // variation: the fixed-seed pass
  std::vector<std::string> fields;  // structure: the fields asked for
  nlohmann::json schema;            // structure: the constraint (null -> built from fields)
};

struct Suite {
  std::string name;
  std::vector<Experiment> experiments;
  std::vector<Threshold> thresholds;
};

// Errors name the place: "suite.json: experiments[1].runs: expected a positive integer".
Result<Suite> parse_suite(std::string_view text, std::string_view origin);
Suite builtin_suite();

// {"type":"object","properties":{f:{}...},"required":[...],"additionalProperties":false}; name and
// age get types (string, integer).
nlohmann::json schema_for_fields(const std::vector<std::string>& fields);

}  // namespace corral::probe
