// The reply side of the OpenAI Responses API: a parsed generation (thinking, text, tool calls)
// as output items (reasoning, message, function_call), the response object around them, and
// the Responses stream event sequence.
#pragma once

#include <string>

#include "api/types.h"
#include "chat/output_parser.h"
#include "engine/request.h"

namespace corral::server {

// What a response object echoes besides its output: id, model, creation time and the request
// body (instructions, tools, tool_choice, temperature, top_p, max_output_tokens, text,
// reasoning, previous_response_id, store, metadata, parallel_tool_calls).
struct ResponseMeta {
  std::string id;      // "resp_..."
  std::string model;   // the model that answered
  int64_t created_at = 0;  // unix seconds
  api::OJson request = api::OJson::object();
};

// "resp_" / "msg_" / "rs_" / "fc_" / "call_" + random letters and digits.
std::string responses_id(const char* prefix);

// Output items in reply order: one reasoning item (thinking), one message (text; also when the
// reply is empty and calls nothing), one function_call per call.
api::OJson responses_output(const ChatOutputParser::Out& out);

// The response object. `status`: in_progress, completed or incomplete; `last` gives usage and
// (for incomplete) the reason: max_output_tokens, or the corral value "deadline".
api::OJson response_object(const ResponseMeta& meta, const std::string& status, api::OJson output,
                           const GenerateEvent* last);
// completed, or incomplete when the length limit or the deadline ended the generation.
std::string response_status(const GenerateEvent& last);

// The output items as the chat messages a later turn continues from (previous_response_id):
// one assistant message with content, reasoning_content and tool_calls (call_id as the id).
api::OJson responses_output_messages(const api::OJson& output);

// Turns the pieces of a streamed reply into events ("event: <type>\ndata: <json>\n\n", each with
// a sequence_number): response.created and response.in_progress first; per item
// response.output_item.added, its deltas (response.content_part.added +
// response.reasoning_text.delta / response.output_text.delta, or
// response.function_call_arguments.delta)
// and their .done events, response.output_item.done; at the end response.completed (or
// response.incomplete) with the whole response.
class ResponsesStream {
 public:
  explicit ResponsesStream(ResponseMeta meta) : meta_(std::move(meta)) {}
  std::string start();
  std::string push(const ChatOutputParser::Out& piece);
  std::string finish(const GenerateEvent& last);
  std::string error(const std::string& message);
  const api::OJson& output() const { return output_; }

 private:
  std::string event(const char* type, api::OJson data);
  std::string open(const char* kind);
  std::string close();

  ResponseMeta meta_;
  int64_t seq_ = 0;
  api::OJson output_ = api::OJson::array();  // finished items
  api::OJson item_;                          // the open item (null when none)
  std::string open_kind_;                    // "reasoning" / "message" / ""
  std::string text_;                         // the open item's text so far
};

}  // namespace corral::server
