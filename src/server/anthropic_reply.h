// The reply side of the Anthropic Messages API: a parsed generation (thinking, text, tool calls)
// as a message object with content blocks, and as Anthropic's SSE event sequence.
#pragma once

#include <string>

#include "api/types.h"
#include "chat/output_parser.h"
#include "engine/request.h"

namespace corral::server {

// "toolu_" + random letters and digits: the id of a tool_use block.
std::string anthropic_tool_use_id();

// stop_reason: tool_use when the reply calls tools, max_tokens when the length limit ended it,
// stop_sequence when `stop_sequence` (the matched stop string) is not empty, the corral value
// "deadline" when the request's deadline did, else end_turn.
std::string anthropic_stop_reason(const GenerateEvent& last, bool has_calls, const std::string& stop_sequence);

// Content blocks in reply order: thinking, text, then one tool_use per call. A reply with
// nothing in it is one empty text block.
api::OJson anthropic_content(const ChatOutputParser::Out& out);

// The whole message object of a non-streaming reply.
api::OJson anthropic_message(const std::string& id, const std::string& model, api::OJson content,
                             const std::string& stop_reason, const std::string& stop_sequence,
                             int64_t input_tokens, int64_t output_tokens);

// One SSE event: "event: <type>\ndata: <json>\n\n".
std::string anthropic_event(const api::OJson& data);

// Turns the pieces of a streamed reply into events: message_start and ping first, then for each
// block content_block_start, its deltas (thinking_delta, text_delta, input_json_delta) and
// content_block_stop, and at the end message_delta (stop_reason, usage) and message_stop.
class AnthropicStream {
 public:
  AnthropicStream(std::string id, std::string model) : id_(std::move(id)), model_(std::move(model)) {}
  std::string start(int64_t input_tokens);
  std::string push(const ChatOutputParser::Out& piece);
  std::string finish(const std::string& stop_reason, const std::string& stop_sequence, int64_t output_tokens);
  bool has_calls() const { return n_calls_ > 0; }

 private:
  std::string open(const char* type, api::OJson block);
  std::string close();
  std::string delta(const char* type, const char* field, const std::string& text);

  std::string id_, model_;
  int index_ = -1;          // the current block; -1 before the first
  std::string open_type_;   // "" when no block is open
  size_t n_calls_ = 0;
};

}  // namespace corral::server
