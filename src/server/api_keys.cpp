// The API-key file parser, constant-time lookup, model lists and token-bucket rate limits.
#include "server/api_keys.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/sha256.h"

namespace corral::server {

namespace {

constexpr size_t kMinKeyChars = 16, kMaxKeyChars = 256;
constexpr int64_t kMaxRate = 1000000;

bool key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
}

bool label_char(char c) { return key_char(c) || c == ':' || c == '@'; }

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

std::string_view without_latest(std::string_view m) {
  constexpr std::string_view kLatest = ":latest";
  if (m.size() > kLatest.size() && m.ends_with(kLatest)) m.remove_suffix(kLatest.size());
  return m;
}

// "60/m" -> n and period.
bool parse_rate(std::string_view v, int64_t* n, int64_t* period_ns) {
  const auto slash = v.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  const std::string_view num = v.substr(0, slash), unit = v.substr(slash + 1);
  int64_t x = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), x);
  if (ec != std::errc() || end != num.data() + num.size() || x <= 0 || x > kMaxRate) return false;
  int64_t p = 0;
  if (unit == "s") p = 1000000000LL;
  else if (unit == "m") p = 60LL * 1000000000LL;
  else if (unit == "h") p = 3600LL * 1000000000LL;
  else return false;
  *n = x;
  *period_ns = p;
  return true;
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  // Read through a volatile so the compiler keeps the whole loop.
  volatile unsigned char sink = diff;
  return sink == 0;
}

std::string presented_key(std::string_view authorization, std::string_view x_api_key) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  authorization = trim(authorization);
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() > kBearer.size()) {
    bool is_bearer = true;
    for (size_t i = 0; i < kBearer.size(); ++i)
      if (static_cast<char>(std::tolower(static_cast<unsigned char>(authorization[i]))) != kBearer[i]) is_bearer = false;
    if (is_bearer) return std::string(trim(authorization.substr(kBearer.size())));
  }
  return std::string(trim(x_api_key));
}

Result<std::shared_ptr<KeyRing>> KeyRing::parse(std::string_view text) {
  auto ring = std::make_shared<KeyRing>();
  int line_no = 0;
  std::vector<std::string> digests;
  for (std::string_view line : split(text, '\n')) {
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string_view> fields;
    for (size_t i = 0; i < line.size();) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      const size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
      if (i > start) fields.push_back(line.substr(start, i - start));
    }
    if (fields.empty()) continue;
    const std::string_view k = fields[0];
    if (k.size() < kMinKeyChars || k.size() > kMaxKeyChars || !std::all_of(k.begin(), k.end(), key_char))
      return make_error("api keys line {}: a key must be {} to {} characters of A-Z a-z 0-9 . _ ~ + / = -", line_no,
                        kMinKeyChars, kMaxKeyChars);
    ApiKey key;
    key.digest = sha256_hex(k);
    key.label = fmt::format("line {}", line_no);
    bool seen_models = false, seen_rate = false, seen_name = false;
    for (size_t f = 1; f < fields.size(); ++f) {
      const auto eq = fields[f].find('=');
      if (eq == std::string_view::npos)
        return make_error("api keys line {}: field {} is not name=value", line_no, f + 1);
      const std::string_view name = fields[f].substr(0, eq), value = fields[f].substr(eq + 1);
      if (name == "models" && !seen_models) {
        seen_models = true;
        for (std::string_view m : split(value, ',')) {
          if (m == "*") {
            key.models.clear();
            break;
          }
          if (m.empty() || m.size() > 256 || !std::all_of(m.begin(), m.end(), label_char))
            return make_error("api keys line {}: models= needs a comma-separated list of model names", line_no);
          key.models.emplace_back(without_latest(m));
        }
      } else if (name == "rate" && !seen_rate) {
        seen_rate = true;
        if (!parse_rate(value, &key.rate_n, &key.rate_period_ns))
          return make_error("api keys line {}: rate= must be <n>/s, <n>/m or <n>/h with 1 <= n <= {}", line_no,
                            kMaxRate);
      } else if (name == "name" && !seen_name) {
        seen_name = true;
        if (value.empty() || value.size() > 64 || !std::all_of(value.begin(), value.end(), label_char))
          return make_error("api keys line {}: name= must be 1 to 64 characters of A-Z a-z 0-9 . _ ~ + / = - : @",
                            line_no);
        key.label = std::string(value);
      } else {
        return make_error("api keys line {}: unknown or repeated field (want models=, rate=, name=)", line_no);
      }
    }
    if (std::find(digests.begin(), digests.end(), key.digest) != digests.end())
      return make_error("api keys line {}: the same key is listed twice", line_no);
    digests.push_back(key.digest);
    ring->keys_.push_back(std::move(key));
  }
  if (ring->keys_.empty()) return make_error("api keys: the file lists no key");
  ring->buckets_.resize(ring->keys_.size());
  return ring;
}

int KeyRing::find(std::string_view token) const {
  // Hashing first makes every comparison the same length whatever was presented.
  const std::string d = sha256_hex(token);
  int found = -1;
  for (size_t i = 0; i < keys_.size(); ++i) {
    const bool eq = constant_time_equal(d, keys_[i].digest);
    found = eq ? static_cast<int>(i) : found;
  }
  return found;
}

bool KeyRing::allows_model(size_t i, std::string_view model) const {
  const ApiKey& k = keys_[i];
  if (k.models.empty()) return true;
  const std::string_view m = without_latest(model);
  return std::any_of(k.models.begin(), k.models.end(), [&](const std::string& a) { return a == m; });
}

bool KeyRing::take(size_t i, int64_t now_ns, int64_t* retry_after_ns) {
  const ApiKey& k = keys_[i];
  if (k.rate_n <= 0) return true;
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = buckets_[i];
  const double per_ns = static_cast<double>(k.rate_n) / static_cast<double>(k.rate_period_ns);
  if (!b.started) {
    b.started = true;
    b.tokens = static_cast<double>(k.rate_n);
  } else if (now_ns > b.last_ns) {
    b.tokens = std::min(static_cast<double>(k.rate_n), b.tokens + static_cast<double>(now_ns - b.last_ns) * per_ns);
  }
  b.last_ns = std::max(b.last_ns, now_ns);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  if (retry_after_ns != nullptr) *retry_after_ns = static_cast<int64_t>((1.0 - b.tokens) / per_ns) + 1;
  return false;
}

}  // namespace corral::server
