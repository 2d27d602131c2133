// Splitting a model's generated text into its thinking part and its answer, as it streams.
//
// Thinking models (Qwen3, DeepSeek-R1, QwQ) open the reply with `<think>`, reason, close with
// `</think>` and then answer. Some templates put the opening tag into the prompt themselves, so
// the output starts inside the thinking part. The parser holds back only what could still be
// the start of a tag (and whitespace that would be trimmed), so a stream shows thinking and
// content as soon as they are known.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace corral {

struct ThinkingTags {
  std::string open = "<think>";
  std::string close = "</think>";
};

// The tags a chat template uses for thinking, or nullopt when it does not support thinking
// (Jinja `enable_thinking` / `reasoning_content`, Go `.Think` / `.Thinking`, or a literal
// `<think>` in the template text). Gemma 4's templates (`<|channel>` and `<channel|>`) think
// between `<|channel>thought` and `<channel|>`.
std::optional<ThinkingTags> thinking_tags_for_template(std::string_view template_text);

// True when the rendered prompt ends inside an open thinking block (the opening tag, then only
// whitespace), so the generated text starts as thinking.
bool prompt_opens_thinking(std::string_view prompt, const ThinkingTags& tags);

class ThinkingParser {
 public:
  struct Out {
    std::string thinking;
    std::string content;
  };

  explicit ThinkingParser(ThinkingTags tags = {}, bool start_inside = false);

  // Feeds the next piece of generated text; returns what is now known to be thinking or content.
  Out push(std::string_view text);
  // End of generation: releases whatever was held back.
  Out finish();

  bool in_thinking() const { return state_ == State::kThinking || state_ == State::kThinkingStart; }

 private:
  enum class State { kStart, kThinkingStart, kThinking, kAfterClose, kContent };
  void step(Out& out);

  ThinkingTags tags_;
  State state_;
  std::string buf_;  // text not yet classified
};

}  // namespace corral
