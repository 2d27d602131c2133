// `corral probe MODEL`: measures a served model over its HTTP API (latency, variation, structure,
// vagueness) and prints/writes a report. Exit 0: all thresholds pass; 1: a threshold failed;
// 2: the run could not start or stopped early (a partial report is still written).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/file_util.h"
#include "cli/command.h"
#include "probe/report.h"
#include "probe/runner.h"
#include "probe/suite.h"

namespace corral::cli {
namespace {

int cmd_probe(int argc, char** argv) {
  CLI::App app{"Measure a served model: latency, variation, JSON validity, vague prompts", "corral probe"};
  probe::ProbeConfig cfg;
  const char* env_host = std::getenv("CORRAL_HOST");
  if (env_host && *env_host) cfg.host = env_host;
  std::string api = "ollama", suite_file, report_dir;
  bool json_out = false, quiet = false;
  app.add_option("model", cfg.model, "Model name as the server knows it")->required();
  app.add_option("--host", cfg.host, "Server URL (default $CORRAL_HOST or http://127.0.0.1:11434)");
  app.add_option("--api", api, "Wire API: ollama (/api/chat) or openai (/v1/chat/completions)")
      ->check(CLI::IsMember({"ollama", "openai"}));
  app.add_option("--runs", cfg.runs, "Repeated calls per experiment")->check(CLI::Range(1, 10000));
  app.add_option("--concurrency", cfg.concurrency, "Concurrent calls in the latency experiment")->check(CLI::Range(1, 256));
  app.add_option("--suite", suite_file, "Suite file (JSON); default: the built-in suite");
  app.add_option("--report", report_dir, "Write report.html and report.json into this directory");
  app.add_flag("--json", json_out, "Print the JSON report on stdout instead of tables");
  app.add_option("--judge", cfg.judge, "Model that classifies vague-prompt answers (default: heuristics)");
  app.add_option("--timeout", cfg.request_timeout_s, "Per-request timeout in seconds");
  app.add_flag("-q,--quiet", quiet, "No progress lines on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  cfg.api = api == "openai" ? probe::ApiKind::kOpenAI : probe::ApiKind::kOllama;

  probe::Suite suite = probe::builtin_suite();
  if (!suite_file.empty()) {
    auto text = read_file(suite_file);
    if (!text) {
      std::fprintf(stderr, "Error: %s\n", text.error().message.c_str());
      return 2;
    }
    auto parsed = probe::parse_suite(*text, suite_file);
    if (!parsed) {
      std::fprintf(stderr, "Error: %s\n", parsed.error().message.c_str());
      return 2;
    }
    suite = std::move(*parsed);
  }
  if (auto st = probe::preflight(cfg); !st) {
    std::fprintf(stderr, "Error: %s\n", st.error().message.c_str());
    return 2;
  }
  if (!cfg.judge.empty()) {
    probe::ProbeConfig jc = cfg;
    jc.model = cfg.judge;
    if (auto st = probe::preflight(jc); !st) {
      std::fprintf(stderr, "Error: judge: %s\n", st.error().message.c_str());
      return 2;
    }
  }
  auto progress = [quiet](const std::string& line) {
    if (!quiet) std::fprintf(stderr, "%s\n", line.c_str());
  };
  probe::ProbeResult res = probe::run_probe(cfg, suite, progress);
  if (json_out) {
    std::printf("%s\n", probe::json_report(res).dump(2).c_str());
  } else {
    std::fputs(probe::terminal_report(res).c_str(), stdout);
  }
  if (!report_dir.empty()) {
    if (auto st = probe::write_report_dir(res, report_dir); !st) {
      std::fprintf(stderr, "Error: %s\n", st.error().message.c_str());
      return 2;
    }
    std::fprintf(stderr, "report: %s/report.html\n", report_dir.c_str());
  }
  if (res.partial) {
    std::fprintf(stderr, "Error: partial run: %s\n", res.stop_reason.c_str());
    return 2;
  }
  if (!res.thresholds_passed()) {
    std::fprintf(stderr, "Error: thresholds failed\n");
    return 1;
  }
  return 0;
}

}  // namespace
CORRAL_COMMAND("probe", "Measure a served model's latency, variation, JSON validity and vague-prompt answers", cmd_probe);
}  // namespace corral::cli
