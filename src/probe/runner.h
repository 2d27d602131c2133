// Runs a suite against a server over its HTTP API and collects every call's measurements; the
// results feed report.h. A failing server ends the run early with `partial` set, never a crash.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "probe/classify.h"
#include "probe/suite.h"

namespace corral::probe {

enum class ApiKind { kOllama, kOpenAI };

struct ProbeConfig {
  std::string model;
  std::string host = "http://127.0.0.1:11434";
  ApiKind api = ApiKind::kOllama;
  int runs = 5;
  int concurrency = 1;
  std::string judge;               // empty: heuristics
  double request_timeout_s = 300;
  int max_consecutive_failures = 3;  // then the run stops as partial
};

struct CallOptions {
  int num_predict = 64;
  std::optional<double> temperature;
  std::optional<int64_t> seed;
  nlohmann::json format;  // JSON Schema or null
};

// One request as the client saw it. Times in ms; NaN where not measured.
struct Call {
  std::string prompt;
  bool ok = false;
  std::string error;
  long http_status = 0;
  bool concurrent = false;  // part of the concurrent batch
  double start_ms = 0;      // since the probe began
  double ttft_ms = 0, total_ms = 0;
  double tokens = 0, tokens_per_s = 0;
  double queue_ms = 0;      // see runner.cpp
  double prompt_tokens = 0;
  double srv_total_ms = 0, srv_load_ms = 0, srv_prompt_ms = 0, srv_eval_ms = 0;  // server's clock
  std::string text;
};

struct LatencyResult {
  bool ran = false;
  std::vector<Call> sequential;  // [0] is the cold call
  std::vector<Call> concurrent;
};

struct VariationResult {
  bool ran = false;
  std::string prompt;
  std::vector<Call> free_runs;    // no seed
  std::vector<Call> seeded_runs;  // fixed seed
  std::vector<std::vector<size_t>> distance;  // pairwise edit distance over free_runs' texts
  int64_t seed = 0;
};

struct StructureResult {
  bool ran = false;
  std::string prompt;
  std::vector<std::string> fields;
  std::vector<Call> free_runs, constrained_runs;
  std::vector<JsonVerdict> free_verdicts, constrained_verdicts;
};

struct VagueAnswer {
  Call call;
  VaguenessVerdict verdict;
  std::string judged_by;  // "heuristics" or the judge model
};

struct VaguenessResult {
  bool ran = false;
  std::vector<VagueAnswer> answers;
};

struct ProbeResult {
  ProbeConfig config;
  std::string suite_name;
  std::string started_at;  // RFC 3339
  LatencyResult latency;
  VariationResult variation;
  StructureResult structure;
  VaguenessResult vagueness;
  std::map<std::string, double> metrics;
  std::vector<ThresholdVerdict> thresholds;
  bool partial = false;
  std::string stop_reason;
  bool thresholds_passed() const;
};

// Checks that the server answers and knows the model: clear errors otherwise.
Status preflight(const ProbeConfig& cfg);

// One streamed chat call.
Call call_model(const ProbeConfig& cfg, const std::string& model, const std::string& prompt,
                const CallOptions& opts);

using ProgressFn = std::function<void(const std::string& line)>;
ProbeResult run_probe(const ProbeConfig& cfg, const Suite& suite, const ProgressFn& progress);

// Derives the metric map from the results (exposed for tests).
std::map<std::string, double> compute_metrics(const ProbeResult& r);

}  // namespace corral::probe
