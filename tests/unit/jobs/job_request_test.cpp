// Job body and batch-line validation (every refusal names the field or line), durations, and the
// webhook signature against a known HMAC-SHA256 vector.
#include <gtest/gtest.h>

#include "jobs/job_request.h"
#include "jobs/webhook.h"

namespace corral::jobs {
namespace {

using api::Json;

Result<NewJob> submit(const char* text) { return parse_job_submission(Json::parse(text)); }

TEST(JobRequest, ValidSubmissionForcesStreamOff) {
  auto j = submit(R"({"type":"generate","request":{"model":"m","prompt":"hi","stream":true},"priority":4,
                      "deadline_ms":1500,"webhook":{"url":"https://example.test/h","secret":"k"}})");
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ(j->type, "generate");
  EXPECT_EQ(j->model, "m");
  EXPECT_EQ(j->priority, 4);
  EXPECT_EQ(j->deadline_ms, 1500);
  EXPECT_EQ(j->webhook_url, "https://example.test/h");
  EXPECT_EQ(j->webhook_secret, "k");
  EXPECT_EQ(Json::parse(j->request)["stream"], false);
}

TEST(JobRequest, BadSubmissionsNameTheProblem) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([1])", "object"},
      {R"({"request":{"model":"m","prompt":"x"}})", "type is required"},
      {R"({"type":"nope","request":{}})", "type must be one of"},
      {R"({"type":"generate"})", "request is required"},
      {R"({"type":"generate","request":"x"})", "request must be an object"},
      {R"({"type":"generate","request":{"prompt":"x"}})", "model is required"},
      {R"({"type":"generate","request":{"model":"m"}})", "prompt is required"},
      {R"({"type":"generate","request":{"model":"m","prompt":1}})", "prompt"},
      {R"({"type":"chat","request":{"model":"m","messages":[]}})", "messages"},
      {R"({"type":"chat","request":{"model":"m","messages":"hi"}})", "messages"},
      {R"({"type":"embed","request":{"model":"m"}})", "input"},
      {R"({"type":"openai.chat","request":{"model":"m","messages":[{"content":"x"}]}})", "role"},
      {R"({"type":"openai.chat","request":{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}})", "n must be 1"},
      {R"({"type":"openai.embeddings","request":{"model":"m"}})", "input"},
      {R"({"type":"generate","request":{"model":"m","prompt":"x"},"priority":1.5})", "priority"},
      {R"({"type":"generate","request":{"model":"m","prompt":"x"},"priority":99999999})", "priority"},
      {R"({"type":"generate","request":{"model":"m","prompt":"x"},"deadline_ms":0})", "deadline_ms"},
      {R"({"type":"generate","request":{"model":"m","prompt":"x"},"webhook":"http://x"})", "webhook"},
      {R"({"type":"generate","request":{"model":"m","prompt":"x"},"webhook":{"url":"file:///etc"}})", "webhook.url"},
      {R"({"type":"generate","request":{"model":"m","prompt":"x"},"webhook":{"url":"http://x","secret":1}})", "secret"},
      {R"({"type":"generate","request":{"model":"m","prompt":"x"},"priorty":1})", "unknown field \"priorty\""},
  };
  for (const auto& [body, want] : cases) {
    auto j = submit(body);
    ASSERT_FALSE(j.ok()) << body;
    EXPECT_NE(j.error().message.find(want), std::string::npos) << body << " -> " << j.error().message;
  }
}

TEST(JobRequest, BatchFileLinesAndErrors) {
  const std::string ok1 =
      R"({"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":"x"}]}})";
  const std::string ok2 =
      R"({"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":"y"}]}})";
  auto jobs = parse_batch_jsonl(ok1 + "\r\n\n" + ok2, "/v1/chat/completions");
  ASSERT_TRUE(jobs.ok()) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].custom_id, "a");
  EXPECT_EQ((*jobs)[1].type, "openai.chat");
  auto dup = parse_batch_jsonl(ok1 + "\n" + ok1, "/v1/chat/completions");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("line 2: duplicate custom_id"), std::string::npos);
  auto wrong_url = parse_batch_jsonl(ok1, "/v1/embeddings");
  ASSERT_FALSE(wrong_url.ok());
  EXPECT_NE(wrong_url.error().message.find("line 1"), std::string::npos);
  auto bad_json = parse_batch_jsonl(ok1 + "\n{oops", "/v1/chat/completions");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.error().message.find("line 2"), std::string::npos);
  EXPECT_FALSE(parse_batch_jsonl("\n\n", "/v1/chat/completions").ok());
  EXPECT_FALSE(parse_batch_jsonl(ok1 + "\n" + ok2, "/v1/chat/completions", 1).ok());
  auto no_id = parse_batch_line(R"({"method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x"}})",
                                "/v1/embeddings");
  EXPECT_FALSE(no_id.ok());
}

TEST(JobRequest, SubmitLinesOfBothShapes) {
  auto a = job_body_from_line(R"({"type":"embed","request":{"model":"m","input":"x"}})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)["type"], "embed");
  auto b = job_body_from_line(
      R"({"custom_id":"q","url":"/v1/embeddings","body":{"model":"m","input":"x"}})");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ((*b)["type"], "openai.embeddings");
  EXPECT_EQ((*b)["request"]["stream"], false);
  EXPECT_FALSE(job_body_from_line("not json").ok());
  EXPECT_FALSE(job_body_from_line(R"({"url":"/v1/unknown","custom_id":"x","body":{}})").ok());
}

TEST(JobRequest, Durations) {
  EXPECT_EQ(*parse_duration_ms("24h"), 86400000);
  EXPECT_EQ(*parse_duration_ms("30m"), 1800000);
  EXPECT_EQ(*parse_duration_ms("2s"), 2000);
  EXPECT_EQ(*parse_duration_ms("250ms"), 250);
  EXPECT_EQ(*parse_duration_ms("7"), 7000);
  EXPECT_EQ(*parse_duration_ms("1.5s"), 1500);
  for (const char* bad : {"", "h", "5x", "-1s", "0", "0.1ms", "1e99h"}) EXPECT_FALSE(parse_duration_ms(bad).ok()) << bad;
}

TEST(Webhook, SignatureIsHmacSha256OfTheBody) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(webhook_signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_NE(webhook_signature("Jefe", "what do ya want for nothing!"), webhook_signature("Jefe", "what do ya want for nothing?"));
}

}  // namespace
}  // namespace corral::jobs
