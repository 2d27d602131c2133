// The generated text of a chat turn split into thinking, content and tool calls, as it streams:
// the thinking parser runs first, and the tool-call parser reads what it passes on as content.
// Harmony replies (gpt-oss) go through the harmony parser instead, which does both.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/harmony.h"
#include "chat/thinking.h"
#include "chat/tool_calls.h"

namespace corral {

struct ChatOutputOptions {
  std::optional<ThinkingTags> thinking;  // nullopt: no thinking part is split out
  bool thinking_starts_inside = false;    // the prompt already opened the thinking block
  ToolCallSyntax tool_syntax = ToolCallSyntax::kNone;  // kNone: tool calls are not parsed
  std::vector<std::string> tool_names;
  nlohmann::ordered_json tools = nlohmann::ordered_json::array();  // declared tools: type Qwen XML values
  bool harmony = false;  // the reply is harmony (chat/harmony.h); the fields above are unused
};

class ChatOutputParser {
 public:
  struct Out {
    std::string thinking;
    std::string content;
    std::vector<ToolCall> calls;
    bool empty() const { return thinking.empty() && content.empty() && calls.empty(); }
  };

  explicit ChatOutputParser(const ChatOutputOptions& opts);

  Out push(std::string_view text);
  Out finish();

 private:
  void add(Out& out, ThinkingParser::Out t, bool last);

  std::optional<ThinkingParser> thinking_;
  ToolCallParser tools_;
  std::optional<HarmonyParser> harmony_;
};

}  // namespace corral
