// A small blocking HTTP client over libcurl for the registry: one call per request, body to a
// sink or a string, uploads from a file range, stall detection by a minimum-speed window.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace corral::registry {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent for POST/PUT/PATCH when upload_fd < 0
  int upload_fd = -1;                // else the body is bytes [upload_offset, +upload_size) of this fd
  int64_t upload_offset = 0;
  int64_t upload_size = 0;
  bool follow_redirects = false;
  int connect_timeout_s = 30;
  int stall_timeout_s = 30;  // abort when fewer than 1 byte/s arrives for this long
  // Receives the body of the final response; return false to abort the transfer.
  std::function<bool(const char* data, size_t n, long status)> sink;
  const std::atomic<bool>* cancel = nullptr;  // aborts the transfer when it becomes true
  std::string user_agent;
};

struct HttpResponse {
  int curl_code = 0;  // CURLcode; 0 when the exchange completed
  std::string error;  // transport error text when curl_code != 0
  bool stalled = false;
  bool aborted_by_sink = false;
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names, final response only
  std::string body;                            // when no sink was given (capped at 8 MiB)
  std::string effective_url;

  bool transport_ok() const { return curl_code == 0; }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

HttpResponse http_do(const HttpRequest& req);

// Resolves a Location header (absolute, or absolute path) against the URL it came from.
std::string resolve_url(const std::string& base_url, const std::string& location);

// Percent-encodes a query-parameter value.
std::string url_escape(const std::string& s);

}  // namespace corral::registry
