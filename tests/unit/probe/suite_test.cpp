// Suite-file parsing: the happy path, the built-in suite and located error messages.
#include <gtest/gtest.h>

#include "probe/suite.h"

namespace corral::probe {
namespace {

TEST(ProbeSuite, ParsesAFullSuite) {
  auto s = parse_suite(R"({"name": "mine", "experiments": [
      {"kind": "latency", "prompts": ["a", "bb"], "runs": 3, "concurrency": 2, "num_predict": 4},
      {"kind": "variation", "prompt": "p", "seed": 7, "temperature": 0.5},
      {"kind": "structure", "prompt": "json please", "fields": ["name", "age"]},
      {"kind": "vagueness", "prompts": ["judge it"]}],
      "thresholds": ["p95_total_ms < 2000", "schema_valid == 1.0"]})",
                       "s.json");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->name, "mine");
  ASSERT_EQ(s->experiments.size(), 4u);
  EXPECT_EQ(s->experiments[0].prompts.size(), 2u);
  EXPECT_EQ(*s->experiments[0].runs, 3);
  EXPECT_EQ(*s->experiments[0].concurrency, 2);
  EXPECT_EQ(s->experiments[0].num_predict, 4);
  EXPECT_EQ(s->experiments[1].seed, 7);
  EXPECT_DOUBLE_EQ(*s->experiments[1].temperature, 0.5);
  EXPECT_FALSE(s->experiments[1].runs.has_value());
  // A schema is derived from the fields when none is given.
  EXPECT_EQ(s->experiments[2].schema["required"], nlohmann::json({"name", "age"}));
  EXPECT_EQ(s->experiments[2].schema["properties"]["age"]["type"], "integer");
  ASSERT_EQ(s->thresholds.size(), 2u);
  EXPECT_EQ(s->thresholds[1].metric, "schema_valid");
}

TEST(ProbeSuite, BuiltinHasTheNotesExperiments) {
  Suite s = builtin_suite();
  ASSERT_EQ(s.experiments.size(), 4u);
  EXPECT_EQ(s.experiments[0].kind, ExperimentKind::kLatency);
  EXPECT_GT(s.experiments[0].prompts.back().size(), s.experiments[0].prompts.front().size());
  EXPECT_EQ(s.experiments[2].fields, (std::vector<std::string>{"name", "age"}));
  EXPECT_EQ(s.experiments[3].prompts[0], "Judge whether this plan is reasonable.");
}

void expect_error(const char* text, const char* needle) {
  auto s = parse_suite(text, "bad.json");
  ASSERT_FALSE(s.ok()) << text;
  EXPECT_NE(s.error().message.find(needle), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.rfind("bad.json", 0), 0u) << s.error().message;
}

TEST(ProbeSuite, ErrorsNameThePlace) {
  expect_error("{", "not valid JSON");
  expect_error("[]", "JSON object at the top");
  expect_error(R"({"experiment": []})", "unknown top-level key 'experiment'");
  expect_error(R"({"experiments": []})", "non-empty array");
  expect_error(R"({"experiments": [{"prompt": "x"}]})", "experiments[0]: missing \"kind\"");
  expect_error(R"({"experiments": [{"kind": "speed", "prompt": "x"}]})", "experiments[0].kind: unknown kind 'speed'");
  expect_error(R"({"experiments": [{"kind": "latency"}]})", "needs \"prompt\"");
  expect_error(R"({"experiments": [{"kind": "latency", "prompts": ["a", 3]}]})", "experiments[0].prompts[1]: expected a string");
  expect_error(R"({"experiments": [{"kind": "latency", "prompt": "a", "runs": 0}]})", "experiments[0].runs: expected a positive integer");
  expect_error(R"({"experiments": [{"kind": "latency", "prompt": "a", "runs": "5"}]})", "runs: expected a positive integer");
  expect_error(R"({"experiments": [{"kind": "latency", "prompt": "a", "colour": 1}]})", "unknown key 'colour'");
  expect_error(R"({"experiments": [{"kind": "structure", "prompt": "a"}]})", "needs \"fields\"");
  expect_error(R"({"experiments": [{"kind": "variation", "prompt": "a", "concurrency": 2}]})", "only applies to kind latency");
  expect_error(R"({"experiments": [{"kind": "latency", "prompt": "a"}, {"kind": "latency", "prompt": "b"}]})",
               "experiments[1]: a second 'latency' experiment");
  expect_error(R"({"experiments": [{"kind": "latency", "prompt": "a"}], "thresholds": ["p95 ~ 3"]})",
               "thresholds[0]: threshold 'p95 ~ 3'");
  expect_error(R"({"experiments": [{"kind": "latency", "prompt": "a"}], "thresholds": [5]})", "thresholds[0]: expected a string");
}

}  // namespace
}  // namespace corral::probe
