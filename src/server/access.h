// Who may call the server: the API keys of CORRAL_API_KEYS_FILE (reloaded on SIGHUP), the
// server's own token for its job workers' loopback calls, and the verdict on one request in its
// API's error shape. /health and /ready are always open; with no keys file everything is.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"
#include "server/api_keys.h"

namespace corral::server {

// The error shape a path's clients expect.
enum class ApiFlavor { kOllama, kOpenAI, kAnthropic };
ApiFlavor api_flavor(std::string_view path);
// {"error": "..."}, {"error": {"message", "type", "param", "code"}} or Anthropic's
// {"type": "error", "error": {"type", "message"}}; `code` goes into OpenAI's code field.
std::string error_body_for(ApiFlavor flavor, int status, std::string_view message, std::string_view code = "");

// Paths open without a key.
bool is_open_path(std::string_view path);
// Paths that change the store or read the job files: refused to keys limited to some models.
bool is_admin_path(std::string_view path);

struct AccessVerdict {
  int status = 0;             // 0: allowed; else 401, 403 or 429
  std::string message, code;  // code: OpenAI's error code
  int64_t retry_after_s = 0;  // 429
  bool internal = false;      // the server's own job workers
};

class Access {
 public:
  Access();  // draws the internal token

  // Reads the keys file; "" turns keys off. On error the keys in force stay as they were.
  Status load(const std::string& path);
  // Loads the file named by CORRAL_API_KEYS_FILE again (SIGHUP).
  Status reload();
  bool enabled() const;
  size_t n_keys() const;

  // The header value the job workers send ("Bearer <internal token>").
  std::string internal_authorization() const { return "Bearer " + internal_token_; }

  // The verdict on a request's key for `path` at `now_ns` (monotonic). Spends rate budget.
  AccessVerdict check(std::string_view path, std::string_view authorization, std::string_view x_api_key,
                      int64_t now_ns);
  // Whether the request's key may use `model` (true with keys off or for the internal token).
  bool model_allowed(std::string_view authorization, std::string_view x_api_key, std::string_view model) const;

  // Prometheus lines: rejections by reason, and the number of keys (never the keys).
  std::string render_metrics() const;

 private:
  std::shared_ptr<KeyRing> ring() const;
  bool is_internal(std::string_view token) const;

  std::string internal_token_;
  std::string path_;
  mutable std::mutex mu_;  // guards ring_, path_
  std::shared_ptr<KeyRing> ring_;
  // missing, invalid, model, rate
  mutable std::array<std::atomic<int64_t>, 4> rejected_{};
};

}  // namespace corral::server
