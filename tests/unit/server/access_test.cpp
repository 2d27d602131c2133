// API keys: the file format and its refusals (never echoing a key), lookup, model lists, the
// token bucket on an injected monotonic clock, each API's error shape, and the Access verdicts
// (open paths, admin paths, the internal token); the Lifecycle's readiness and in-flight count.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "api/types.h"
#include "server/access.h"
#include "server/lifecycle.h"

namespace corral::server {
namespace {

constexpr const char* kA = "sk-aaaaaaaaaaaaaaaaaaaa";
constexpr const char* kB = "sk-bbbbbbbbbbbbbbbbbbbb";
constexpr int64_t kSec = 1000000000;

TEST(KeyRing, ParsesKeysModelsRatesAndComments) {
  auto r = KeyRing::parse(std::string("# keys\n\n") + kA + "  name=admin\n" + kB +
                          " models=stories,qwen3:0.6b rate=2/s # app\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto& ring = **r;
  ASSERT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring.key(0).label, "admin");
  EXPECT_EQ(ring.key(1).label, "line 4");
  EXPECT_FALSE(ring.key(0).restricted());
  EXPECT_TRUE(ring.key(1).restricted());
  EXPECT_EQ(ring.find(kA), 0);
  EXPECT_EQ(ring.find(kB), 1);
  EXPECT_EQ(ring.find("sk-aaaaaaaaaaaaaaaaaaab"), -1);
  EXPECT_EQ(ring.find(""), -1);
  EXPECT_EQ(ring.find(std::string(kA) + "a"), -1);
  EXPECT_TRUE(ring.allows_model(0, "anything"));
  EXPECT_TRUE(ring.allows_model(1, "stories"));
  EXPECT_TRUE(ring.allows_model(1, "stories:latest"));
  EXPECT_TRUE(ring.allows_model(1, "qwen3:0.6b"));
  EXPECT_FALSE(ring.allows_model(1, "qwen3"));
  EXPECT_FALSE(ring.allows_model(1, "stories2"));
  // The key itself is not kept.
  EXPECT_EQ(ring.key(0).digest.find(kA), std::string::npos);
}

TEST(KeyRing, RefusesBadLinesWithoutEchoingTheKey) {
  const std::string secret = "sk-secret-secret-secret";
  for (const std::string& text : {secret + " models=", secret + " rate=0/s", secret + " rate=5/d", secret + " rate=x/s",
                                 secret + " bogus=1", secret + " nofield", secret + " name=a name=b", std::string("short-key"),
                                 secret + "\n" + secret, std::string("# only comments\n"), std::string(""),
                                 std::string("sk-with-a-bad-char!-0123456789")}) {
    auto r = KeyRing::parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().message.find(secret), std::string::npos) << r.error().message;
  }
  auto r = KeyRing::parse(std::string(kA) + "\n" + kB + " rate=1/x\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("line 2"), std::string::npos) << r.error().message;
  // "*" in a model list means every model.
  auto any = KeyRing::parse(std::string(kA) + " models=a,*");
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE((*any)->allows_model(0, "zzz"));
}

TEST(KeyRing, TokenBucketRefillsOnTheMonotonicClock) {
  auto r = KeyRing::parse(std::string(kA) + " rate=3/m\n" + kB + "\n");
  ASSERT_TRUE(r.ok());
  auto& ring = **r;
  const int64_t t = 1000 * kSec;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ring.take(0, t));
  int64_t retry = 0;
  EXPECT_FALSE(ring.take(0, t, &retry));
  EXPECT_GT(retry, 19 * kSec);
  EXPECT_LE(retry, 20 * kSec + 1);
  EXPECT_FALSE(ring.take(0, t + 19 * kSec));
  EXPECT_TRUE(ring.take(0, t + 20 * kSec + 1));  // one request back every 20 s
  EXPECT_FALSE(ring.take(0, t + 20 * kSec + 2));
  // A clock that goes backwards gives nothing back; the bucket never holds more than n.
  EXPECT_FALSE(ring.take(0, t));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ring.take(0, t + 3600 * kSec));
  EXPECT_FALSE(ring.take(0, t + 3600 * kSec));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(ring.take(1, t));  // no rate: no limit
}

TEST(Access, PresentedKeyAndConstantTimeEqual) {
  EXPECT_EQ(presented_key("Bearer abc", ""), "abc");
  EXPECT_EQ(presented_key("  bearer   abc ", "x"), "abc");
  EXPECT_EQ(presented_key("Basic abc", "k"), "k");
  EXPECT_EQ(presented_key("", ""), "");
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Access, ErrorShapesPerApi) {
  EXPECT_EQ(api_flavor("/api/chat"), ApiFlavor::kOllama);
  EXPECT_EQ(api_flavor("/v1/chat/completions"), ApiFlavor::kOpenAI);
  EXPECT_EQ(api_flavor("/v1/messages"), ApiFlavor::kAnthropic);
  auto o = api::OJson::parse(error_body_for(ApiFlavor::kOllama, 401, "no"));
  EXPECT_EQ(o["error"], "no");
  auto oa = api::OJson::parse(error_body_for(ApiFlavor::kOpenAI, 401, "no", "invalid_api_key"));
  EXPECT_EQ(oa["error"]["message"], "no");
  EXPECT_EQ(oa["error"]["type"], "invalid_request_error");
  EXPECT_EQ(oa["error"]["code"], "invalid_api_key");
  EXPECT_EQ(api::OJson::parse(error_body_for(ApiFlavor::kOpenAI, 429, "slow"))["error"]["type"], "rate_limit_error");
  auto an = api::OJson::parse(error_body_for(ApiFlavor::kAnthropic, 403, "no"));
  EXPECT_EQ(an["type"], "error");
  EXPECT_EQ(an["error"]["type"], "permission_error");
}

TEST(Access, Verdicts) {
  const std::string path = testing::TempDir() + "/corral_keys_test";
  {
    std::ofstream f(path);
    f << kA << "\n" << kB << " models=stories rate=1/h\n";
  }
  Access a;
  EXPECT_FALSE(a.enabled());
  EXPECT_EQ(a.check("/api/chat", "", "", 0).status, 0);  // keys off: open
  ASSERT_TRUE(a.load(path).ok());
  EXPECT_TRUE(a.enabled());
  const std::string bearer_a = std::string("Bearer ") + kA, bearer_b = std::string("Bearer ") + kB;
  EXPECT_EQ(a.check("/health", "", "", 0).status, 0);
  EXPECT_EQ(a.check("/ready", "", "", 0).status, 0);
  EXPECT_EQ(a.check("/api/chat", "", "", 0).status, 401);
  EXPECT_EQ(a.check("/api/chat", "Bearer sk-nope-nope-nope-nope", "", 0).status, 401);
  EXPECT_EQ(a.check("/api/chat", bearer_a, "", 0).status, 0);
  EXPECT_EQ(a.check("/v1/messages", "", kA, 0).status, 0);  // x-api-key
  EXPECT_EQ(a.check("/api/pull", bearer_a, "", 0).status, 0);
  EXPECT_EQ(a.check("/api/pull", bearer_b, "", 0).status, 403);
  EXPECT_EQ(a.check("/v1/batches", bearer_b, "", 0).status, 403);
  EXPECT_EQ(a.check("/api/chat", bearer_b, "", 0).status, 0);
  auto v = a.check("/api/chat", bearer_b, "", kSec);
  EXPECT_EQ(v.status, 429);
  EXPECT_GE(v.retry_after_s, 3590);
  EXPECT_TRUE(a.model_allowed(bearer_a, "", "other"));
  EXPECT_TRUE(a.model_allowed(bearer_b, "", "stories"));
  EXPECT_FALSE(a.model_allowed(bearer_b, "", "other"));
  EXPECT_FALSE(a.model_allowed("", "", "stories"));
  // The internal token passes everything, including the rate limit, and is never a file key.
  auto in = a.check("/api/generate", a.internal_authorization(), "", 0);
  EXPECT_EQ(in.status, 0);
  EXPECT_TRUE(in.internal);
  EXPECT_TRUE(a.model_allowed(a.internal_authorization(), "", "other"));
  const std::string m = a.render_metrics();
  EXPECT_NE(m.find("corral_auth_rejected_total{reason=\"missing\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("corral_auth_rejected_total{reason=\"rate\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("corral_api_keys 2"), std::string::npos) << m;
  EXPECT_EQ(m.find(kA), std::string::npos);
  // A bad file keeps the keys in force; a missing file too.
  {
    std::ofstream f(path);
    f << "bad\n";
  }
  EXPECT_FALSE(a.load(path).ok());
  EXPECT_FALSE(a.load(path + ".missing").ok());
  EXPECT_EQ(a.n_keys(), 2u);
  EXPECT_TRUE(a.load("").ok());
  EXPECT_FALSE(a.enabled());
  std::remove(path.c_str());
}

TEST(Lifecycle, ReadinessAndInFlight) {
  Lifecycle l;
  EXPECT_EQ(l.not_ready_reason(), "");
  l.set_preload({"a", "b"});
  EXPECT_EQ(l.not_ready_reason(), "loading a");
  l.mark_preloaded("a", true);
  l.mark_preloaded("b", false);
  EXPECT_EQ(l.not_ready_reason(), "failed to load b");
  l.mark_preloaded("b", true);
  EXPECT_EQ(l.not_ready_reason(), "");
  int r1 = 0, r2 = 0;
  l.request_started(&r1);
  l.request_started(&r2);
  l.request_finished(&r1);
  l.request_finished(&r1);  // counted once
  int never = 0;
  l.request_finished(&never);  // never counted in: no effect
  EXPECT_EQ(l.in_flight(), 1);
  EXPECT_FALSE(l.wait_idle(0));
  l.request_finished(&r2);
  EXPECT_TRUE(l.wait_idle(0));
  l.begin_drain();
  EXPECT_EQ(l.not_ready_reason(), "draining");
  EXPECT_EQ(l.shutdown_generations(), 0u);
}

}  // namespace
}  // namespace corral::server
