// API-key checks for every request, error bodies in each API's shape, and key reloads.
#include "server/access.h"

#include <openssl/rand.h>

#include <fstream>
#include <sstream>

#include "api/anthropic.h"
#include "api/types.h"
#include "base/log.h"

namespace corral::server {

namespace {

enum Reason { kMissing = 0, kInvalid = 1, kModel = 2, kRate = 3 };
constexpr const char* kReasonNames[] = {"missing", "invalid", "model", "rate"};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

ApiFlavor api_flavor(std::string_view path) {
  if (starts_with(path, "/v1/messages")) return ApiFlavor::kAnthropic;
  if (starts_with(path, "/v1/")) return ApiFlavor::kOpenAI;
  return ApiFlavor::kOllama;
}

std::string error_body_for(ApiFlavor flavor, int status, std::string_view message, std::string_view code) {
  switch (flavor) {
    case ApiFlavor::kAnthropic:
      return api::anthropic_error_body(message, api::anthropic_error_type(status));
    case ApiFlavor::kOpenAI: {
      api::OJson e;
      const char* type = status == 401   ? "invalid_request_error"
                         : status == 403 ? "permission_error"
                         : status == 429 ? "rate_limit_error"
                         : status < 500  ? "invalid_request_error"
                                         : "api_error";
      e["error"]["message"] = std::string(message);
      e["error"]["type"] = type;
      e["error"]["param"] = nullptr;
      e["error"]["code"] = code.empty() ? api::OJson(nullptr) : api::OJson(std::string(code));
      return e.dump(-1, ' ', false, api::OJson::error_handler_t::replace);
    }
    case ApiFlavor::kOllama:
      break;
  }
  return api::error_body(message);
}

bool is_open_path(std::string_view path) { return path == "/health" || path == "/ready"; }

bool is_admin_path(std::string_view path) {
  for (std::string_view p : {"/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete"})
    if (path == p) return true;
  return starts_with(path, "/api/blobs/") || starts_with(path, "/v1/files") || starts_with(path, "/v1/batches");
}

Access::Access() {
  std::array<unsigned char, 32> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    // No randomness: the internal token must not be guessable, so no token at all (the job
    // workers' calls then need a key like anyone's).
    CORRAL_LOG_ERROR("no random bytes for the internal token; job workers get no key");
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : raw) {
    internal_token_ += kHex[c >> 4];
    internal_token_ += kHex[c & 15];
  }
}

Status Access::load(const std::string& path) {
  if (path.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    ring_.reset();
    path_.clear();
    return {};
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error("cannot read the API keys file {}", path);
  std::ostringstream text;
  text << f.rdbuf();
  auto ring = KeyRing::parse(text.str());
  if (!ring) return make_error("{}: {}", path, ring.error().message);
  std::lock_guard<std::mutex> lock(mu_);
  ring_ = std::move(*ring);
  path_ = path;
  return {};
}

Status Access::reload() {
  std::string path;
  if (const char* p = std::getenv("CORRAL_API_KEYS_FILE")) path = p;
  return load(path);
}

std::shared_ptr<KeyRing> Access::ring() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ring_;
}

bool Access::enabled() const { return ring() != nullptr; }

size_t Access::n_keys() const {
  auto r = ring();
  return r ? r->size() : 0;
}

bool Access::is_internal(std::string_view token) const {
  return !internal_token_.empty() && constant_time_equal(token, internal_token_);
}

AccessVerdict Access::check(std::string_view path, std::string_view authorization, std::string_view x_api_key,
                            int64_t now_ns) {
  AccessVerdict v;
  const std::string token = presented_key(authorization, x_api_key);
  if (!token.empty() && is_internal(token)) {
    v.internal = true;
    return v;
  }
  auto r = ring();
  if (!r || is_open_path(path)) return v;
  if (token.empty()) {
    rejected_[kMissing]++;
    return {401, "missing API key: send \"Authorization: Bearer <key>\"", "missing_api_key", 0, false};
  }
  const int i = r->find(token);
  if (i < 0) {
    rejected_[kInvalid]++;
    return {401, "invalid API key", "invalid_api_key", 0, false};
  }
  const auto idx = static_cast<size_t>(i);
  if (r->key(idx).restricted() && is_admin_path(path)) {
    rejected_[kModel]++;
    return {403, "this API key may only use its models, not manage the store or batches", "permission_denied", 0,
            false};
  }
  int64_t retry_ns = 0;
  if (!r->take(idx, now_ns, &retry_ns)) {
    rejected_[kRate]++;
    CORRAL_LOG_DEBUG("rate limit reached for API key {}", r->key(idx).label);
    return {429, "rate limit reached for this API key", "rate_limit_exceeded",
            std::max<int64_t>(1, (retry_ns + 999999999) / 1000000000), false};
  }
  return v;
}

bool Access::model_allowed(std::string_view authorization, std::string_view x_api_key, std::string_view model) const {
  auto r = ring();
  if (!r) return true;
  const std::string token = presented_key(authorization, x_api_key);
  if (is_internal(token)) return true;
  const int i = r->find(token);
  if (i < 0) return false;
  if (r->allows_model(static_cast<size_t>(i), model)) return true;
  rejected_[kModel]++;
  return false;
}

std::string Access::render_metrics() const {
  std::string o = "# HELP corral_auth_rejected_total Requests refused by API-key checks, by reason.\n"
                  "# TYPE corral_auth_rejected_total counter\n";
  for (int i = 0; i < 4; ++i)
    o += fmt::format("corral_auth_rejected_total{{reason=\"{}\"}} {}\n", kReasonNames[i], rejected_[static_cast<size_t>(i)].load());
  o += fmt::format("# HELP corral_api_keys Keys in force (0: keys off).\n# TYPE corral_api_keys gauge\ncorral_api_keys {}\n",
                   n_keys());
  return o;
}

}  // namespace corral::server
