// ThinkingParser: a small state machine over the generated text.
#include "chat/thinking.h"

namespace corral {

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

size_t leading_space(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

std::string_view rtrim(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Length of the longest proper prefix of `tag` that `s` ends with.
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  const size_t max = std::min(s.size(), tag.size() - 1);
  for (size_t n = max; n > 0; --n)
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

}  // namespace

std::optional<ThinkingTags> thinking_tags_for_template(std::string_view t) {
  // Gemma 4: <|channel>thought\n...<channel|> (the channel's name is part of the opening).
  if (t.find("<|channel>") != std::string_view::npos && t.find("<channel|>") != std::string_view::npos)
    return ThinkingTags{"<|channel>thought", "<channel|>"};
  for (std::string_view marker : {"enable_thinking", "reasoning_content", ".Thinking", ".Think", "<think>", "</think>"})
    if (t.find(marker) != std::string_view::npos) return ThinkingTags{};
  return std::nullopt;
}

bool prompt_opens_thinking(std::string_view prompt, const ThinkingTags& tags) {
  prompt = rtrim(prompt);
  return !tags.open.empty() && prompt.size() >= tags.open.size() &&
         prompt.substr(prompt.size() - tags.open.size()) == tags.open;
}

ThinkingParser::ThinkingParser(ThinkingTags tags, bool start_inside)
    : tags_(std::move(tags)), state_(start_inside ? State::kThinkingStart : State::kStart) {
  if (tags_.open.empty() || tags_.close.empty()) state_ = State::kContent;
}

ThinkingParser::Out ThinkingParser::push(std::string_view text) {
  buf_.append(text);
  Out out;
  step(out);
  return out;
}

void ThinkingParser::step(Out& out) {
  for (;;) {
    switch (state_) {
      case State::kStart: {
        const std::string_view rest = std::string_view(buf_).substr(leading_space(buf_));
        if (rest.empty()) return;
        if (rest.size() < tags_.open.size() && std::string_view(tags_.open).substr(0, rest.size()) == rest) return;
        if (rest.substr(0, tags_.open.size()) == tags_.open) {
          buf_ = std::string(rest.substr(tags_.open.size()));
          state_ = State::kThinkingStart;
        } else {
          state_ = State::kContent;
        }
        break;
      }
      case State::kThinkingStart:
      case State::kAfterClose: {
        buf_.erase(0, leading_space(buf_));
        if (buf_.empty()) return;
        state_ = state_ == State::kThinkingStart ? State::kThinking : State::kContent;
        break;
      }
      case State::kThinking: {
        const size_t pos = buf_.find(tags_.close);
        if (pos != std::string::npos) {
          out.thinking += rtrim(std::string_view(buf_).substr(0, pos));
          buf_.erase(0, pos + tags_.close.size());
          state_ = State::kAfterClose;
          break;
        }
        // Hold back a possible partial closing tag and the whitespace before it (trimmed if
        // the tag follows).
        size_t emit = buf_.size() - partial_tag_suffix(buf_, tags_.close);
        while (emit > 0 && is_space(buf_[emit - 1])) --emit;
        out.thinking.append(buf_, 0, emit);
        buf_.erase(0, emit);
        return;
      }
      case State::kContent:
        out.content += buf_;
        buf_.clear();
        return;
    }
  }
}

ThinkingParser::Out ThinkingParser::finish() {
  Out out;
  step(out);
  switch (state_) {
    case State::kStart:
      out.content += buf_;  // only whitespace or an unfinished opening tag
      state_ = State::kContent;
      break;
    case State::kThinking:
      out.thinking += rtrim(buf_);
      break;
    default:
      break;
  }
  buf_.clear();
  return out;
}

}  // namespace corral
