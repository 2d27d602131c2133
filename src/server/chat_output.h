// The reply side of chat and generate: which constraint a request's output runs under (format /
// response_format / grammar, tool_choice, deferred past the thinking part) and how its text is
// split into thinking, content and tool calls; plus the JSON shapes of tool calls and logprobs
// in the Ollama and OpenAI APIs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "chat/output_parser.h"
#include "engine/request.h"
#include "server/model_host.h"

namespace corral::server {

// tools and tool_choice as the request gave them (tools re-read from the body with key order
// kept: a tool's parameters are generated in schema order).
struct ToolRequest {
  api::OJson tools = api::OJson::array();
  ToolChoice choice = ToolChoice::kAuto;
  std::string name;  // kNamed
  bool parallel = true;  // parallel_tool_calls: false allows one call
};

// `tools` from a request body; `tool_choice` too when `openai` (none, auto, required, or
// {"type": "function", "function": {"name"}}). Errors are 400s naming the field.
Expected<ToolRequest> tool_request_from_body(std::string_view body, bool openai);

// `think` from an OpenAI body: `think` (corral/Ollama extension) or `reasoning_effort`
// ("none" turns thinking off, any other level on). null when neither is given.
api::Json openai_think(const api::Json& body);

struct OutputPlan {
  ChatOutputOptions parse;
  bool thinking = false;  // the thinking part is split out
};

// The template render_prompt uses for this request.
std::string template_text_for(const ModelRef& ref, const ModelExtras& ex,
                              const std::optional<std::string>& template_override = std::nullopt);

// Plans the output of one generation and sets er->constraint. `prompt` is the rendered prompt,
// `raw` an /api/generate raw request (thinking is split only when asked for). 400 for think on
// a model whose template has no thinking, tool_choice that cannot be honoured, and constraint
// errors.
Expected<OutputPlan> plan_output(const ModelRef& ref, const ModelExtras& ex, const std::string& template_text,
                                 const std::string& prompt, const api::Json& think, const ToolRequest& tools,
                                 std::string_view body, bool raw, GenerateRequest* er);

// Accumulates a reply parsed from the whole output (non-streaming).
ChatOutputParser::Out parse_all(const ChatOutputOptions& opts, const std::string& text);
// Appends `from` to `to` (a stream's last piece and the parser's finish()).
void append_output(ChatOutputParser::Out& to, ChatOutputParser::Out from);

// Ollama: [{"id", "function": {"index", "name", "arguments": {...}}}].
api::OJson ollama_tool_calls_json(const std::vector<ToolCall>& calls, size_t first_index);
// OpenAI: [{"index"?, "id", "type": "function", "function": {"name", "arguments": "<json>"}}]
// (index only in stream deltas).
api::OJson openai_tool_calls_json(const std::vector<ToolCall>& calls, size_t first_index, bool delta);

// OpenAI chat logprobs: {"content": [{token, logprob, bytes, top_logprobs: [...]}], "refusal": null}.
api::OJson openai_chat_logprobs(const Tokenizer& tk, const std::vector<TokenLogprob>& lps);
// OpenAI completions logprobs: {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}.
api::OJson openai_completion_logprobs(const Tokenizer& tk, const std::vector<TokenLogprob>& lps, size_t text_offset);

}  // namespace corral::server
