// Wire types of the Ollama API (and the parts of the OpenAI API the server translates), parsed
// from untrusted JSON with strict type checks: a wrong type is an error naming the field,
// unknown option keys are ignored with a log line, as Ollama does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace corral::api {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;  // responses keep Ollama's field order

// `options`: Ollama's runtime parameters. Unset fields keep the model's / built-in defaults.
struct Options {
  std::optional<int64_t> num_keep, seed, num_predict, top_k, repeat_last_n, num_ctx, num_batch,
      num_gpu, main_gpu, num_thread;
  std::optional<double> top_p, min_p, typical_p, temperature, repeat_penalty, presence_penalty,
      frequency_penalty;
  std::optional<bool> use_mmap;
  std::optional<std::vector<std::string>> stop;

  // Later values win: merge(model params) then merge(request options).
  void merge(const Options& o);
};

// Parses an options object (request `options`, or a model's params layer). Errors name the key:
// `option "top_k" must be of type integer`.
Result<Options> parse_options(const Json& j);

struct Message {
  std::string role;
  std::string content;
  std::string thinking;
  std::vector<std::string> images;
  Json tool_calls = Json::array();  // [{"function": {"name", "arguments": {...}}}]
  std::string tool_name;
  std::string tool_call_id;
};

struct GenerateRequest {
  std::string model;
  std::string prompt, suffix, system;
  std::optional<std::string> template_text;
  std::optional<std::string> system_override;  // set when `system` is present
  std::vector<int32_t> context;
  bool raw = false;
  bool stream = true;
  Json format;                           // null, "json" or a schema object
  std::optional<std::string> keep_alive;  // duration text; numbers become seconds ("300")
  Options options;
  Json think;                            // null, bool or level string
  bool logprobs = false;
  int32_t top_logprobs = 0;
  bool truncate = true;  // cut a prompt longer than num_ctx (false: a 400 naming the sizes)
  bool shift = true;     // at the context limit, drop older tokens and go on (false: stop)
  bool has_images = false;
};

struct ChatRequest {
  std::string model;
  std::vector<Message> messages;
  Json tools = Json::array();
  bool stream = true;
  Json format;
  std::optional<std::string> keep_alive;
  Options options;
  Json think;
  bool logprobs = false;
  int32_t top_logprobs = 0;
  bool truncate = true;  // drop old messages, then tokens, to fit num_ctx (false: a 400)
  bool shift = true;     // at the context limit, drop older tokens and go on (false: stop)
};

struct EmbedRequest {
  std::string model;
  std::vector<std::string> input;  // /api/embed: a string or strings; /api/embeddings: prompt
  bool truncate = true;
  int32_t dimensions = 0;
  std::optional<std::string> keep_alive;
  Options options;
};

Result<GenerateRequest> parse_generate_request(const Json& j);
Result<ChatRequest> parse_chat_request(const Json& j);
Result<Message> parse_message(const Json& j);
Result<EmbedRequest> parse_embed_request(const Json& j, bool legacy);

// Parses a body as a JSON object; errors read like Go's ("invalid character ..."-style text is
// not reproduced, but the message says the JSON is malformed).
Result<Json> parse_json_body(std::string_view body);

// Field helpers for handlers: absent or null leaves `out` unchanged; a wrong type is an error.
Status get_string(const Json& j, const char* key, std::string* out);
Status get_bool(const Json& j, const char* key, bool* out);
Status get_int(const Json& j, const char* key, int64_t* out);
Status get_number(const Json& j, const char* key, double* out);
// keep_alive: a duration string or a number of seconds.
Status get_duration_text(const Json& j, const char* key, std::optional<std::string>* out);

// RFC 3339 with nanoseconds in UTC, as Go's time.Time marshals ("2024-01-02T03:04:05.123456789Z").
std::string rfc3339_nano(int64_t unix_ns);
int64_t unix_now_ns();

// Ollama's error body: {"error": "..."}.
std::string error_body(std::string_view message);
// OpenAI's error body: {"error": {"message", "type", "param": null, "code": null}}.
std::string openai_error_body(std::string_view message, std::string_view type);

}  // namespace corral::api
