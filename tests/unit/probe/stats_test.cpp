// Percentiles, summaries, edit distance and thresholds.
#include <gtest/gtest.h>

#include <cmath>

#include "probe/stats.h"

namespace corral::probe {
namespace {

TEST(ProbeStats, PercentileInterpolatesLikeNumpy) {
  const std::vector<double> v = {15, 20, 35, 40, 50};
  EXPECT_DOUBLE_EQ(percentile(v, 0), 15);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 50);
  EXPECT_DOUBLE_EQ(percentile(v, 50), 35);
  EXPECT_DOUBLE_EQ(percentile(v, 40), 29);    // rank 1.6 -> 20 + 0.6*15
  EXPECT_DOUBLE_EQ(percentile(v, 90), 46);    // rank 3.6 -> 40 + 0.6*10
  EXPECT_DOUBLE_EQ(percentile({3, 1, 2}, 50), 2);  // unsorted input
  EXPECT_DOUBLE_EQ(percentile({7}, 99), 7);
  EXPECT_TRUE(std::isnan(percentile({}, 50)));
}

TEST(ProbeStats, SummaryFields) {
  Summary s = summarize({1, 2, 3, 4, 10});
  EXPECT_EQ(s.n, 5u);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.mean, 4);
  EXPECT_DOUBLE_EQ(s.spread(), 9);
  EXPECT_NEAR(s.stddev, std::sqrt(50.0 / 4.0), 1e-12);  // sample stddev
  EXPECT_NEAR(s.p99, 4 + 0.96 * 6, 1e-12);
  EXPECT_EQ(summarize({}).n, 0u);
}

TEST(ProbeStats, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "abcd"), 4u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("flaw", "lawn"), 2u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
  EXPECT_EQ(edit_distance("ab", "ba"), 2u);  // no transpositions in Levenshtein
  EXPECT_EQ(edit_distance("sitting", "kitten"), edit_distance("kitten", "sitting"));
}

TEST(ProbeStats, ThresholdParsing) {
  auto t = parse_threshold("p95_total_ms < 2000");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->metric, "p95_total_ms");
  EXPECT_EQ(t->op, CompareOp::kLess);
  EXPECT_DOUBLE_EQ(t->value, 2000);
  auto u = parse_threshold("  schema_valid==1.0 ");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->op, CompareOp::kEqual);
  EXPECT_EQ(u->text, "schema_valid==1.0");
  EXPECT_EQ(parse_threshold("a >= -1.5e2")->value, -150);
  EXPECT_EQ(parse_threshold("a <= 3")->op, CompareOp::kLessEqual);
  EXPECT_EQ(parse_threshold("a != 3")->op, CompareOp::kNotEqual);
  EXPECT_EQ(parse_threshold("a > 3")->op, CompareOp::kGreater);
}

TEST(ProbeStats, ThresholdErrorsSayWhatIsWrong) {
  auto e1 = parse_threshold("< 5");
  ASSERT_FALSE(e1.ok());
  EXPECT_NE(e1.error().message.find("metric name"), std::string::npos);
  auto e2 = parse_threshold("p95_total_ms ~ 5");
  ASSERT_FALSE(e2.ok());
  EXPECT_NE(e2.error().message.find("< <= > >= == !="), std::string::npos);
  auto e3 = parse_threshold("p95_total_ms <");
  ASSERT_FALSE(e3.ok());
  EXPECT_NE(e3.error().message.find("missing the number"), std::string::npos);
  auto e4 = parse_threshold("p95_total_ms < 2s");
  ASSERT_FALSE(e4.ok());
  EXPECT_NE(e4.error().message.find("'2s' is not a number"), std::string::npos);
}

TEST(ProbeStats, ThresholdEvaluation) {
  const std::map<std::string, double> m = {{"p95_total_ms", 1500}, {"schema_valid", 1.0}, {"nan", std::nan("")}};
  auto eval = [&](const char* s) { return evaluate_threshold(*parse_threshold(s), m); };
  EXPECT_TRUE(eval("p95_total_ms < 2000").passed);
  EXPECT_FALSE(eval("p95_total_ms < 1500").passed);
  EXPECT_TRUE(eval("p95_total_ms <= 1500").passed);
  EXPECT_FALSE(eval("p95_total_ms > 1500").passed);
  EXPECT_TRUE(eval("p95_total_ms >= 1500").passed);
  EXPECT_TRUE(eval("schema_valid == 1.0").passed);
  EXPECT_FALSE(eval("schema_valid != 1").passed);
  EXPECT_DOUBLE_EQ(eval("p95_total_ms < 2000").actual, 1500);
  auto missing = eval("no_such_metric < 1");
  EXPECT_FALSE(missing.measured);
  EXPECT_FALSE(missing.passed);  // an unmeasured metric cannot pass a gate
  EXPECT_FALSE(eval("nan < 1").measured);
}

}  // namespace
}  // namespace corral::probe
