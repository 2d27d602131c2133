// ChatOutputParser: ThinkingParser, then ToolCallParser over the content.
#include "chat/output_parser.h"

namespace corral {

ChatOutputParser::ChatOutputParser(const ChatOutputOptions& opts) : tools_(opts.tool_syntax, opts.tool_names, opts.tools) {
  if (opts.harmony) harmony_.emplace();
  else if (opts.thinking) thinking_.emplace(*opts.thinking, opts.thinking_starts_inside);
}

namespace {

ChatOutputParser::Out from_harmony(HarmonyParser::Out h) {
  return ChatOutputParser::Out{std::move(h.thinking), std::move(h.content), std::move(h.calls)};
}

}  // namespace

void ChatOutputParser::add(Out& out, ThinkingParser::Out t, bool last) {
  out.thinking += t.thinking;
  ToolCallParser::Out c = tools_.push(t.content);
  if (last) {
    ToolCallParser::Out tail = tools_.finish();
    c.content += tail.content;
    for (auto& call : tail.calls) c.calls.push_back(std::move(call));
  }
  out.content += c.content;
  for (auto& call : c.calls) out.calls.push_back(std::move(call));
}

ChatOutputParser::Out ChatOutputParser::push(std::string_view text) {
  if (harmony_) return from_harmony(harmony_->push(text));
  Out out;
  if (thinking_) add(out, thinking_->push(text), false);
  else add(out, ThinkingParser::Out{"", std::string(text)}, false);
  return out;
}

ChatOutputParser::Out ChatOutputParser::finish() {
  if (harmony_) return from_harmony(harmony_->finish());
  Out out;
  if (thinking_) add(out, thinking_->finish(), true);
  else add(out, ThinkingParser::Out{}, true);
  return out;
}

}  // namespace corral
