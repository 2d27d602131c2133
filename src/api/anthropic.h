// The Anthropic Messages API as a translator onto the OpenAI chat-completions request the server
// already runs: the request shape the Anthropic SDKs send, checked field by field, and the
// error body and error types of that API. The reply side (content blocks, SSE events) is
// shaped in server/ from the parsed output.
#pragma once

#include <string>
#include <string_view>

#include "api/types.h"

namespace corral::api {

// Translates a /v1/messages body into an OpenAI chat-completions body:
//   system (string or text blocks) and system-role messages -> system messages;
//   content blocks text / tool_use / tool_result / thinking -> content, tool_calls (arguments
//     as objects), role "tool" messages, reasoning_content; a tool_result must name the id of
//     a tool_use earlier in the conversation;
//   tools {name, description, input_schema} -> function tools;
//   tool_choice auto / any / tool / none -> auto / required / a named function / none
//     (disable_parallel_tool_use -> parallel_tool_calls false);
//   thinking {type: enabled|adaptive} -> think true, {type: disabled} or absent -> think false;
//   stop_sequences -> stop, max_tokens -> max_tokens (required unless `count_tokens`),
//   temperature / top_p / top_k / stream as they are; metadata is checked and dropped.
// corral's own extensions (seed, options, grammar, deadline_ms, fallback, keep_alive) pass through.
// Errors name the field; the server answers them as 400 invalid_request_error.
Result<OJson> anthropic_to_chat(const OJson& req, bool count_tokens);

// Anthropic's error type for an HTTP status: invalid_request_error, authentication_error,
// permission_error, not_found_error, request_too_large, rate_limit_error, api_error,
// overloaded_error.
const char* anthropic_error_type(int status);
// {"type": "error", "error": {"type": ..., "message": ...}}.
std::string anthropic_error_body(std::string_view message, std::string_view type);

}  // namespace corral::api
