// Strict parsing of Ollama wire types: wrong types are errors, unknown options are ignored.
#include "api/types.h"

#include <gtest/gtest.h>

namespace corral::api {
namespace {

Json J(const char* s) { return Json::parse(s); }

TEST(ApiTypes, GenerateRequestFields) {
  auto r = parse_generate_request(J(R"({"model":"m","prompt":"hi","stream":false,"raw":true,
    "options":{"temperature":0,"num_predict":5,"seed":42,"stop":["a","b"],"top_k":3.0},
    "keep_alive":"10m","format":"json","logprobs":true,"top_logprobs":3})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(r->prompt, "hi");
  EXPECT_FALSE(r->stream);
  EXPECT_TRUE(r->raw);
  EXPECT_EQ(*r->options.temperature, 0.0);
  EXPECT_EQ(*r->options.num_predict, 5);
  EXPECT_EQ(*r->options.seed, 42);
  EXPECT_EQ(*r->options.top_k, 3);
  EXPECT_EQ(r->options.stop->size(), 2u);
  EXPECT_EQ(*r->keep_alive, "10m");
  EXPECT_EQ(r->format, "json");
  EXPECT_TRUE(r->logprobs);
  EXPECT_EQ(r->top_logprobs, 3);
}

TEST(ApiTypes, KeepAliveNumberIsSeconds) {
  auto r = parse_generate_request(J(R"({"model":"m","keep_alive":0})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->keep_alive, "0");
  r = parse_generate_request(J(R"({"model":"m","keep_alive":-1})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->keep_alive, "-1");
  EXPECT_FALSE(parse_generate_request(J(R"({"model":"m","keep_alive":true})")).ok());
}

TEST(ApiTypes, WrongTypesAreErrors) {
  for (const char* bad : {R"({"model":1})", R"({"model":"m","prompt":3})", R"({"model":"m","stream":"no"})",
                          R"({"model":"m","options":{"temperature":"hot"}})",
                          R"({"model":"m","options":{"num_predict":"5"}})",
                          R"({"model":"m","options":{"stop":[1]}})", R"({"model":"m","options":[]})",
                          R"({"model":"m","context":["a"]})", R"({"model":"m","format":"xml"})",
                          R"({"model":"m","format":5})", R"({"model":"m","think":"extreme"})",
                          R"({"model":"m","top_logprobs":21})",
                          R"({"model":"m","raw":true,"system":"s"})"}) {
    EXPECT_FALSE(parse_generate_request(J(bad)).ok()) << bad;
  }
  auto r = parse_generate_request(J(R"({"model":"m","options":{"temperature":"hot"}})"));
  EXPECT_NE(r.error().message.find("temperature"), std::string::npos);
}

TEST(ApiTypes, UnknownOptionsAreIgnored) {
  auto r = parse_generate_request(J(R"({"model":"m","options":{"mirostat":2,"whatever":"x","top_p":0.5}})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->options.top_p, 0.5);
}

TEST(ApiTypes, ChatRequestMessagesAndTools) {
  auto r = parse_chat_request(J(R"({"model":"m","messages":[{"role":"user","content":"hi"},
    {"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"x":1}}}]},
    {"role":"tool","content":"1","tool_name":"f"}],"tools":[{"type":"function","function":{"name":"f"}}]})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->messages.size(), 3u);
  EXPECT_EQ(r->messages[1].tool_calls[0]["function"]["name"], "f");
  EXPECT_EQ(r->tools.size(), 1u);
  EXPECT_FALSE(parse_chat_request(J(R"({"model":"m","messages":"hi"})")).ok());
  EXPECT_FALSE(parse_chat_request(J(R"({"model":"m","messages":[{"role":"user","content":5}]})")).ok());
  EXPECT_FALSE(parse_chat_request(J(R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}]})")).ok());
}

TEST(ApiTypes, EmbedRequest) {
  auto r = parse_embed_request(J(R"({"model":"m","input":["a","b"],"dimensions":8})"), false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input.size(), 2u);
  EXPECT_EQ(r->dimensions, 8);
  r = parse_embed_request(J(R"({"model":"m","prompt":"a"})"), true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input.at(0), "a");
  EXPECT_FALSE(parse_embed_request(J(R"({"model":"m","input":[1]})"), false).ok());
}

TEST(ApiTypes, JsonBody) {
  EXPECT_FALSE(parse_json_body("{").ok());
  EXPECT_FALSE(parse_json_body("").ok());
  EXPECT_FALSE(parse_json_body("[1]").ok());
  EXPECT_TRUE(parse_json_body(R"({"a":1})").ok());
}

TEST(ApiTypes, Rfc3339Nano) {
  EXPECT_EQ(rfc3339_nano(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339_nano(1704164645123456789), "2024-01-02T03:04:05.123456789Z");
  EXPECT_EQ(rfc3339_nano(1704164645120000000), "2024-01-02T03:04:05.12Z");
}

TEST(ApiTypes, ErrorBodies) {
  EXPECT_EQ(error_body("model \"x\" not found, try pulling it first"),
            R"({"error":"model \"x\" not found, try pulling it first"})");
  EXPECT_EQ(openai_error_body("bad", "invalid_request_error"),
            R"({"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}})");
}

}  // namespace
}  // namespace corral::api
