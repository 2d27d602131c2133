// responses_reply: output items, response objects, the conversation kept for
// previous_response_id, and the Responses stream event sequence.
#include "server/responses_reply.h"

#include <gtest/gtest.h>

#include <sstream>

namespace corral::server {
namespace {

using api::OJson;

std::vector<OJson> parse_events(const std::string& sse) {
  std::vector<OJson> out;
  std::istringstream in(sse);
  std::string event, data, blank;
  while (std::getline(in, event)) {
    EXPECT_TRUE(std::getline(in, data));
    EXPECT_TRUE(std::getline(in, blank));
    EXPECT_EQ(event.rfind("event: ", 0), 0u) << event;
    EXPECT_EQ(data.rfind("data: ", 0), 0u) << data;
    OJson j = OJson::parse(data.substr(6));
    EXPECT_EQ(event.substr(7), j["type"].get<std::string>());
    out.push_back(std::move(j));
  }
  return out;
}

ToolCall call(const char* name, const char* args) { return ToolCall{name, OJson::parse(args)}; }

GenerateEvent done(const char* reason, int32_t prompt, int32_t eval) {
  GenerateEvent ev;
  ev.done = true;
  ev.done_reason = reason;
  ev.prompt_tokens = prompt;
  ev.prompt_eval_count = prompt;
  ev.eval_count = eval;
  return ev;
}

TEST(ResponsesReply, OutputItems) {
  ChatOutputParser::Out out;
  out.thinking = "hmm";
  out.content = "Hi";
  out.calls = {call("f", R"({"b":1,"a":2})")};
  const OJson items = responses_output(out);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]["type"], "reasoning");
  EXPECT_EQ(items[0]["content"][0]["text"], "hmm");
  EXPECT_EQ(items[1]["type"], "message");
  EXPECT_EQ(items[1]["role"], "assistant");
  EXPECT_EQ(items[1]["content"][0]["type"], "output_text");
  EXPECT_EQ(items[1]["content"][0]["text"], "Hi");
  EXPECT_EQ(items[2]["type"], "function_call");
  EXPECT_EQ(items[2]["arguments"], R"({"b":1,"a":2})");
  EXPECT_EQ(items[2]["call_id"].get<std::string>().rfind("call_", 0), 0u);
  EXPECT_EQ(items[2]["id"].get<std::string>().rfind("fc_", 0), 0u);
  ChatOutputParser::Out only_call;
  only_call.calls = {call("g", "{}")};
  EXPECT_EQ(responses_output(only_call).size(), 1u);
  EXPECT_EQ(responses_output(ChatOutputParser::Out{})[0]["content"][0]["text"], "");
}

TEST(ResponsesReply, ConversationFromOutput) {
  ChatOutputParser::Out out;
  out.thinking = "t";
  out.content = "c";
  out.calls = {call("f", R"({"x":1})")};
  const OJson items = responses_output(out);
  const OJson msgs = responses_output_messages(items);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0]["role"], "assistant");
  EXPECT_EQ(msgs[0]["content"], "c");
  EXPECT_EQ(msgs[0]["reasoning_content"], "t");
  EXPECT_EQ(msgs[0]["tool_calls"][0]["id"], items[2]["call_id"]);
  EXPECT_EQ(msgs[0]["tool_calls"][0]["function"]["arguments"], OJson::parse(R"({"x":1})"));
}

TEST(ResponsesReply, ResponseObjectEchoesTheRequest) {
  ResponseMeta meta{"resp_1", "qwen", 100, OJson::parse(R"({"instructions":"i","max_output_tokens":5,"store":false,"temperature":0.3})")};
  const GenerateEvent last = done("length", 10, 5);
  EXPECT_EQ(response_status(last), "incomplete");
  EXPECT_EQ(response_status(done("stop", 1, 1)), "completed");
  const OJson r = response_object(meta, "incomplete", OJson::array(), &last);
  EXPECT_EQ(r["id"], "resp_1");
  EXPECT_EQ(r["object"], "response");
  EXPECT_EQ(r["created_at"], 100);
  EXPECT_EQ(r["model"], "qwen");
  EXPECT_EQ(r["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(r["instructions"], "i");
  EXPECT_EQ(r["max_output_tokens"], 5);
  EXPECT_EQ(r["store"], false);
  EXPECT_EQ(r["temperature"], 0.3);
  EXPECT_EQ(r["tool_choice"], "auto");
  EXPECT_EQ(r["usage"]["input_tokens"], 10);
  EXPECT_EQ(r["usage"]["output_tokens"], 5);
  EXPECT_EQ(r["usage"]["total_tokens"], 15);
  EXPECT_TRUE(response_object(meta, "in_progress", OJson::array(), nullptr)["usage"].is_null());
}

TEST(ResponsesReply, StreamEventSequence) {
  ResponsesStream s(ResponseMeta{"resp_s", "qwen", 1, OJson::object()});
  std::string sse = s.start();
  ChatOutputParser::Out p1;
  p1.thinking = "a";
  sse += s.push(p1);
  ChatOutputParser::Out p2;
  p2.thinking = "b";
  p2.content = "Hi";
  sse += s.push(p2);
  ChatOutputParser::Out p3;
  p3.content = "!";
  p3.calls = {call("f", R"({"x":1})")};
  sse += s.push(p3);
  sse += s.finish(done("stop", 4, 6));
  const auto evs = parse_events(sse);
  std::vector<std::string> types;
  for (const auto& e : evs) types.push_back(e["type"]);
  const std::vector<std::string> want = {
      "response.created", "response.in_progress",
      "response.output_item.added", "response.content_part.added", "response.reasoning_text.delta",
      "response.reasoning_text.delta", "response.reasoning_text.done", "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added", "response.content_part.added", "response.output_text.delta",
      "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done",
      "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done",
      "response.output_item.done", "response.completed"};
  EXPECT_EQ(types, want);
  for (size_t i = 0; i < evs.size(); ++i) EXPECT_EQ(evs[i]["sequence_number"], i);
  EXPECT_EQ(evs[0]["response"]["status"], "in_progress");
  EXPECT_EQ(evs[3]["part"]["type"], "reasoning_text");
  EXPECT_EQ(evs[7]["part"]["text"], "ab");
  EXPECT_EQ(evs[8]["item"]["content"][0]["text"], "ab");
  EXPECT_EQ(evs[11]["output_index"], 1);
  EXPECT_EQ(evs[13]["text"], "Hi!");
  EXPECT_EQ(evs[15]["item"]["status"], "completed");
  EXPECT_EQ(evs[16]["output_index"], 2);
  EXPECT_EQ(evs[16]["item"]["arguments"], "");
  EXPECT_EQ(evs[18]["arguments"], R"({"x":1})");
  const OJson& final = evs.back()["response"];
  EXPECT_EQ(final["status"], "completed");
  ASSERT_EQ(final["output"].size(), 3u);
  EXPECT_EQ(final["output"], s.output());
  EXPECT_EQ(final["usage"]["output_tokens"], 6);
}

TEST(ResponsesReply, EmptyAndIncompleteStream) {
  ResponsesStream s(ResponseMeta{"r", "q", 1, OJson::object()});
  const auto evs = parse_events(s.start() + s.push(ChatOutputParser::Out{}) + s.finish(done("length", 1, 3)));
  ASSERT_EQ(evs.size(), 8u);
  EXPECT_EQ(evs[2]["type"], "response.output_item.added");
  EXPECT_EQ(evs.back()["type"], "response.incomplete");
  EXPECT_EQ(evs.back()["response"]["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(evs.back()["response"]["output"][0]["content"][0]["text"], "");
}

}  // namespace
}  // namespace corral::server
