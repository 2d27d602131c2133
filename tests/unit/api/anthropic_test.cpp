// Anthropic Messages request -> OpenAI chat request translation, and the Anthropic error shape.
#include "api/anthropic.h"

#include <gtest/gtest.h>

namespace corral::api {
namespace {

OJson J(const char* s) { return OJson::parse(s); }

Result<OJson> tr(const char* s, bool count = false) { return anthropic_to_chat(J(s), count); }

TEST(Anthropic, SystemAndTextMessages) {
  auto r = tr(R"({"model":"m","max_tokens":9,"system":[{"type":"text","text":"a"},{"type":"text","text":"b"}],
    "messages":[{"role":"system","content":"late"},{"role":"user","content":"hi"},
                {"role":"assistant","content":[{"type":"text","text":"x"},{"type":"text","text":"y"}]}],
    "temperature":0.5,"top_p":0.9,"top_k":4,"stop_sequences":["END"],"stream":true,"metadata":{"user_id":"u"}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const OJson& c = *r;
  EXPECT_EQ(c["model"], "m");
  EXPECT_EQ(c["max_tokens"], 9);
  ASSERT_EQ(c["messages"].size(), 4u);
  EXPECT_EQ(c["messages"][0], J(R"({"role":"system","content":"a\nb"})"));
  EXPECT_EQ(c["messages"][1], J(R"({"role":"system","content":"late"})"));
  EXPECT_EQ(c["messages"][2], J(R"({"role":"user","content":"hi"})"));
  EXPECT_EQ(c["messages"][3]["content"], "xy");
  EXPECT_EQ(c["temperature"], 0.5);
  EXPECT_EQ(c["top_p"], 0.9);
  EXPECT_EQ(c["top_k"], 4);
  EXPECT_EQ(c["stop"], J(R"(["END"])"));
  EXPECT_EQ(c["stream"], true);
  EXPECT_EQ(c["think"], false);  // Anthropic thinks only when asked
  EXPECT_FALSE(c.contains("metadata"));
}

TEST(Anthropic, ToolUseAndToolResultBecomeCallsAndToolMessages) {
  auto r = tr(R"({"model":"m","max_tokens":9,"messages":[
    {"role":"user","content":"weather?"},
    {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},
      {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo","days":2}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"sunny"}]},
      {"type":"text","text":"thanks"}]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const OJson& m = (*r)["messages"];
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[1]["role"], "assistant");
  EXPECT_EQ(m[1]["reasoning_content"], "hmm");
  ASSERT_EQ(m[1]["tool_calls"].size(), 1u);
  EXPECT_EQ(m[1]["tool_calls"][0]["id"], "toolu_1");
  EXPECT_EQ(m[1]["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(m[1]["tool_calls"][0]["function"]["arguments"].dump(), R"({"city":"Oslo","days":2})");  // order kept
  EXPECT_EQ(m[2], J(R"({"role":"tool","tool_call_id":"toolu_1","name":"get_weather","content":"sunny"})"));
  EXPECT_EQ(m[3], J(R"({"role":"user","content":"thanks"})"));
}

TEST(Anthropic, ToolResultErrorIsMarked) {
  auto r = tr(R"({"model":"m","max_tokens":9,"messages":[
    {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"boom","is_error":true}]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ((*r)["messages"].size(), 2u);  // no empty user message after the result
  EXPECT_EQ((*r)["messages"][1]["content"], "Error: boom");
}

TEST(Anthropic, ToolsAndToolChoice) {
  const char* tools = R"("tools":[{"name":"f","description":"d","input_schema":{"type":"object","properties":{"b":{},"a":{}}}}])";
  auto with = [&](const std::string& extra) {
    return anthropic_to_chat(OJson::parse(std::string(R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],)") +
                                          tools + extra + "}"),
                             false);
  };
  auto a = with("");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ((*a)["tools"][0]["type"], "function");
  EXPECT_EQ((*a)["tools"][0]["function"]["name"], "f");
  EXPECT_EQ((*a)["tools"][0]["function"]["description"], "d");
  EXPECT_EQ((*a)["tools"][0]["function"]["parameters"].dump(), R"({"type":"object","properties":{"b":{},"a":{}}})");
  EXPECT_FALSE(a->contains("tool_choice"));
  EXPECT_EQ((*with(R"(,"tool_choice":{"type":"auto"})"))["tool_choice"], "auto");
  EXPECT_EQ((*with(R"(,"tool_choice":{"type":"any"})"))["tool_choice"], "required");
  EXPECT_EQ((*with(R"(,"tool_choice":{"type":"none"})"))["tool_choice"], "none");
  auto named = with(R"(,"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true})");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ((*named)["tool_choice"], J(R"({"type":"function","function":{"name":"f"}})"));
  EXPECT_EQ((*named)["parallel_tool_calls"], false);
  EXPECT_FALSE(with(R"(,"tool_choice":{"type":"sometimes"})").ok());
  EXPECT_FALSE(with(R"(,"tool_choice":"auto")").ok());
}

TEST(Anthropic, Thinking) {
  auto on = tr(R"({"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled","budget_tokens":2048}})");
  ASSERT_TRUE(on.ok());
  EXPECT_EQ((*on)["think"], true);
  auto off = tr(R"({"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"disabled"}})");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ((*off)["think"], false);
  EXPECT_FALSE(tr(R"({"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"maybe"}})").ok());
  EXPECT_FALSE(tr(R"({"model":"m","max_tokens":9,"messages":[{"role":"user","content":"x"}],"thinking":true})").ok());
}

TEST(Anthropic, MaxTokensRequiredExceptForCountTokens) {
  auto r = tr(R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("max_tokens"), std::string::npos);
  EXPECT_TRUE(tr(R"({"model":"m","messages":[{"role":"user","content":"x"}]})", true).ok());
  EXPECT_FALSE(tr(R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})").ok());
  EXPECT_FALSE(tr(R"({"model":"m","max_tokens":"9","messages":[{"role":"user","content":"x"}]})").ok());
}

TEST(Anthropic, BadRequestsNameTheProblem) {
  struct Case { const char* body; const char* needle; };
  const Case cases[] = {
      {R"([])", "object"},
      {R"({"max_tokens":1,"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"model":"m","max_tokens":1,"messages":[]})", "messages"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"bot","content":"x"}]})", "bot"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"nope","content":"x"}]}]})", "nope"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]})", "image"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_use","id":"a","name":"f","input":{}}]}]})", "assistant"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":7}]})", "content"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"system":5})", "system"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"stop_sequences":"x"})", "stop_sequences"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f"}]})", "input_schema"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"w"}]})", "server tools"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", "temperature"},
      {R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"metadata":[]})", "metadata"},
  };
  for (const auto& c : cases) {
    auto r = tr(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << c.body << " -> " << r.error().message;
  }
}

TEST(Anthropic, ExtensionsPassThrough) {
  auto r = tr(R"({"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"seed":3,"grammar":"root ::= \"a\"","options":{"num_ctx":64}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["seed"], 3);
  EXPECT_EQ((*r)["grammar"], "root ::= \"a\"");
  EXPECT_EQ((*r)["options"]["num_ctx"], 64);
}

TEST(Anthropic, ErrorShape) {
  EXPECT_STREQ(anthropic_error_type(400), "invalid_request_error");
  EXPECT_STREQ(anthropic_error_type(404), "not_found_error");
  EXPECT_STREQ(anthropic_error_type(429), "rate_limit_error");
  EXPECT_STREQ(anthropic_error_type(500), "api_error");
  EXPECT_STREQ(anthropic_error_type(503), "overloaded_error");
  EXPECT_EQ(OJson::parse(anthropic_error_body("bad \"x\"", "invalid_request_error")),
            J(R"({"type":"error","error":{"type":"invalid_request_error","message":"bad \"x\""}})"));
}

}  // namespace
}  // namespace corral::api
