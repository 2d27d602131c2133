// The OpenAI Responses API as a translator onto the OpenAI chat-completions request the server
// already runs: `input` (a string or items), instructions, function tools, tool_choice,
// text.format, reasoning.effort and max_output_tokens, checked field by field. The reply side
// (output items, stream events) is shaped in server/ from the parsed output.
#pragma once

#include "api/types.h"

namespace corral::api {

struct ResponsesChat {
  OJson chat;          // the chat-completions body; instructions are its first (system) message
  OJson conversation;  // `history` + this request's input as chat messages, without instructions:
                       // what a later request continues with previous_response_id
};

// Translates a /v1/responses body. `history`: the chat messages of the conversation the
// request continues (an array; empty without previous_response_id).
//   input string -> a user message; input items: messages (role user / assistant / system /
//     developer, content a string or input_text / output_text parts), function_call (->
//     assistant tool_calls), function_call_output (-> a tool message; its call_id must name a
//     function_call earlier in the conversation), reasoning (-> the next assistant message's
//     reasoning_content);
//   tools {type: function, name, description, parameters} -> function tools; tool_choice
//     none / auto / required / {type: function, name}; parallel_tool_calls as it is;
//   text.format text / json_object / json_schema {schema} -> response_format;
//   reasoning.effort -> reasoning.effort (the chat path's thinking switch);
//   max_output_tokens -> max_tokens; temperature, top_p, stream as they are; metadata, store,
//   user, truncation and previous_response_id are checked and left to the route.
// corral's own extensions (seed, options, grammar, think, deadline_ms, fallback, keep_alive)
// pass through. Errors name the field (400 invalid_request_error).
Result<ResponsesChat> responses_to_chat(const OJson& req, const OJson& history);

}  // namespace corral::api
