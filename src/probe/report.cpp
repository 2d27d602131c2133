// Terminal and JSON reports. The HTML page lives in report_html.cpp.
#include "probe/report.h"

#include <cmath>
#include <filesystem>

#include "base/file_util.h"

namespace corral::probe {

using nlohmann::json;

namespace {

std::string num(double v, int prec = 1) {
  if (std::isnan(v)) return "-";
  return fmt::format("{:.{}f}", v, prec);
}

std::string metric(const ProbeResult& r, const std::string& k, int prec = 1) {
  auto it = r.metrics.find(k);
  return it == r.metrics.end() ? "-" : num(it->second, prec);
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& row : rows) {
    if (w.size() < row.size()) w.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  }
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    out += "  ";
    for (size_t i = 0; i < rows[r].size(); ++i) {
      out += fmt::format("{:<{}}", rows[r][i], w[i] + 2);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  }
  return out;
}

std::string one_line(std::string s, size_t max) {
  for (char& c : s) if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

json call_json(const Call& c) {
  auto n = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  json j = {{"prompt", c.prompt}, {"ok", c.ok}, {"start_ms", c.start_ms}, {"ttft_ms", n(c.ttft_ms)},
            {"total_ms", n(c.total_ms)}, {"tokens", c.tokens}, {"tokens_per_s", n(c.tokens_per_s)},
            {"queue_ms", n(c.queue_ms)}, {"prompt_tokens", n(c.prompt_tokens)},
            {"server", {{"total_ms", n(c.srv_total_ms)}, {"load_ms", n(c.srv_load_ms)},
                        {"prompt_eval_ms", n(c.srv_prompt_ms)}, {"eval_ms", n(c.srv_eval_ms)}}},
            {"text", c.text}};
  if (!c.ok) {
    j["error"] = c.error;
    j["http_status"] = c.http_status;
  }
  return j;
}

json calls_json(const std::vector<Call>& v) {
  json a = json::array();
  for (const auto& c : v) a.push_back(call_json(c));
  return a;
}

json verdicts_json(const std::vector<JsonVerdict>& v) {
  json a = json::array();
  for (const auto& x : v) {
    a.push_back({{"parses", x.parses}, {"has_object", x.has_object}, {"exact_fields", x.exact_fields},
                 {"prose", x.prose}, {"valid", x.valid()}});
  }
  return a;
}

}  // namespace

std::string terminal_report(const ProbeResult& r) {
  std::string out = fmt::format("corral probe: {} on {} ({} API), suite: {}\n", r.config.model, r.config.host,
                                r.config.api == ApiKind::kOllama ? "Ollama" : "OpenAI", r.suite_name);
  if (r.partial) out += fmt::format("PARTIAL RUN: {}\n", r.stop_reason);
  if (r.latency.ran) {
    out += fmt::format("\nLatency ({} sequential, {} concurrent; ms unless noted)\n", r.latency.sequential.size(),
                       r.latency.concurrent.size());
    std::vector<std::vector<std::string>> rows = {{"", "min", "median", "p90", "p99", "max", "spread"}};
    for (const char* k : {"total_ms", "ttft_ms"}) {
      rows.push_back({k, metric(r, std::string("min_") + k), metric(r, std::string("median_") + k),
                      metric(r, std::string("p90_") + k), metric(r, std::string("p99_") + k),
                      metric(r, std::string("max_") + k), metric(r, std::string("spread_") + k)});
    }
    out += table(rows);
    out += table({{"cold total", metric(r, "cold_total_ms"), "warm median total", metric(r, "warm_median_total_ms")},
                  {"tokens/s (median)", metric(r, "median_tokens_per_s"), "queue (median)", metric(r, "median_queue_ms")},
                  {"concurrent median total", metric(r, "concurrent_median_total_ms"), "concurrent median queue",
                   metric(r, "concurrent_median_queue_ms")}});
    std::vector<std::vector<std::string>> calls = {
        {"#", "kind", "ttft", "total", "tok/s", "queue", "srv total", "srv load", "srv prompt", "srv eval"}};
    size_t i = 0;
    for (auto* v : {&r.latency.sequential, &r.latency.concurrent}) {
      for (const Call& c : *v) {
        const std::string kind = c.concurrent ? "concurrent" : (i == 0 ? "cold" : "warm");
        if (!c.ok) {
          calls.push_back({std::to_string(i++), kind, "error: " + one_line(c.error, 60)});
          continue;
        }
        calls.push_back({std::to_string(i++), kind, num(c.ttft_ms), num(c.total_ms), num(c.tokens_per_s),
                         num(c.queue_ms), num(c.srv_total_ms), num(c.srv_load_ms), num(c.srv_prompt_ms),
                         num(c.srv_eval_ms)});
      }
    }
    out += "\n" + table(calls);
  }
  if (r.variation.ran) {
    out += fmt::format("\nVariation (\"{}\")\n", one_line(r.variation.prompt, 60));
    out += table({{"distinct outputs (no seed)", metric(r, "distinct_outputs", 0) + " of " +
                                                    std::to_string(r.variation.free_runs.size())},
                  {"mean pairwise edit distance", metric(r, "mean_edit_distance")},
                  {fmt::format("seed {} identical", r.variation.seed),
                   r.metrics.count("seeded_identical") ? (r.metrics.at("seeded_identical") == 1.0 ? "yes" : "NO") : "-"}});
  }
  if (r.structure.ran) {
    out += fmt::format("\nStructure (\"{}\")\n", one_line(r.structure.prompt, 60));
    out += table({{"", "parses", "exact fields", "prose around", "valid"},
                  {"no constraint", metric(r, "free_parse_rate", 2), metric(r, "free_exact_fields_rate", 2),
                   metric(r, "free_prose_rate", 2), metric(r, "free_valid_rate", 2)},
                  {"JSON schema", metric(r, "schema_parse_rate", 2), metric(r, "schema_exact_fields_rate", 2),
                   metric(r, "schema_prose_rate", 2), metric(r, "schema_valid_rate", 2)}});
  }
  if (r.vagueness.ran) {
    out += "\nVagueness\n";
    std::vector<std::vector<std::string>> rows = {{"prompt", "verdict", "answer"}};
    for (const auto& a : r.vagueness.answers) {
      rows.push_back({one_line(a.call.prompt, 40), vagueness_name(a.verdict.verdict), one_line(a.call.text, 60)});
    }
    out += table(rows);
  }
  if (!r.thresholds.empty()) {
    out += "\nThresholds\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : r.thresholds) {
      rows.push_back({t.passed ? "PASS" : "FAIL", t.threshold.text,
                      t.measured ? "actual " + num(t.actual, 3) : "not measured"});
    }
    out += table(rows);
  }
  return out;
}

json json_report(const ProbeResult& r) {
  json j;
  j["model"] = r.config.model;
  j["host"] = r.config.host;
  j["api"] = r.config.api == ApiKind::kOllama ? "ollama" : "openai";
  j["suite"] = r.suite_name;
  j["started_at"] = r.started_at;
  j["partial"] = r.partial;
  if (r.partial) j["stop_reason"] = r.stop_reason;
  json m = json::object();
  for (const auto& [k, v] : r.metrics) m[k] = std::isnan(v) ? json(nullptr) : json(v);
  j["metrics"] = m;
  json th = json::array();
  for (const auto& t : r.thresholds) {
    th.push_back({{"threshold", t.threshold.text}, {"measured", t.measured},
                  {"actual", t.measured ? json(t.actual) : json(nullptr)}, {"passed", t.passed}});
  }
  j["thresholds"] = th;
  j["passed"] = r.thresholds_passed() && !r.partial;
  if (r.latency.ran) {
    j["latency"] = {{"sequential", calls_json(r.latency.sequential)}, {"concurrent", calls_json(r.latency.concurrent)}};
  }
  if (r.variation.ran) {
    j["variation"] = {{"prompt", r.variation.prompt}, {"seed", r.variation.seed},
                      {"free", calls_json(r.variation.free_runs)}, {"seeded", calls_json(r.variation.seeded_runs)},
                      {"edit_distance", r.variation.distance}};
  }
  if (r.structure.ran) {
    j["structure"] = {{"prompt", r.structure.prompt}, {"fields", r.structure.fields},
                      {"free", calls_json(r.structure.free_runs)}, {"free_verdicts", verdicts_json(r.structure.free_verdicts)},
                      {"schema", calls_json(r.structure.constrained_runs)},
                      {"schema_verdicts", verdicts_json(r.structure.constrained_verdicts)}};
  }
  if (r.vagueness.ran) {
    json a = json::array();
    for (const auto& x : r.vagueness.answers) {
      a.push_back({{"prompt", x.call.prompt}, {"answer", x.call.text}, {"verdict", vagueness_name(x.verdict.verdict)},
                   {"reason", x.verdict.reason}, {"judged_by", x.judged_by}});
    }
    j["vagueness"] = a;
  }
  return j;
}

Status write_report_dir(const ProbeResult& r, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error("cannot create report directory {}: {}", dir, ec.message());
  CORRAL_TRY(atomic_write_file(dir + "/report.json", json_report(r).dump(2) + "\n"));
  CORRAL_TRY(atomic_write_file(dir + "/report.html", html_report(r)));
  return {};
}

}  // namespace corral::probe
