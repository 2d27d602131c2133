// anthropic_reply: stop reasons, content blocks and the SSE event sequence of /v1/messages.
#include "server/anthropic_reply.h"

#include <gtest/gtest.h>

#include <sstream>

namespace corral::server {
namespace {

using api::OJson;

// The data objects of an SSE text, checking each event line names the data's type.
std::vector<OJson> parse_events(const std::string& sse) {
  std::vector<OJson> out;
  std::istringstream in(sse);
  std::string event, data, blank;
  while (std::getline(in, event)) {
    EXPECT_TRUE(std::getline(in, data));
    EXPECT_TRUE(std::getline(in, blank));
    EXPECT_EQ(event.rfind("event: ", 0), 0u) << event;
    EXPECT_EQ(data.rfind("data: ", 0), 0u) << data;
    EXPECT_EQ(blank, "");
    OJson j = OJson::parse(data.substr(6));
    EXPECT_EQ(event.substr(7), j["type"].get<std::string>());
    out.push_back(std::move(j));
  }
  return out;
}

ToolCall call(const char* name, const char* args) { return ToolCall{name, OJson::parse(args)}; }

TEST(AnthropicReply, StopReason) {
  GenerateEvent ev;
  ev.done = true;
  ev.done_reason = "stop";
  EXPECT_EQ(anthropic_stop_reason(ev, false, ""), "end_turn");
  EXPECT_EQ(anthropic_stop_reason(ev, false, "END"), "stop_sequence");
  EXPECT_EQ(anthropic_stop_reason(ev, true, ""), "tool_use");
  ev.done_reason = "length";
  EXPECT_EQ(anthropic_stop_reason(ev, false, ""), "max_tokens");
  EXPECT_EQ(anthropic_stop_reason(ev, true, ""), "tool_use");
}

TEST(AnthropicReply, ContentBlocksInOrder) {
  ChatOutputParser::Out out;
  out.thinking = "hmm";
  out.content = "calling";
  out.calls = {call("f", R"({"b":1,"a":2})")};
  const OJson c = anthropic_content(out);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], OJson::parse(R"({"type":"thinking","thinking":"hmm","signature":""})"));
  EXPECT_EQ(c[1], OJson::parse(R"({"type":"text","text":"calling"})"));
  EXPECT_EQ(c[2]["type"], "tool_use");
  EXPECT_EQ(c[2]["name"], "f");
  EXPECT_EQ(c[2]["input"].dump(), R"({"b":1,"a":2})");
  EXPECT_EQ(c[2]["id"].get<std::string>().rfind("toolu_", 0), 0u);
  EXPECT_EQ(anthropic_content(ChatOutputParser::Out{}), OJson::parse(R"([{"type":"text","text":""}])"));
  ChatOutputParser::Out only_call;
  only_call.calls = {call("g", "{}")};
  EXPECT_EQ(anthropic_content(only_call).size(), 1u);  // no empty text block beside a call
}

TEST(AnthropicReply, MessageObject) {
  const OJson m = anthropic_message("msg_1", "qwen", OJson::array(), "stop_sequence", "END", 12, 3);
  EXPECT_EQ(m, OJson::parse(R"({"id":"msg_1","type":"message","role":"assistant","model":"qwen","content":[],
    "stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":12,"output_tokens":3}})"));
  EXPECT_TRUE(anthropic_message("m", "q", OJson::array(), "end_turn", "", 1, 1)["stop_sequence"].is_null());
}

TEST(AnthropicReply, StreamEventSequence) {
  AnthropicStream s("msg_x", "qwen");
  std::string sse = s.start(17);
  ChatOutputParser::Out p1;
  p1.thinking = "a";
  sse += s.push(p1);
  p1.thinking = "b";
  sse += s.push(p1);
  ChatOutputParser::Out p2;
  p2.thinking = "c";
  p2.content = "Hi";
  sse += s.push(p2);
  ChatOutputParser::Out p3;
  p3.content = "!";
  p3.calls = {call("f", R"({"x":1})"), call("g", "{}")};
  sse += s.push(p3);
  EXPECT_TRUE(s.has_calls());
  sse += s.finish("tool_use", "", 9);
  const auto evs = parse_events(sse);
  std::vector<std::string> types;
  for (const auto& e : evs) types.push_back(e["type"]);
  const std::vector<std::string> want = {
      "message_start", "ping",
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",  // thinking
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",  // text
      "content_block_start", "content_block_delta", "content_block_stop",  // f
      "content_block_start", "content_block_delta", "content_block_stop",  // g
      "message_delta", "message_stop"};
  EXPECT_EQ(types, want);
  EXPECT_EQ(evs[0]["message"]["id"], "msg_x");
  EXPECT_EQ(evs[0]["message"]["usage"]["input_tokens"], 17);
  EXPECT_EQ(evs[2]["index"], 0);
  EXPECT_EQ(evs[2]["content_block"]["type"], "thinking");
  EXPECT_EQ(evs[5]["delta"], OJson::parse(R"({"type":"thinking_delta","thinking":"c"})"));
  EXPECT_EQ(evs[7]["index"], 1);
  EXPECT_EQ(evs[9]["delta"], OJson::parse(R"({"type":"text_delta","text":"!"})"));
  EXPECT_EQ(evs[11]["index"], 2);
  EXPECT_EQ(evs[11]["content_block"]["name"], "f");
  EXPECT_EQ(evs[12]["delta"], OJson::parse(R"({"type":"input_json_delta","partial_json":"{\"x\":1}"})"));
  EXPECT_EQ(evs[14]["index"], 3);
  EXPECT_EQ(evs[17]["delta"]["stop_reason"], "tool_use");
  EXPECT_TRUE(evs[17]["delta"]["stop_sequence"].is_null());
  EXPECT_EQ(evs[17]["usage"]["output_tokens"], 9);
}

TEST(AnthropicReply, EmptyStreamStillHasOneTextBlock) {
  AnthropicStream s("m", "q");
  std::string sse = s.start(1) + s.push(ChatOutputParser::Out{}) + s.finish("max_tokens", "", 0);
  const auto evs = parse_events(sse);
  ASSERT_EQ(evs.size(), 6u);
  EXPECT_EQ(evs[2]["content_block"], OJson::parse(R"({"type":"text","text":""})"));
  EXPECT_EQ(evs[3]["type"], "content_block_stop");
  EXPECT_EQ(evs[4]["delta"]["stop_reason"], "max_tokens");
}

}  // namespace
}  // namespace corral::server
