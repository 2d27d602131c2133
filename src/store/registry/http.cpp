// libcurl wrapper used by the registry client.
#include "store/registry/http.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <mutex>

namespace corral::registry {
namespace {

constexpr size_t kMaxStringBody = 8u << 20;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Ctx {
  const HttpRequest* req;
  HttpResponse* resp;
  CURL* curl;
  int64_t uploaded = 0;
  // Stall detection: curl's own low-speed check averages over several seconds, so a burst
  // followed by silence is noticed late; this watches the byte counters directly.
  curl_off_t last_bytes = -1;
  std::chrono::steady_clock::time_point last_change = std::chrono::steady_clock::now();
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<Ctx*>(user);
  const size_t len = size * n;
  std::string line(data, len);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    ctx->resp->headers.clear();  // a new response (after a redirect or 100-continue)
    return len;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return len;
  std::string name = line.substr(0, colon);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t v = colon + 1;
  while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
  ctx->resp->headers[name] = line.substr(v);
  return len;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<Ctx*>(user);
  const size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &status);
  if (ctx->req->sink) {
    if (!ctx->req->sink(data, len, status)) {
      ctx->resp->aborted_by_sink = true;
      return 0;  // makes curl fail with CURLE_WRITE_ERROR
    }
    return len;
  }
  if (ctx->resp->body.size() + len > kMaxStringBody) return 0;
  ctx->resp->body.append(data, len);
  return len;
}

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<Ctx*>(user);
  const HttpRequest& r = *ctx->req;
  const int64_t left = r.upload_size - ctx->uploaded;
  if (left <= 0) return 0;
  const size_t want = std::min(size * n, static_cast<size_t>(left));
  ssize_t got = ::pread(r.upload_fd, buf, want, r.upload_offset + ctx->uploaded);
  if (got <= 0) return CURL_READFUNC_ABORT;
  ctx->uploaded += got;
  return static_cast<size_t>(got);
}

int on_progress(void* user, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* ctx = static_cast<Ctx*>(user);
  if (ctx->req->cancel && ctx->req->cancel->load()) return 1;
  const auto now = std::chrono::steady_clock::now();
  if (dlnow + ulnow != ctx->last_bytes) {
    ctx->last_bytes = dlnow + ulnow;
    ctx->last_change = now;
  } else if (now - ctx->last_change > std::chrono::seconds(ctx->req->stall_timeout_s)) {
    ctx->resp->stalled = true;
    return 1;
  }
  return 0;
}

}  // namespace

HttpResponse http_do(const HttpRequest& req) {
  global_init();
  HttpResponse resp;
  CURL* curl = curl_easy_init();
  if (!curl) {
    resp.curl_code = -1;
    resp.error = "curl_easy_init failed";
    return resp;
  }
  Ctx ctx{&req, &resp, curl};
  curl_slist* hdrs = nullptr;
  for (const auto& h : req.headers) hdrs = curl_slist_append(hdrs, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ctx);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &ctx);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(req.connect_timeout_s));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(req.stall_timeout_s));
  if (!req.user_agent.empty()) curl_easy_setopt(curl, CURLOPT_USERAGENT, req.user_agent.c_str());
  if (req.follow_redirects) {
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    if (req.upload_fd >= 0) {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(curl, CURLOPT_READDATA, &ctx);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.upload_size));
      if (req.method != "PUT") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      // No "Expect: 100-continue" round trip.
      hdrs = curl_slist_append(hdrs, "Expect:");
    } else {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      if (req.method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
  } else if (req.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  CURLcode rc = curl_easy_perform(curl);
  resp.curl_code = static_cast<int>(rc);
  if (rc != CURLE_OK) {
    resp.error = curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) resp.stalled = true;
    if (resp.stalled) resp.error = "transfer stalled";
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  char* eff = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) {
    resp.effective_url = eff;
  }
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(curl);
  return resp;
}

std::string resolve_url(const std::string& base_url, const std::string& location) {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return location;
  const size_t scheme_end = base_url.find("://");
  if (scheme_end == std::string::npos) return location;
  const size_t path_start = base_url.find('/', scheme_end + 3);
  const std::string origin = base_url.substr(0, path_start);
  if (!location.empty() && location[0] == '/') return origin + location;
  // Relative to the base path's directory.
  const std::string base = path_start == std::string::npos ? origin + "/" : base_url;
  return base.substr(0, base.rfind('/') + 1) + location;
}

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace corral::registry
