// Circuit breaker state machine (with a fake clock), the test-fault table, and how a request's
// deadline and fallback list are read from the body, the header and the server default.
#include <gtest/gtest.h>

#include "server/breaker.h"
#include "server/dispatch.h"
#include "server/faults.h"
#include "server/resilience.h"

namespace corral::server {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresOnly) {
  CircuitBreaker b({3, 10s});
  const auto t = Clock::time_point{} + 1h;
  b.record_failure(t);
  b.record_failure(t);
  b.record_success();  // a success in between resets the count
  b.record_failure(t);
  b.record_failure(t);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.allow(t));
  b.record_failure(t);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.allow(t + 9s)) << "open until the cool-down has passed";
}

TEST(CircuitBreaker, HalfOpenAdmitsOneProbeThenClosesOnSuccess) {
  CircuitBreaker b({1, 10s});
  const auto t = Clock::time_point{} + 1h;
  b.record_failure(t);
  ASSERT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_TRUE(b.allow(t + 10s));
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_FALSE(b.allow(t + 10s)) << "only one probe at a time";
  b.record_success();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.consecutive_failures(), 0);
  EXPECT_TRUE(b.allow(t + 10s));
  EXPECT_TRUE(b.allow(t + 10s));
}

TEST(CircuitBreaker, FailedProbeReopensForAnotherCooldown) {
  CircuitBreaker b({2, 10s});
  const auto t = Clock::time_point{} + 1h;
  b.record_failure(t);
  b.record_failure(t);
  ASSERT_TRUE(b.allow(t + 11s));
  b.record_failure(t + 12s);  // one failure in half-open is enough
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.allow(t + 21s)) << "the cool-down restarts at the failed probe";
  EXPECT_TRUE(b.allow(t + 22s));
}

TEST(CircuitBreaker, NeutralOutcomeGivesTheProbeSlotBack) {
  CircuitBreaker b({1, 1s});
  const auto t = Clock::time_point{} + 1h;
  b.record_failure(t);
  ASSERT_TRUE(b.allow(t + 1s));
  EXPECT_FALSE(b.allow(t + 1s));
  b.record_neutral();  // e.g. the probe request was a bad request
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_TRUE(b.allow(t + 1s));
}

TEST(BreakerRegistry, KeepsOneBreakerPerModelAndListsThem) {
  auto now = Clock::time_point{} + 1h;
  BreakerRegistry r({2, 5s}, [&] { return now; });
  r.record_failure("a");
  r.record_failure("a");
  r.record_failure("b");
  EXPECT_FALSE(r.allow("a"));
  EXPECT_TRUE(r.allow("b"));
  EXPECT_TRUE(r.allow("c"));
  auto rows = r.snapshot();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].model, "a");
  EXPECT_EQ(rows[0].state, BreakerState::kOpen);
  EXPECT_EQ(rows[1].failures, 1);
  now += 5s;
  EXPECT_TRUE(r.allow("a"));
  EXPECT_EQ(r.state("a"), BreakerState::kHalfOpen);
  r.record_success("a");
  EXPECT_EQ(r.state("a"), BreakerState::kClosed);
}

TEST(BreakerConfig, ReadsEnvironment) {
  setenv("CORRAL_BREAKER_FAILURES", "7", 1);
  setenv("CORRAL_BREAKER_COOLDOWN", "1500ms", 1);
  auto c = breaker_config_from_env();
  EXPECT_EQ(c.failure_threshold, 7);
  EXPECT_EQ(c.cooldown, 1500ms);
  setenv("CORRAL_BREAKER_FAILURES", "zero", 1);
  setenv("CORRAL_BREAKER_COOLDOWN", "-1", 1);
  c = breaker_config_from_env();
  EXPECT_EQ(c.failure_threshold, 5) << "bad values fall back to the defaults";
  EXPECT_EQ(c.cooldown, 30s);
  unsetenv("CORRAL_BREAKER_FAILURES");
  unsetenv("CORRAL_BREAKER_COOLDOWN");
}

TEST(Faults, ParsesEntriesAndCountsLoadsAndGenerations) {
  auto t = Faults::parse("primary:fail_loads=2,stall_ms=40; broken:load_fail ;flaky:fail_after=1");
  ASSERT_TRUE(t.ok()) << t.error().message;
  Faults f(std::move(*t));
  EXPECT_EQ(f.stall_ms("primary:latest"), 40);
  EXPECT_EQ(f.stall_ms("other"), 0);
  EXPECT_TRUE(f.take_load_failure("primary"));
  EXPECT_TRUE(f.take_load_failure("primary:latest"));
  EXPECT_FALSE(f.take_load_failure("primary")) << "the third load succeeds";
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(f.take_load_failure("broken"));
  EXPECT_FALSE(f.take_load_failure("other"));
  EXPECT_FALSE(f.take_generation_failure("flaky"));
  EXPECT_TRUE(f.take_generation_failure("flaky"));
  EXPECT_TRUE(f.take_generation_failure("flaky"));
  EXPECT_FALSE(f.take_generation_failure("primary"));
}

TEST(Faults, RejectsUnknownFaultsAndMissingModel) {
  EXPECT_FALSE(Faults::parse("m:explode").ok());
  EXPECT_FALSE(Faults::parse("m:stall_ms=abc").ok());
  EXPECT_FALSE(Faults::parse(":load_fail").ok());
  EXPECT_FALSE(Faults::parse("load_fail").ok());
}

TEST(Faults, IgnoredUnlessTestHooksAreEnabled) {
  setenv("CORRAL_TEST_FAULTS", "m:load_fail", 1);
  unsetenv("CORRAL_ENABLE_TEST_HOOKS");
  EXPECT_TRUE(Faults::from_env().empty());
  setenv("CORRAL_ENABLE_TEST_HOOKS", "1", 1);
  EXPECT_EQ(Faults::from_env().size(), 1u);
  unsetenv("CORRAL_TEST_FAULTS");
  unsetenv("CORRAL_ENABLE_TEST_HOOKS");
}

TEST(RequestPolicy, DeadlineFromOptionsHeaderAndDefault) {
  auto j = api::Json::parse(R"({"model":"m","options":{"deadline_ms":1500}})");
  auto p = request_policy(j, "", false, 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->deadline_ms, 1500);
  p = request_policy(j, "0.5", false, 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->deadline_ms, 500) << "the earlier of body and header";
  p = request_policy(api::Json::parse(R"({"model":"m"})"), "", false, 30000);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->deadline_ms, 30000) << "the server default when the request names none";
  p = request_policy(api::Json::parse(R"({"model":"m"})"), "2", false, 30000);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->deadline_ms, 2000);
  p = request_policy(api::Json::parse(R"({"model":"m"})"), "", false, 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->deadline_ms, 0);
  EXPECT_FALSE(p->fallback.has_value());
}

TEST(RequestPolicy, OpenAiTopLevelFieldsAndFallbackList) {
  auto j = api::Json::parse(R"({"model":"m","deadline_ms":700,"fallback":["b","c"]})");
  auto p = request_policy(j, "", true, 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->deadline_ms, 700);
  ASSERT_TRUE(p->fallback.has_value());
  EXPECT_EQ(*p->fallback, (std::vector<std::string>{"b", "c"}));
  auto ollama = request_policy(j, "", false, 0);  // top level means nothing to the Ollama API
  ASSERT_TRUE(ollama.ok());
  EXPECT_EQ(ollama->deadline_ms, 0);
  EXPECT_FALSE(ollama->fallback.has_value());
}

TEST(RequestPolicy, WrongTypesAre400) {
  for (const char* body : {R"({"options":{"deadline_ms":"soon"}})", R"({"options":{"deadline_ms":-5}})",
                           R"({"options":{"deadline_ms":0}})", R"({"options":{"deadline_ms":1.5}})",
                           R"({"options":{"fallback":5}})", R"({"options":{"fallback":[1]}})",
                           R"({"options":{"fallback":[""]}})"}) {
    auto p = request_policy(api::Json::parse(body), "", false, 0);
    ASSERT_FALSE(p.ok()) << body;
    EXPECT_EQ(p.error.status, 400) << body;
  }
  for (const char* header : {"abc", "-1", "0", "1s"}) {
    auto p = request_policy(api::Json::object(), header, false, 0);
    ASSERT_FALSE(p.ok()) << header;
    EXPECT_NE(p.error.message.find("X-Request-Timeout"), std::string::npos);
  }
}

TEST(DefaultDeadline, DurationOrMilliseconds) {
  setenv("CORRAL_DEFAULT_DEADLINE", "30s", 1);
  EXPECT_EQ(default_deadline_ms_from_env(), 30000);
  setenv("CORRAL_DEFAULT_DEADLINE", "250", 1);
  EXPECT_EQ(default_deadline_ms_from_env(), 250);
  setenv("CORRAL_DEFAULT_DEADLINE", "soon", 1);
  EXPECT_EQ(default_deadline_ms_from_env(), 0);
  unsetenv("CORRAL_DEFAULT_DEADLINE");
  EXPECT_EQ(default_deadline_ms_from_env(), 0);
}

TEST(ResilienceMetrics, CountsFallbacksDeadlinesAndBreakerState) {
  Resilience r({}, {1, 60s}, 0);
  r.count_fallback("primary", kReasonLoadFailed);
  r.count_fallback("primary", kReasonLoadFailed);
  r.count_fallback("primary", kReasonOverloaded);
  r.count_deadline("generating");
  r.breakers.record_failure("primary");
  r.breakers.record_success("backup");
  const std::string text = r.render();
  EXPECT_NE(text.find("corral_fallbacks_total{model=\"primary\",reason=\"load_failed\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("corral_fallbacks_total{model=\"primary\",reason=\"overloaded\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("corral_deadline_exceeded_total{stage=\"generating\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("corral_model_breaker_state{model=\"primary\",state=\"open\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("corral_model_breaker_state{model=\"backup\",state=\"closed\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace corral::server
