// The chat-completions path that every chat-shaped OpenAI-style API shares: /v1/chat/completions
// runs it as it is, /v1/messages (Anthropic) and /v1/responses translate their requests onto an
// OpenAI chat body first. One path, so deadlines, fallbacks, constraints, tool calls, thinking,
// determinism, metrics and cancellation behave the same on all of them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/chat_output.h"
#include "server/generation.h"
#include "server/server.h"

namespace corral::server {

struct ChatStarted {
  std::shared_ptr<Generation> gen;
  std::string model;  // the model that answers (a fallback may have)
  std::shared_ptr<const Tokenizer> tokenizer;
  std::function<bool()> client_connected;
  OutputPlan plan;                // how to split the output into thinking, content, tool calls
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage
  bool logprobs = false;
  std::vector<std::string> stop;  // the request's stop strings
};

// Parses an OpenAI chat-completions body and dispatches it. `body_text` is the same body as
// text, key order kept (tool arguments are generated in their schema's order). 400 for a
// malformed request, 404 for an unknown model, the dispatch errors otherwise.
Expected<ChatStarted> start_openai_chat(ServerState& st, const httplib::Request& req, const api::Json& body,
                                        std::string_view body_text, httplib::Response& res, int64_t t0);

// The number of tokens of the prompt an OpenAI chat body renders to with its model's template
// (loads the model; generates nothing).
Expected<int64_t> count_openai_chat_tokens(ServerState& st, const api::Json& body);

// Which of `stops` ended a generation whose final event is `last` and whose text was `text`:
// the generated tokens (from last.context) decode to `text` followed by the stop string.
// "" when none did (end of sequence, length, or no stop strings).
std::string matched_stop(const Tokenizer& tk, const GenerateEvent& last, const std::string& text,
                         const std::vector<std::string>& stops);

}  // namespace corral::server
