// A small blocking HTTP client for the Ollama/OpenAI APIs (libcurl): JSON GET/POST and streaming
// POST that hands each NDJSON or SSE line to a callback as it arrives.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace corral::api {

struct HttpClientOptions {
  double connect_timeout_s = 5;   // unreachable hosts fail fast
  double total_timeout_s = 600;   // whole request, including a long generation
  // When set and it becomes true, the transfer stops (closing the connection) within ~100 ms even
  // while no bytes arrive; the call then returns an error saying it was cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResult {
  long status = 0;     // HTTP status code
  std::string body;    // whole body (for a stream: only kept when status >= 400)
};

// Called with each complete line of a streamed body, without the trailing "\n" or "\r\n".
// Return false to stop reading (the call then returns the status seen so far).
using LineCallback = std::function<bool(std::string_view line)>;

// Transport failures (cannot connect, timeout, connection reset mid-body) are errors naming the
// URL; an HTTP error status is not an error here: the caller reads `status` and `body`.
Result<HttpResult> http_get(const std::string& url, const HttpClientOptions& opts = {});
Result<HttpResult> http_post_json(const std::string& url, const std::string& body,
                                  const HttpClientOptions& opts = {});
// DELETE with a JSON body (Ollama's /api/delete).
Result<HttpResult> http_delete_json(const std::string& url, const std::string& body,
                                    const HttpClientOptions& opts = {});
Result<HttpResult> http_post_stream(const std::string& url, const std::string& body,
                                    const LineCallback& on_line,
                                    const HttpClientOptions& opts = {});
// POST of a file's bytes as application/octet-stream, read from disk as they are sent (a model
// file is never held in memory). An error when the file cannot be opened or read.
Result<HttpResult> http_post_file(const std::string& url, const std::string& path,
                                  const HttpClientOptions& opts = {});

// "data: {...}" -> "{...}"; "data:[DONE]" -> "[DONE]"; other SSE lines (comments, event:, blank)
// -> empty view.
std::string_view sse_data(std::string_view line);

}  // namespace corral::api
