// One HTTP POST for the runner (a job's call to this server, a webhook delivery), with extra
// headers and an abort check polled while the call is in flight. libcurl, one handle per call.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace corral::jobs {

struct HttpPost {
  std::string url, body;
  std::vector<std::string> headers;  // "Name: value"; Content-Type: application/json is added
  double timeout_s = 3600;
  std::function<bool()> should_abort;  // polled about once a second, and on every data chunk
};

struct HttpReply {
  enum class Transport { kOk, kConnectFailed, kAborted, kFailed };
  Transport transport = Transport::kOk;
  long status = 0;
  std::string body;
  std::string error;  // transport error text
};

HttpReply http_post(const HttpPost& p);

}  // namespace corral::jobs
