// compute_metrics on hand-built results, and the reports' content (SVG plots, escaping, JSON).
#include <gtest/gtest.h>

#include "probe/report.h"
#include "probe/runner.h"

namespace corral::probe {
namespace {

Call ok_call(double ttft, double total, double tokens, std::string text = "x") {
  Call c;
  c.ok = true;
  c.ttft_ms = ttft;
  c.total_ms = total;
  c.tokens = tokens;
  c.queue_ms = 0;
  c.text = std::move(text);
  return c;
}

ProbeResult sample() {
  ProbeResult r;
  r.config.model = "m<1>";
  r.latency.ran = true;
  r.latency.sequential = {ok_call(300, 400, 5), ok_call(20, 60, 5), ok_call(30, 70, 5), ok_call(40, 80, 5)};
  Call bad;
  bad.error = "HTTP 500: boom";
  r.latency.concurrent = {ok_call(50, 90, 5), bad};
  r.latency.concurrent[0].concurrent = r.latency.concurrent[1].concurrent = true;
  r.variation.ran = true;
  r.variation.free_runs = {ok_call(1, 2, 1, "abc"), ok_call(1, 2, 1, "abd"), ok_call(1, 2, 1, "abc")};
  r.variation.distance = {{0, 1, 0}, {1, 0, 1}, {0, 1, 0}};
  r.variation.seeded_runs = {ok_call(1, 2, 1, "s"), ok_call(1, 2, 1, "s")};
  r.structure.ran = true;
  r.structure.fields = {"name", "age"};
  for (const char* t : {"{\"name\":\"a\",\"age\":1}", "hi {\"name\":\"a\",\"age\":1}", "nope", "{\"name\":\"a\"}"}) {
    r.structure.free_runs.push_back(ok_call(1, 2, 1, t));
    r.structure.free_verdicts.push_back(check_json_answer(t, r.structure.fields));
  }
  r.structure.constrained_runs = {ok_call(1, 2, 1, "{\"name\":\"a\",\"age\":1}")};
  r.structure.constrained_verdicts = {check_json_answer(r.structure.constrained_runs[0].text, r.structure.fields)};
  r.vagueness.ran = true;
  VagueAnswer a;
  a.call = ok_call(1, 2, 1, "Could you share the plan? <b>");
  a.verdict = classify_vague_answer(a.call.text);
  r.vagueness.answers = {a};
  r.metrics = compute_metrics(r);
  return r;
}

TEST(ProbeMetrics, FromKnownCalls) {
  ProbeResult r = sample();
  const auto& m = r.metrics;
  EXPECT_DOUBLE_EQ(m.at("cold_total_ms"), 400);
  EXPECT_DOUBLE_EQ(m.at("warm_median_total_ms"), 70);
  EXPECT_DOUBLE_EQ(m.at("median_total_ms"), 75);  // of 60 70 80 400
  EXPECT_DOUBLE_EQ(m.at("min_ttft_ms"), 20);
  EXPECT_DOUBLE_EQ(m.at("spread_total_ms"), 340);
  EXPECT_DOUBLE_EQ(m.at("concurrent_median_total_ms"), 90);
  EXPECT_DOUBLE_EQ(m.at("distinct_outputs"), 2);
  EXPECT_DOUBLE_EQ(m.at("mean_edit_distance"), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.at("seeded_identical"), 1);
  EXPECT_DOUBLE_EQ(m.at("free_parse_rate"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("free_exact_fields_rate"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("free_prose_rate"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("free_valid_rate"), 0.25);
  EXPECT_DOUBLE_EQ(m.at("schema_valid"), 1.0);
  EXPECT_DOUBLE_EQ(m.at("asks_clarification_rate"), 1.0);
  EXPECT_DOUBLE_EQ(m.at("invents_context_rate"), 0.0);
  EXPECT_DOUBLE_EQ(m.at("failed_requests"), 1);
  EXPECT_DOUBLE_EQ(m.at("requests"), 6 + 5 + 5 + 1);
}

TEST(ProbeReport, HtmlHasPlotsAndEscapes) {
  const std::string h = html_report(sample());
  for (const char* id : {"plot-histogram", "plot-timeline", "plot-ttft", "plot-variation", "plot-validity"}) {
    EXPECT_NE(h.find(std::string("<svg id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_EQ(h.find("<b>"), std::string::npos);
  EXPECT_NE(h.find("&lt;b&gt;"), std::string::npos);
  EXPECT_NE(h.find("m&lt;1&gt;"), std::string::npos);
  EXPECT_EQ(h.find("http://cdn"), std::string::npos);
  EXPECT_EQ(h.find("<script src"), std::string::npos);  // self-contained
}

TEST(ProbeReport, JsonAndTerminal) {
  ProbeResult r = sample();
  r.partial = true;
  r.stop_reason = "server went away";
  auto j = json_report(r);
  EXPECT_EQ(j["partial"], true);
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["latency"]["sequential"].size(), 4u);
  EXPECT_EQ(j["latency"]["concurrent"][1]["error"], "HTTP 500: boom");
  EXPECT_EQ(j["structure"]["free_verdicts"][1]["prose"], true);
  const std::string t = terminal_report(r);
  EXPECT_NE(t.find("PARTIAL RUN: server went away"), std::string::npos);
  EXPECT_NE(t.find("asks_clarification"), std::string::npos);
}

}  // namespace
}  // namespace corral::probe
