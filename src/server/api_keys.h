// API keys: the CORRAL_API_KEYS_FILE format, key lookup in constant time, the models a key may
// use and its request-rate budget. The server checks them in server.cpp (auth.cpp); nothing here
// touches HTTP.
//
// The file: one key per line, then optional fields, separated by blanks; '#' starts a comment.
//   <key>  [models=<name>,<name>,...]  [rate=<n>/<s|m|h>]  [name=<label>]
// A key is 16 to 256 characters from [A-Za-z0-9._~+/=-]. `models` limits the key to those
// models ("name" also matches "name:latest"; "*" is any); `rate` is a token bucket of n requests
// refilled evenly over the period; `name` labels the key in logs (the key itself never appears
// in logs, errors or metrics: lines are named by number).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace corral::server {

struct ApiKey {
  std::string digest;               // SHA-256 of the key (hex); the key itself is not kept
  std::vector<std::string> models;  // empty: every model
  int64_t rate_n = 0;               // requests per rate_period_ns; 0: no limit
  int64_t rate_period_ns = 0;
  std::string label;                // name=..., else "line <n>"
  bool restricted() const { return !models.empty(); }
};

class KeyRing {
 public:
  // Parses the file's text. An error names the line number and the problem, never the key.
  static Result<std::shared_ptr<KeyRing>> parse(std::string_view text);

  size_t size() const { return keys_.size(); }
  const ApiKey& key(size_t i) const { return keys_[i]; }

  // The index of the key `token` is, or -1. Compares the token's digest with every key's
  // digest, always all of them and byte by byte without early exit, so the time taken does not
  // depend on which key (if any) matched or how much of it did.
  int find(std::string_view token) const;
  // Whether key `i` may use `model`.
  bool allows_model(size_t i, std::string_view model) const;
  // Spends one request of key i's budget at `now_ns` (a monotonic clock). False when it has none
  // left; then *retry_after_ns says when the next one comes.
  bool take(size_t i, int64_t now_ns, int64_t* retry_after_ns = nullptr);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last_ns = 0;
    bool started = false;
  };
  std::vector<ApiKey> keys_;
  std::mutex mu_;  // guards buckets_
  std::vector<Bucket> buckets_;
};

// Constant-time equality of two equal-length byte strings (false on different lengths).
bool constant_time_equal(std::string_view a, std::string_view b);

// The presented key of a request: "Authorization: Bearer <key>", else "x-api-key: <key>"
// (Anthropic clients). Empty when neither is there.
std::string presented_key(std::string_view authorization, std::string_view x_api_key);

}  // namespace corral::server
