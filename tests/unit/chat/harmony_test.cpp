// HarmonyParser (gpt-oss replies): every channel, tool calls in both header orders with nested
// JSON, streaming split anywhere (inside markers too) giving the whole-text result, and
// malformed or unterminated input kept as content.
#include <gtest/gtest.h>

#include "chat/harmony.h"
#include "chat/output_parser.h"

namespace corral {
namespace {

using json = nlohmann::ordered_json;

HarmonyParser::Out parse_whole(std::string_view text) {
  HarmonyParser p;
  HarmonyParser::Out out = p.push(text);
  HarmonyParser::Out tail = p.finish();
  out.thinking += tail.thinking;
  out.content += tail.content;
  for (auto& c : tail.calls) out.calls.push_back(std::move(c));
  return out;
}

// Every split point (two pieces) and every piece size 1..9 give the whole-text result; content
// and thinking never show a byte that the whole-text parse does not.
void expect_stream_equal(std::string_view text) {
  const auto whole = parse_whole(text);
  auto check = [&](const std::vector<std::string_view>& pieces, const std::string& how) {
    HarmonyParser p;
    HarmonyParser::Out got;
    for (auto piece : pieces) {
      auto o = p.push(piece);
      got.thinking += o.thinking;
      got.content += o.content;
      for (auto& c : o.calls) got.calls.push_back(std::move(c));
      EXPECT_EQ(whole.thinking.substr(0, got.thinking.size()), got.thinking) << how;
      EXPECT_EQ(whole.content.substr(0, got.content.size()), got.content) << how;
    }
    auto o = p.finish();
    got.thinking += o.thinking;
    got.content += o.content;
    for (auto& c : o.calls) got.calls.push_back(std::move(c));
    EXPECT_EQ(got.thinking, whole.thinking) << how << " on " << text;
    EXPECT_EQ(got.content, whole.content) << how << " on " << text;
    ASSERT_EQ(got.calls.size(), whole.calls.size()) << how << " on " << text;
    for (size_t i = 0; i < got.calls.size(); ++i) {
      EXPECT_EQ(got.calls[i].name, whole.calls[i].name) << how;
      EXPECT_EQ(got.calls[i].arguments, whole.calls[i].arguments) << how;
    }
  };
  for (size_t cut = 0; cut <= text.size(); ++cut)
    check({text.substr(0, cut), text.substr(cut)}, "cut at " + std::to_string(cut));
  for (size_t step = 1; step <= 9; ++step) {
    std::vector<std::string_view> pieces;
    for (size_t i = 0; i < text.size(); i += step) pieces.push_back(text.substr(i, step));
    check(pieces, "step " + std::to_string(step));
  }
}

TEST(Harmony, RecognisesTemplatesAndEfforts) {
  EXPECT_TRUE(is_harmony_template("{{- \"<|start|>assistant<|channel|>final<|message|>\" + m }}"));
  EXPECT_FALSE(is_harmony_template("<|im_start|>assistant\n<think>"));
  EXPECT_FALSE(is_harmony_template("<|channel|> only"));
  EXPECT_TRUE(is_harmony_reasoning_effort("low"));
  EXPECT_TRUE(is_harmony_reasoning_effort("high"));
  EXPECT_FALSE(is_harmony_reasoning_effort("max"));
  EXPECT_FALSE(is_harmony_reasoning_effort("true"));
}

TEST(Harmony, AnalysisThenFinal) {
  const std::string text =
      "<|channel|>analysis<|message|>User asks 2+2. Answer 4.<|end|>"
      "<|start|>assistant<|channel|>final<|message|>2 + 2 = **4**.";
  auto o = parse_whole(text);
  EXPECT_EQ(o.thinking, "User asks 2+2. Answer 4.");
  EXPECT_EQ(o.content, "2 + 2 = **4**.");
  EXPECT_TRUE(o.calls.empty());
  expect_stream_equal(text);
  // <|return|> visible (decoded with special tokens) ends the message the same way.
  auto r = parse_whole(text + "<|return|>");
  EXPECT_EQ(r.content, "2 + 2 = **4**.");
}

TEST(Harmony, EndMarkerHiddenStillSplitsAtStart) {
  // A decoder that hides <|end|> leaves <|start|> as the only boundary.
  auto o = parse_whole("<|channel|>analysis<|message|>think<|start|>assistant<|channel|>final<|message|>done");
  EXPECT_EQ(o.thinking, "think");
  EXPECT_EQ(o.content, "done");
}

TEST(Harmony, ToolCallRecipientAfterChannelWithNestedJson) {
  const std::string text =
      "<|channel|>analysis<|message|>Need weather.<|end|>"
      "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
      "{\"city\": \"Paris\", \"opts\": {\"days\": [1, 2, {\"x\": \"}<|\"}], \"unit\": null}}";
  auto o = parse_whole(text);
  EXPECT_EQ(o.thinking, "Need weather.");
  EXPECT_EQ(o.content, "");
  ASSERT_EQ(o.calls.size(), 1u);
  EXPECT_EQ(o.calls[0].name, "get_weather");
  EXPECT_EQ(o.calls[0].arguments.dump(),
            R"({"city":"Paris","opts":{"days":[1,2,{"x":"}<|"}],"unit":null}})");
  expect_stream_equal(text);
  // With <|call|> visible: the same call.
  auto c = parse_whole(text + "<|call|>");
  ASSERT_EQ(c.calls.size(), 1u);
  EXPECT_EQ(c.calls[0].arguments, o.calls[0].arguments);
}

TEST(Harmony, ToolCallRecipientBeforeChannel) {
  // The order the gpt-oss template renders past calls in; a model may write it too.
  const std::string text = " to=functions.search<|channel|>commentary json<|message|>{\"query\": \"a \\\"b\\\"\"}";
  auto o = parse_whole(text);
  ASSERT_EQ(o.calls.size(), 1u);
  EXPECT_EQ(o.calls[0].name, "search");
  EXPECT_EQ(o.calls[0].arguments["query"], "a \"b\"");
  expect_stream_equal(text);
}

TEST(Harmony, BuiltinRecipientKeepsItsNamespace) {
  auto o = parse_whole("<|channel|>analysis<|message|>x<|end|><|start|>assistant<|channel|>analysis to=browser.search"
                       " code<|message|>{\"query\": \"corral\"}<|call|>");
  ASSERT_EQ(o.calls.size(), 1u);
  EXPECT_EQ(o.calls[0].name, "browser.search");
  EXPECT_EQ(o.thinking, "x");
}

TEST(Harmony, ArgumentsAsJsonStringAreUnwrapped) {
  auto o = parse_whole("<|channel|>commentary to=functions.f <|constrain|>json<|message|>\"{\\\"a\\\": 1}\"");
  ASSERT_EQ(o.calls.size(), 1u);
  EXPECT_EQ(o.calls[0].arguments.dump(), R"({"a":1})");
}

TEST(Harmony, CommentaryPreambleIsContent) {
  const std::string text =
      "<|channel|>commentary<|message|>Let me check.<|end|>"
      "<|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}";
  auto o = parse_whole(text);
  EXPECT_EQ(o.content, "Let me check.");
  ASSERT_EQ(o.calls.size(), 1u);
  EXPECT_EQ(o.calls[0].name, "f");
  EXPECT_EQ(o.calls[0].arguments, json::object());
  expect_stream_equal(text);
}

TEST(Harmony, ThinkingStreamsBeforeItEnds) {
  HarmonyParser p;
  auto a = p.push("<|channel|>analys");
  EXPECT_TRUE(a.thinking.empty() && a.content.empty());
  auto b = p.push("is<|message|>Step one. Step<|e");
  EXPECT_EQ(b.thinking, "Step one. Step");  // "<|e" may start <|end|>: held back
  auto c = p.push("nd|><|start|>assistant<|channel|>final<|message|>Hi");
  EXPECT_EQ(c.thinking, "");
  EXPECT_EQ(c.content, "Hi");
  auto d = p.finish();
  EXPECT_TRUE(d.thinking.empty() && d.content.empty() && d.calls.empty());
}

TEST(Harmony, MalformedInputIsKeptAsContent) {
  // Unterminated tool call with broken JSON: the body is content, no call is invented.
  auto broken = parse_whole("<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"a\": [1, 2");
  EXPECT_TRUE(broken.calls.empty());
  EXPECT_EQ(broken.content, "{\"a\": [1, 2");
  // Arguments that are JSON but not an object.
  auto array = parse_whole("<|channel|>commentary to=functions.f<|message|>[1]");
  EXPECT_TRUE(array.calls.empty());
  EXPECT_EQ(array.content, "[1]");
  // A header that never reaches <|message|>.
  auto header = parse_whole("<|channel|>final");
  EXPECT_EQ(header.content, "<|channel|>final");
  // Plain text with no markers at all (a model that ignores the format).
  const std::string plain(300, 'x');
  auto p = parse_whole(plain + " tail");
  EXPECT_EQ(p.content, plain + " tail");
  expect_stream_equal("no markers here, just an answer");
  // Text before a body end with no header: content, the marker dropped.
  auto stray = parse_whole("oops<|end|><|start|>assistant<|channel|>final<|message|>ok");
  EXPECT_EQ(stray.content, "oopsok");
  // An unknown channel is content.
  auto unknown = parse_whole("<|channel|>secret<|message|>visible");
  EXPECT_EQ(unknown.content, "visible");
  // A <|start|> whose header never completes (at the end, or past 256 bytes) is content, and
  // the parser moves on (this once looped forever).
  auto start_only = parse_whole("<|start|>assistant");
  EXPECT_EQ(start_only.content, "<|start|>assistant");
  auto start_after = parse_whole("<|channel|>final<|message|>a<|start|>b<|start|>");
  EXPECT_EQ(start_after.content, "a<|start|>b<|start|>");
  auto long_start = parse_whole("<|start|>" + std::string(300, 'y') + "<|start|>assistant<|channel|>final<|message|>z");
  EXPECT_EQ(long_start.content, "<|start|>" + std::string(300, 'y') + "z");
  expect_stream_equal("<|channel|>final<|message|>a<|start|>b<|start|>");
  // Unterminated analysis: everything seen is thinking.
  auto open = parse_whole("<|channel|>analysis<|message|>still thinking <|");
  EXPECT_EQ(open.thinking, "still thinking <|");
  EXPECT_EQ(open.content, "");
}

TEST(Harmony, ChatOutputParserRoutesHarmony) {
  ChatOutputOptions opts;
  opts.harmony = true;
  ChatOutputParser p(opts);
  auto o = p.push("<|channel|>analysis<|message|>hmm<|end|><|start|>assistant<|channel|>final<|message|><think>x</think>");
  auto t = p.finish();
  EXPECT_EQ(o.thinking + t.thinking, "hmm");
  // No <think> parsing inside a harmony reply.
  EXPECT_EQ(o.content + t.content, "<think>x</think>");
}

}  // namespace
}  // namespace corral
