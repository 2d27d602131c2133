// HarmonyParser: headers up to <|message|>, bodies up to <|end|>, <|start|>, <|return|> or
// <|call|> (or the end of the text).
#include "chat/harmony.h"

#include <algorithm>

namespace corral {

namespace {

constexpr std::string_view kMessage = "<|message|>";
constexpr std::string_view kChannel = "<|channel|>";
constexpr std::string_view kStart = "<|start|>";
// What ends a body. <|start|> is kept: it opens the next header.
constexpr std::string_view kBodyEnds[] = {"<|end|>", "<|return|>", "<|call|>", kStart};

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Length of the longest proper prefix of `tag` that `s` ends with.
size_t partial_suffix(std::string_view s, std::string_view tag) {
  const size_t max = std::min(s.size(), tag.size() - 1);
  for (size_t n = max; n > 0; --n)
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

// The word at the start of `s` (up to whitespace or a marker).
std::string_view word_at(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && !is_space(s[n]) && s.substr(n, 2) != "<|") ++n;
  return s.substr(0, n);
}

}  // namespace

bool is_harmony_template(std::string_view t) {
  return t.find(kChannel) != std::string_view::npos && t.find(kMessage) != std::string_view::npos;
}

bool is_harmony_reasoning_effort(std::string_view s) { return s == "low" || s == "medium" || s == "high"; }

HarmonyParser::Out HarmonyParser::push(std::string_view text) {
  buf_.append(text);
  Out out;
  step(out, false);
  return out;
}

HarmonyParser::Out HarmonyParser::finish() {
  Out out;
  step(out, true);
  return out;
}

void HarmonyParser::emit(Out& out, std::string_view text) {
  if (text.empty()) return;
  switch (kind_) {
    case Kind::kThinking: out.thinking.append(text); break;
    case Kind::kContent: out.content.append(text); break;
    case Kind::kToolCall: call_.append(text); break;
  }
}

void HarmonyParser::start_body(std::string_view header, Out& out) {
  name_.clear();
  call_.clear();
  const size_t to = header.find("to=");
  if (to != std::string_view::npos) {
    std::string_view recipient = word_at(header.substr(to + 3));
    if (recipient.substr(0, 10) == "functions.") recipient.remove_prefix(10);
    name_ = std::string(recipient);
  }
  const size_t ch = header.find(kChannel);
  const std::string_view channel = ch == std::string_view::npos ? "" : word_at(header.substr(ch + kChannel.size()));
  if (!name_.empty()) {
    kind_ = Kind::kToolCall;
  } else if (channel == "analysis") {
    kind_ = Kind::kThinking;
  } else {
    kind_ = Kind::kContent;
    // Not a harmony header at all: keep its text.
    if (ch == std::string_view::npos) out.content.append(header);
  }
}

void HarmonyParser::end_message(Out& out) {
  if (kind_ != Kind::kToolCall) return;
  const std::string_view body = trim(call_);
  auto args = nlohmann::ordered_json::parse(body, nullptr, false);
  if (!args.is_discarded() && args.is_string()) {
    auto inner = nlohmann::ordered_json::parse(args.get<std::string>(), nullptr, false);
    if (!inner.is_discarded() && inner.is_object()) args = std::move(inner);
  }
  if (!args.is_discarded() && args.is_object() && !name_.empty()) {
    out.calls.push_back(ToolCall{name_, std::move(args)});
  } else {
    out.content.append(call_);  // not a call after all: the text as written
  }
  call_.clear();
  kind_ = Kind::kContent;
}

void HarmonyParser::step(Out& out, bool last) {
  for (;;) {
    if (state_ == State::kHeader) {
      const size_t m = buf_.find(kMessage);
      // A body end before <|message|>: this was no header; its text is content.
      size_t end_at = std::string::npos, end_len = 0;
      for (std::string_view e : kBodyEnds) {
        if (e == kStart) continue;
        const size_t p = buf_.find(e);
        if (p < end_at) end_at = p, end_len = e.size();
      }
      if (m != std::string::npos && m < end_at && m <= kMaxHeader) {
        // A later <|start|> opens the real header: the text before it is content.
        const size_t restart = buf_.rfind(kStart, m);
        if (restart != std::string::npos && restart > 0) {
          out.content.append(buf_, 0, restart);
          buf_.erase(0, restart);
          continue;
        }
        start_body(std::string_view(buf_).substr(0, m), out);
        buf_.erase(0, m + kMessage.size());
        state_ = State::kBody;
        continue;
      }
      if (end_at != std::string::npos && (m == std::string::npos || end_at < m)) {
        out.content.append(buf_, 0, end_at);
        buf_.erase(0, end_at + end_len);
        continue;
      }
      // Past kMaxHeader bytes (a <|message|> there would start beyond them) or at the end.
      if (m != std::string::npos || buf_.size() >= kMaxHeader + kMessage.size() || last) {
        // No header in sight: the rest is plain content. A <|start|> that opened this non-header
        // is content too (else the body would end before it at once, and nothing would move).
        kind_ = Kind::kContent;
        state_ = State::kBody;
        if (buf_.compare(0, kStart.size(), kStart) == 0) {
          out.content.append(kStart);
          buf_.erase(0, kStart.size());
        }
        if (last && buf_.empty()) return;
        continue;
      }
      return;
    }
    // Body.
    size_t end_at = std::string::npos;
    std::string_view end;
    for (std::string_view e : kBodyEnds) {
      const size_t p = buf_.find(e);
      if (p < end_at) end_at = p, end = e;
    }
    if (end_at != std::string::npos) {
      emit(out, std::string_view(buf_).substr(0, end_at));
      end_message(out);
      buf_.erase(0, end == kStart ? end_at : end_at + end.size());
      state_ = State::kHeader;
      continue;
    }
    size_t hold = 0;
    if (!last)
      for (std::string_view e : kBodyEnds) hold = std::max(hold, partial_suffix(buf_, e));
    emit(out, std::string_view(buf_).substr(0, buf_.size() - hold));
    buf_.erase(0, buf_.size() - hold);
    if (last) end_message(out);
    return;
  }
}

}  // namespace corral
