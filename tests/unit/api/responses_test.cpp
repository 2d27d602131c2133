// OpenAI Responses request -> OpenAI chat request translation.
#include "api/responses.h"

#include <gtest/gtest.h>

namespace corral::api {
namespace {

OJson J(const char* s) { return OJson::parse(s); }

Result<ResponsesChat> tr(const char* s, const char* history = "[]") { return responses_to_chat(J(s), J(history)); }

TEST(Responses, StringInputAndInstructions) {
  auto r = tr(R"({"model":"m","input":"hi","instructions":"be brief","max_output_tokens":7,"temperature":0.1,"top_p":0.5,"stream":true,
    "store":false,"metadata":{"k":"v"}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->chat["model"], "m");
  EXPECT_EQ(r->chat["messages"], J(R"([{"role":"system","content":"be brief"},{"role":"user","content":"hi"}])"));
  EXPECT_EQ(r->conversation, J(R"([{"role":"user","content":"hi"}])"));  // instructions are not carried over
  EXPECT_EQ(r->chat["max_tokens"], 7);
  EXPECT_EQ(r->chat["temperature"], 0.1);
  EXPECT_EQ(r->chat["top_p"], 0.5);
  EXPECT_EQ(r->chat["stream"], true);
  EXPECT_FALSE(r->chat.contains("store"));
  EXPECT_FALSE(r->chat.contains("metadata"));
}

TEST(Responses, ItemsBecomeChatMessages) {
  auto r = tr(R"({"model":"m","input":[
    {"role":"developer","content":"dev"},
    {"type":"message","role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_text","text":"b"}]},
    {"type":"reasoning","id":"rs_1","summary":[],"content":[{"type":"reasoning_text","text":"hmm"}]},
    {"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{\"z\":1,\"a\":2}"},
    {"type":"function_call","id":"fc_2","call_id":"call_2","name":"g","arguments":"{}"},
    {"type":"function_call_output","call_id":"call_1","output":"r1"},
    {"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"r2"}]},
    {"role":"assistant","content":[{"type":"output_text","text":"done"}]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const OJson& m = r->chat["messages"];
  ASSERT_EQ(m.size(), 6u) << m.dump();
  EXPECT_EQ(m[0], J(R"({"role":"system","content":"dev"})"));
  EXPECT_EQ(m[1], J(R"({"role":"user","content":"ab"})"));
  EXPECT_EQ(m[2]["role"], "assistant");
  EXPECT_EQ(m[2]["reasoning_content"], "hmm");
  ASSERT_EQ(m[2]["tool_calls"].size(), 2u);
  EXPECT_EQ(m[2]["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(m[2]["tool_calls"][0]["function"]["arguments"].dump(), R"({"z":1,"a":2})");
  EXPECT_EQ(m[3], J(R"({"role":"tool","tool_call_id":"call_1","name":"f","content":"r1"})"));
  EXPECT_EQ(m[4], J(R"({"role":"tool","tool_call_id":"call_2","name":"g","content":"r2"})"));
  EXPECT_EQ(m[5], J(R"({"role":"assistant","content":"done"})"));
  EXPECT_EQ(r->conversation, m);
}

TEST(Responses, HistoryIsContinued) {
  const char* history = R"([{"role":"user","content":"q"},
    {"role":"assistant","content":"","tool_calls":[{"id":"call_9","type":"function","function":{"name":"f","arguments":{}}}]}])";
  auto r = tr(R"({"model":"m","instructions":"sys","input":[{"type":"function_call_output","call_id":"call_9","output":"ok"}]})", history);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const OJson& m = r->chat["messages"];
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0]["role"], "system");
  EXPECT_EQ(m[1]["content"], "q");
  EXPECT_EQ(m[3], J(R"({"role":"tool","tool_call_id":"call_9","name":"f","content":"ok"})"));
  EXPECT_EQ(r->conversation.size(), 3u);
}

TEST(Responses, ToolsChoiceFormatReasoning) {
  auto r = tr(R"({"model":"m","input":"x","tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object","properties":{"b":{},"a":{}}},"strict":true}],
    "tool_choice":{"type":"function","name":"f"},"parallel_tool_calls":false,
    "text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}},"reasoning":{"effort":"low"}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const OJson& c = r->chat;
  EXPECT_EQ(c["tools"][0]["function"]["name"], "f");
  EXPECT_EQ(c["tools"][0]["function"]["parameters"].dump(), R"({"type":"object","properties":{"b":{},"a":{}}})");
  EXPECT_EQ(c["tool_choice"], J(R"({"type":"function","function":{"name":"f"}})"));
  EXPECT_EQ(c["parallel_tool_calls"], false);
  EXPECT_EQ(c["response_format"], J(R"({"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object"}}})"));
  EXPECT_EQ(c["reasoning"], J(R"({"effort":"low"})"));
  auto obj = tr(R"({"model":"m","input":"x","text":{"format":{"type":"json_object"}},"tool_choice":"required"})");
  ASSERT_TRUE(obj.ok());
  EXPECT_EQ(obj->chat["response_format"], J(R"({"type":"json_object"})"));
  EXPECT_EQ(obj->chat["tool_choice"], "required");
  auto text = tr(R"({"model":"m","input":"x","text":{"format":{"type":"text"}}})");
  ASSERT_TRUE(text.ok());
  EXPECT_FALSE(text->chat.contains("response_format"));
}

TEST(Responses, BadRequestsNameTheProblem) {
  struct Case { const char* body; const char* needle; };
  const Case cases[] = {
      {R"("x")", "object"},
      {R"({"input":"x"})", "model"},
      {R"({"model":"m"})", "input"},
      {R"({"model":"m","input":5})", "input"},
      {R"({"model":"m","input":[]})", "at least one"},
      {R"({"model":"m","input":[{"type":"function_call_output","call_id":"call_x","output":"o"}]})", "call_x"},
      {R"({"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"[1]"}]})", "arguments"},
      {R"({"model":"m","input":[{"role":"robot","content":"x"}]})", "robot"},
      {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"u"}]}]})", "input_image"},
      {R"({"model":"m","input":[{"type":"item_reference","id":"x"}]})", "item_reference"},
      {R"({"model":"m","input":"x","tools":[{"type":"web_search"}]})", "function tools"},
      {R"({"model":"m","input":"x","tool_choice":{"type":"mcp"}})", "tool_choice"},
      {R"({"model":"m","input":"x","text":{"format":{"type":"json_schema"}}})", "schema"},
      {R"({"model":"m","input":"x","text":{"format":{"type":"xml"}}})", "xml"},
      {R"({"model":"m","input":"x","max_output_tokens":0})", "max_output_tokens"},
      {R"({"model":"m","input":"x","store":"yes"})", "store"},
      {R"({"model":"m","input":"x","previous_response_id":5})", "previous_response_id"},
      {R"({"model":"m","input":"x","instructions":["a"]})", "instructions"},
      {R"({"model":"m","input":"x","reasoning":{"effort":3}})", "effort"},
  };
  for (const auto& c : cases) {
    auto r = tr(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << c.body << " -> " << r.error().message;
  }
}

}  // namespace
}  // namespace corral::api
