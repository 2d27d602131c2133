// libcurl POST with an abort callback (see http_call.h).
#include "jobs/http_call.h"

#include <curl/curl.h>

#include <mutex>

namespace corral::jobs {
namespace {

constexpr size_t kMaxReplyBytes = size_t{256} << 20;

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * n > kMaxReplyBytes) return 0;
  body->append(data, size * n);
  return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* check = static_cast<const std::function<bool()>*>(user);
  return (*check)() ? 1 : 0;
}

}  // namespace

HttpReply http_post(const HttpPost& p) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpReply out;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    out.transport = HttpReply::Transport::kFailed;
    out.error = "curl_easy_init failed";
    return out;
  }
  curl_slist* hdrs = curl_slist_append(nullptr, "Content-Type: application/json");
  hdrs = curl_slist_append(hdrs, "Expect:");
  for (const auto& h : p.headers) hdrs = curl_slist_append(hdrs, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, p.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, p.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(p.body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(p.timeout_s * 1000));
  if (p.should_abort) {
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &p.should_abort);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(curl);
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    out.transport = HttpReply::Transport::kAborted;
    out.error = "aborted";
  } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
    out.transport = HttpReply::Transport::kConnectFailed;
    out.error = curl_easy_strerror(rc);
  } else if (rc != CURLE_OK) {
    out.transport = HttpReply::Transport::kFailed;
    out.error = curl_easy_strerror(rc);
  }
  return out;
}

}  // namespace corral::jobs
