// Anthropic message objects and SSE events from parsed generation output.
#include "server/anthropic_reply.h"

#include <random>

namespace corral::server {

using api::OJson;

std::string anthropic_tool_use_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string id = "toolu_";
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % 62];
  return id;
}

std::string anthropic_stop_reason(const GenerateEvent& last, bool has_calls, const std::string& stop_sequence) {
  if (has_calls) return "tool_use";
  if (last.done_reason == "length") return "max_tokens";
  if (last.done_reason == "deadline") return "deadline";
  if (last.done_reason == "shutdown") return "shutdown";
  if (!stop_sequence.empty()) return "stop_sequence";
  return "end_turn";
}

namespace {

OJson tool_use_block(const ToolCall& c) {
  return OJson{{"type", "tool_use"}, {"id", anthropic_tool_use_id()}, {"name", c.name}, {"input", c.arguments}};
}

}  // namespace

OJson anthropic_content(const ChatOutputParser::Out& out) {
  OJson content = OJson::array();
  if (!out.thinking.empty()) content.push_back(OJson{{"type", "thinking"}, {"thinking", out.thinking}, {"signature", ""}});
  if (!out.content.empty() || (out.calls.empty() && out.thinking.empty()))
    content.push_back(OJson{{"type", "text"}, {"text", out.content}});
  for (const auto& c : out.calls) content.push_back(tool_use_block(c));
  return content;
}

OJson anthropic_message(const std::string& id, const std::string& model, OJson content, const std::string& stop_reason,
                        const std::string& stop_sequence, int64_t input_tokens, int64_t output_tokens) {
  OJson m;
  m["id"] = id;
  m["type"] = "message";
  m["role"] = "assistant";
  m["model"] = model;
  m["content"] = std::move(content);
  m["stop_reason"] = stop_reason.empty() ? OJson(nullptr) : OJson(stop_reason);
  m["stop_sequence"] = stop_sequence.empty() ? OJson(nullptr) : OJson(stop_sequence);
  m["usage"] = OJson{{"input_tokens", input_tokens}, {"output_tokens", output_tokens}};
  return m;
}

std::string anthropic_event(const OJson& data) {
  return "event: " + data.value("type", std::string("error")) + "\ndata: " +
         data.dump(-1, ' ', false, OJson::error_handler_t::replace) + "\n\n";
}

std::string AnthropicStream::start(int64_t input_tokens) {
  OJson msg = anthropic_message(id_, model_, OJson::array(), "", "", input_tokens, 0);
  return anthropic_event(OJson{{"type", "message_start"}, {"message", std::move(msg)}}) +
         anthropic_event(OJson{{"type", "ping"}});
}

std::string AnthropicStream::open(const char* type, OJson block) {
  std::string out = close();
  ++index_;
  open_type_ = type;
  out += anthropic_event(OJson{{"type", "content_block_start"}, {"index", index_}, {"content_block", std::move(block)}});
  return out;
}

std::string AnthropicStream::close() {
  if (open_type_.empty()) return "";
  open_type_.clear();
  return anthropic_event(OJson{{"type", "content_block_stop"}, {"index", index_}});
}

std::string AnthropicStream::delta(const char* type, const char* field, const std::string& text) {
  return anthropic_event(OJson{{"type", "content_block_delta"}, {"index", index_}, {"delta", OJson{{"type", type}, {field, text}}}});
}

std::string AnthropicStream::push(const ChatOutputParser::Out& piece) {
  std::string out;
  if (!piece.thinking.empty()) {
    if (open_type_ != "thinking") out += open("thinking", OJson{{"type", "thinking"}, {"thinking", ""}, {"signature", ""}});
    out += delta("thinking_delta", "thinking", piece.thinking);
  }
  if (!piece.content.empty()) {
    if (open_type_ != "text") out += open("text", OJson{{"type", "text"}, {"text", ""}});
    out += delta("text_delta", "text", piece.content);
  }
  for (const auto& c : piece.calls) {
    out += open("tool_use", OJson{{"type", "tool_use"}, {"id", anthropic_tool_use_id()}, {"name", c.name}, {"input", OJson::object()}});
    out += delta("input_json_delta", "partial_json", c.arguments.dump(-1, ' ', false, OJson::error_handler_t::replace));
    out += close();
    ++n_calls_;
  }
  return out;
}

std::string AnthropicStream::finish(const std::string& stop_reason, const std::string& stop_sequence, int64_t output_tokens) {
  std::string out;
  if (index_ < 0) {  // an empty reply still has one (empty) text block
    out += open("text", OJson{{"type", "text"}, {"text", ""}});
  }
  out += close();
  OJson d{{"stop_reason", stop_reason}, {"stop_sequence", stop_sequence.empty() ? OJson(nullptr) : OJson(stop_sequence)}};
  out += anthropic_event(OJson{{"type", "message_delta"}, {"delta", std::move(d)}, {"usage", OJson{{"output_tokens", output_tokens}}}});
  out += anthropic_event(OJson{{"type", "message_stop"}});
  return out;
}

}  // namespace corral::server
