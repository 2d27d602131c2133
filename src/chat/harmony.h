// The harmony format (gpt-oss): how a template is recognised as harmony and a streaming parser
// that splits the generated reply into thinking, content and tool calls.
//
// A harmony reply is a sequence of messages, each a header and a body:
//   <|channel|>analysis<|message|>reasoning...<|end|>
//   <|start|>assistant<|channel|>final<|message|>the answer...            (then <|return|>)
//   <|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json
//       <|message|>{"city": "Paris"}                                         (then <|call|>)
// The recipient may also stand before the channel (`assistant to=functions.f<|channel|>commentary
// json<|message|>`). `analysis` becomes thinking; a message with a recipient `functions.NAME`
// (or any other `to=`, such as `browser.search`) becomes a tool call named NAME whose body is
// its JSON arguments; `final`, and `commentary` without a recipient (a preamble the user may
// see), become content. <|return|> and <|call|> end generation, so a body also ends with the
// text; <|end|> and <|start|> end one message.
//
// Malformed input loses nothing: a header that never reaches <|message|> (256 bytes, or the
// end of the text) is content as written, and so is text before a later <|start|> that opens
// a real header; a tool call whose body is not a JSON object is
// content (its body, as written); an unknown channel is content.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chat/tool_calls.h"

namespace corral {

// True when a chat template (Jinja or Go) writes harmony: it uses both <|channel|> and
// <|message|>.
bool is_harmony_template(std::string_view template_text);

// "low", "medium" or "high": the reasoning efforts a harmony system message can name.
bool is_harmony_reasoning_effort(std::string_view s);

class HarmonyParser {
 public:
  struct Out {
    std::string thinking;
    std::string content;
    std::vector<ToolCall> calls;
  };

  // Feeds the next piece of generated text (split anywhere, markers included).
  Out push(std::string_view text);
  // End of generation: completes the open message.
  Out finish();

  static constexpr size_t kMaxHeader = 256;

 private:
  enum class State { kHeader, kBody };
  enum class Kind { kThinking, kContent, kToolCall };
  void step(Out& out, bool last);
  void start_body(std::string_view header, Out& out);
  void emit(Out& out, std::string_view text);
  void end_message(Out& out);

  State state_ = State::kHeader;
  Kind kind_ = Kind::kContent;
  std::string name_;  // the tool a kToolCall body calls
  std::string buf_;   // text not yet classified
  std::string call_;  // the body of a tool call so far
};

}  // namespace corral
