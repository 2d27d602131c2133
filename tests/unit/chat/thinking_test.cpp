// ThinkingParser: tags, whitespace trimming, prompts that open the block, and streaming in any
// split giving the same result as the whole text.
#include <gtest/gtest.h>

#include "chat/thinking.h"

namespace corral {
namespace {

ThinkingParser::Out parse_whole(std::string_view text, bool inside = false) {
  ThinkingParser p({}, inside);
  ThinkingParser::Out out = p.push(text);
  ThinkingParser::Out tail = p.finish();
  out.thinking += tail.thinking;
  out.content += tail.content;
  return out;
}

// Every piece size from 1 to 7 bytes gives the same split as the whole text.
void expect_stream_equal(std::string_view text, bool inside = false) {
  const auto whole = parse_whole(text, inside);
  for (size_t step = 1; step <= 7; ++step) {
    ThinkingParser p({}, inside);
    std::string thinking, content;
    for (size_t i = 0; i < text.size(); i += step) {
      auto o = p.push(text.substr(i, step));
      thinking += o.thinking;
      content += o.content;
    }
    auto o = p.finish();
    thinking += o.thinking;
    content += o.content;
    EXPECT_EQ(thinking, whole.thinking) << "step " << step << " on " << text;
    EXPECT_EQ(content, whole.content) << "step " << step << " on " << text;
  }
}

TEST(Thinking, SplitsThinkingFromAnswerAndTrimsWhitespace) {
  auto o = parse_whole("<think>\nLet me add 2 and 2.\n</think>\n\nIt is 4.");
  EXPECT_EQ(o.thinking, "Let me add 2 and 2.");
  EXPECT_EQ(o.content, "It is 4.");
}

TEST(Thinking, NoTagMeansAllContent) {
  auto o = parse_whole("  Hello <think> is not at the start");
  EXPECT_EQ(o.thinking, "");
  EXPECT_EQ(o.content, "  Hello <think> is not at the start");
}

TEST(Thinking, EmptyThinkingBlock) {
  auto o = parse_whole("<think>\n\n</think>\n\nAnswer");
  EXPECT_EQ(o.thinking, "");
  EXPECT_EQ(o.content, "Answer");
}

TEST(Thinking, PromptOpenedTheBlock) {
  EXPECT_TRUE(prompt_opens_thinking("<|im_start|>assistant\n<think>\n", ThinkingTags{}));
  EXPECT_FALSE(prompt_opens_thinking("<|im_start|>assistant\n<think>\n\n</think>\n\n", ThinkingTags{}));
  EXPECT_FALSE(prompt_opens_thinking("<|im_start|>assistant\n", ThinkingTags{}));
  auto o = parse_whole("I should greet.</think>Hi!", true);
  EXPECT_EQ(o.thinking, "I should greet.");
  EXPECT_EQ(o.content, "Hi!");
}

TEST(Thinking, UnclosedThinkingStaysThinking) {
  auto o = parse_whole("<think>still going </thi");
  EXPECT_EQ(o.thinking, "still going </thi");
  EXPECT_EQ(o.content, "");
}

TEST(Thinking, StreamsThinkingBeforeTheCloseTag) {
  ThinkingParser p;
  auto a = p.push("<think>one two");
  EXPECT_EQ(a.thinking, "one two");
  auto b = p.push(" three </");
  EXPECT_EQ(b.thinking, " three");  // the space and "</" are held back
  auto c = p.push("think>\n\nfour");
  EXPECT_EQ(c.thinking, "");
  EXPECT_EQ(c.content, "four");
  EXPECT_FALSE(p.in_thinking());
}

TEST(Thinking, HeldWhitespaceInsideThinkingIsKept) {
  ThinkingParser p;
  auto a = p.push("<think>a ");
  auto b = p.push("b</think>c");
  EXPECT_EQ(a.thinking + b.thinking, "a b");
  EXPECT_EQ(b.content, "c");
}

TEST(Thinking, AnySplitGivesTheSameResult) {
  for (const char* t : {"<think>\nabc\n</think>\n\ndef", "<think></think>x", "  <thin", "<think>a</think", "plain text",
                        "<think>a <  </ </t </think> b </think> c", "\n\n<think>\n\u00e9t\u00e9\n</think>\u00e9"})
    expect_stream_equal(t);
  expect_stream_equal("inside</think>after", true);
}

TEST(Thinking, TemplatesThatSupportThinking) {
  EXPECT_TRUE(thinking_tags_for_template("{%- if enable_thinking is defined %}"));
  EXPECT_TRUE(thinking_tags_for_template("{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}"));
  EXPECT_FALSE(thinking_tags_for_template("{% for m in messages %}{{ m.content }}{% endfor %}"));
}

}  // namespace
}  // namespace corral
