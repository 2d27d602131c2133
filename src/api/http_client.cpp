// libcurl transport for api/http_client.h. One easy handle per call, so calls from several threads
// at once are independent.
#include "api/http_client.h"

#include <curl/curl.h>

#include <cstdio>
#include <filesystem>
#include <mutex>

namespace corral::api {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Ctx {
  long status = 0;
  CURL* curl = nullptr;
  const LineCallback* on_line = nullptr;
  std::string pending;   // partial line of a stream
  std::string body;
  bool stopped = false;
};

constexpr size_t kMaxBodyBytes = 64u << 20;

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<Ctx*>(user);
  const size_t len = size * n;
  if (ctx->status == 0) curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &ctx->status);
  if (!ctx->on_line || ctx->status >= 400) {
    if (ctx->body.size() + len > kMaxBodyBytes) return 0;
    ctx->body.append(data, len);
    return len;
  }
  ctx->pending.append(data, len);
  size_t start = 0;
  for (;;) {
    const size_t nl = ctx->pending.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(ctx->pending.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = nl + 1;
    if (!(*ctx->on_line)(line)) {
      ctx->stopped = true;
      return 0;  // aborts the transfer
    }
  }
  ctx->pending.erase(0, start);
  if (ctx->pending.size() > kMaxBodyBytes) return 0;
  return len;
}

int on_xfer(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancel = static_cast<const std::atomic<bool>*>(user);
  return cancel->load() ? 1 : 0;  // non-zero aborts with CURLE_ABORTED_BY_CALLBACK
}

// A request body read from an open file as curl sends it.
struct FileBody {
  std::FILE* f = nullptr;
  curl_off_t size = 0;
  bool read_error = false;
};

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* fb = static_cast<FileBody*>(user);
  const size_t got = std::fread(buf, 1, size * n, fb->f);
  if (got == 0 && std::ferror(fb->f)) {
    fb->read_error = true;
    return CURL_READFUNC_ABORT;
  }
  return got;
}

Result<HttpResult> perform(const std::string& url, const std::string* body,
                           const LineCallback* on_line, const HttpClientOptions& opts,
                           const char* method = nullptr, FileBody* file_body = nullptr) {
  global_init();
  CURL* curl = curl_easy_init();
  if (!curl) return make_error("{}: curl_easy_init failed", url);
  Ctx ctx;
  ctx.curl = curl;
  ctx.on_line = on_line;
  curl_slist* hdrs = nullptr;
  hdrs = curl_slist_append(hdrs, file_body ? "Content-Type: application/octet-stream" : "Content-Type: application/json");
  hdrs = curl_slist_append(hdrs, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(opts.connect_timeout_s * 1000));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(opts.total_timeout_s * 1000));
  if (opts.cancel != nullptr) {
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(opts.cancel));
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  }
  if (method != nullptr) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  if (body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  } else if (file_body) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, file_body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, file_body->size);
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ctx.status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(curl);
  if (file_body && file_body->read_error) return make_error("{}: reading the file to send failed", url);
  if (rc == CURLE_ABORTED_BY_CALLBACK) return make_error("{}: cancelled", url);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && ctx.stopped)) {
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
      return make_error("cannot reach {}: {}", url, curl_easy_strerror(rc));
    }
    return make_error("{}: {}", url, curl_easy_strerror(rc));
  }
  // A final line without "\n" still counts.
  if (on_line && ctx.status < 400 && !ctx.stopped && !ctx.pending.empty()) {
    std::string_view line(ctx.pending);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    (*on_line)(line);
  }
  return HttpResult{ctx.status, std::move(ctx.body)};
}

}  // namespace

Result<HttpResult> http_get(const std::string& url, const HttpClientOptions& opts) {
  return perform(url, nullptr, nullptr, opts);
}

Result<HttpResult> http_post_json(const std::string& url, const std::string& body,
                                  const HttpClientOptions& opts) {
  return perform(url, &body, nullptr, opts);
}

Result<HttpResult> http_delete_json(const std::string& url, const std::string& body,
                                    const HttpClientOptions& opts) {
  return perform(url, &body, nullptr, opts, "DELETE");
}

Result<HttpResult> http_post_stream(const std::string& url, const std::string& body,
                                    const LineCallback& on_line, const HttpClientOptions& opts) {
  return perform(url, &body, &on_line, opts);
}

Result<HttpResult> http_post_file(const std::string& url, const std::string& path, const HttpClientOptions& opts) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error("cannot read {}: {}", path, ec.message());
  FileBody fb;
  fb.f = std::fopen(path.c_str(), "rb");
  if (fb.f == nullptr) return make_error("cannot open {}", path);
  fb.size = static_cast<curl_off_t>(size);
  auto r = perform(url, nullptr, nullptr, opts, nullptr, &fb);
  std::fclose(fb.f);
  return r;
}

std::string_view sse_data(std::string_view line) {
  if (line.substr(0, 5) != "data:") return {};
  line.remove_prefix(5);
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  return line;
}

}  // namespace corral::api
