// Registry client implementation. Pull writes each blob into blobs/sha256-<hex>-partial at part
// offsets, keeps per-part resume state in -partial-<N> sidecars (as Ollama does), and renames the
// file into place only after its SHA-256 matches; the manifest is written after every blob.
#include "store/registry/registry_client.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "base/sha256.h"
#include "store/registry/http.h"

namespace corral::registry {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kAcceptManifest =
    "Accept: application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.oci.image.manifest.v1+json";
constexpr size_t kMaxManifestBytes = 4u << 20;

// The registry's own words, from {"errors":[{"code","message"}]} when present.
std::string registry_message(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("errors") && j["errors"].is_array() &&
      !j["errors"].empty() && j["errors"][0].is_object()) {
    const auto& e = j["errors"][0];
    std::string out;
    if (e.contains("code") && e["code"].is_string()) out = e["code"].get<std::string>();
    if (e.contains("message") && e["message"].is_string()) {
      out += (out.empty() ? "" : ": ") + e["message"].get<std::string>();
    }
    if (!out.empty()) return out;
  }
  std::string s = body.substr(0, 200);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Parses `Bearer realm="...",service="...",scope="..."`.
std::map<std::string, std::string> parse_challenge(const std::string& h, std::string* scheme) {
  std::map<std::string, std::string> out;
  size_t sp = h.find(' ');
  *scheme = h.substr(0, sp);
  for (char& c : *scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (sp == std::string::npos) return out;
  size_t i = sp + 1;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ',')) ++i;
    size_t eq = h.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = h.substr(i, eq - i);
    std::string val;
    i = eq + 1;
    if (i < h.size() && h[i] == '"') {
      size_t end = h.find('"', i + 1);
      if (end == std::string::npos) end = h.size();
      val = h.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      size_t end = h.find(',', i);
      if (end == std::string::npos) end = h.size();
      val = h.substr(i, end - i);
      i = end;
    }
    out[key] = val;
  }
  return out;
}

struct Part {
  int64_t offset = 0;
  int64_t size = 0;
  std::atomic<int64_t> completed{0};
};

std::string sidecar_path(const std::string& partial, size_t i) {
  return partial + "-" + std::to_string(i);
}

void remove_sidecars(const std::string& partial) {
  for (size_t i = 0;; ++i) {
    if (::unlink(sidecar_path(partial, i).c_str()) != 0) break;
  }
}

// Loads resume state; an empty vector when absent or inconsistent with `total`.
std::vector<std::unique_ptr<Part>> load_parts(const std::string& partial, int64_t total) {
  std::vector<std::unique_ptr<Part>> parts;
  int64_t expect_offset = 0;
  for (size_t i = 0;; ++i) {
    auto text = read_file(sidecar_path(partial, i));
    if (!text) break;
    auto j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("Offset") || !j.contains("Size") ||
        !j.contains("Completed") || !j["Offset"].is_number_integer() ||
        !j["Size"].is_number_integer() || !j["Completed"].is_number_integer()) {
      return {};
    }
    auto p = std::make_unique<Part>();
    p->offset = j["Offset"].get<int64_t>();
    p->size = j["Size"].get<int64_t>();
    const int64_t done = j["Completed"].get<int64_t>();
    if (p->offset != expect_offset || p->size <= 0 || done < 0 || done > p->size) return {};
    p->completed = done;
    expect_offset += p->size;
    parts.push_back(std::move(p));
  }
  if (expect_offset != total) return {};
  return parts;
}

Status save_part(const std::string& partial, size_t i, const Part& p) {
  json j = {{"N", i}, {"Offset", p.offset}, {"Size", p.size}, {"Completed", p.completed.load()}};
  return atomic_write_file(sidecar_path(partial, i), j.dump());
}

}  // namespace

std::string progress_json(const Progress& p) {
  std::string out = "{\"status\":" + json(p.status).dump();
  if (!p.digest.empty()) out += ",\"digest\":" + json(p.digest).dump();
  if (p.total > 0) out += ",\"total\":" + std::to_string(p.total);
  if (p.completed > 0) out += ",\"completed\":" + std::to_string(p.completed);
  return out + "}";
}

std::string short_digest(const std::string& digest) {
  const size_t colon = digest.find(':');
  return digest.substr(colon == std::string::npos ? 0 : colon + 1, 12);
}

struct Client::Impl {
  Store& store;
  Options o;
  std::mutex auth_mu;
  std::string token;  // bearer token from the last challenge

  Impl(Store& s, Options opts) : store(s), o(std::move(opts)) {}

  Result<std::string> base_url(const ModelName& n) const {
    if (n.scheme == "http" && !o.insecure) {
      return make_error("insecure protocol http: use --insecure to pull or push over plain HTTP");
    }
    const std::string scheme = (n.scheme == "http" || o.insecure) ? "http" : "https";
    return scheme + "://" + n.host;
  }

  Status fetch_token(const std::string& challenge, const std::string& scope) {
    std::string scheme;
    auto params = parse_challenge(challenge, &scheme);
    if (scheme != "bearer" || params["realm"].empty()) {
      return make_error("registry requires authentication we cannot provide ({})",
                        challenge.substr(0, 100));
    }
    std::string url = params["realm"];
    url += url.find('?') == std::string::npos ? '?' : '&';
    url += "service=" + url_escape(params["service"]);
    const std::string sc = params.count("scope") ? params["scope"] : scope;
    if (!sc.empty()) url += "&scope=" + url_escape(sc);
    HttpRequest req;
    req.url = url;
    req.user_agent = o.user_agent;
    req.connect_timeout_s = o.connect_timeout_s;
    req.stall_timeout_s = o.stall_timeout_s;
    HttpResponse r = http_do(req);
    if (!r.transport_ok()) return make_error("token request to {} failed: {}", params["realm"], r.error);
    if (r.status != 200) {
      return make_error("token request to {} answered {}: {}", params["realm"], r.status,
                        registry_message(r.body));
    }
    auto j = json::parse(r.body, nullptr, false);
    std::string t;
    if (!j.is_discarded() && j.is_object()) {
      if (j.contains("token") && j["token"].is_string()) t = j["token"].get<std::string>();
      if (t.empty() && j.contains("access_token") && j["access_token"].is_string()) {
        t = j["access_token"].get<std::string>();
      }
    }
    if (t.empty()) return make_error("token response from {} has no token", params["realm"]);
    std::lock_guard<std::mutex> lk(auth_mu);
    token = t;
    return {};
  }

  // Sends with the current token; on a 401 challenge fetches a token and retries once.
  HttpResponse send(HttpRequest req, const std::string& scope, Status* auth_error) {
    req.user_agent = o.user_agent;
    req.connect_timeout_s = o.connect_timeout_s;
    req.stall_timeout_s = o.stall_timeout_s;
    const size_t n_headers = req.headers.size();
    for (int attempt = 0; attempt < 2; ++attempt) {
      req.headers.resize(n_headers);
      {
        std::lock_guard<std::mutex> lk(auth_mu);
        if (!token.empty()) req.headers.push_back("Authorization: Bearer " + token);
      }
      HttpResponse r = http_do(req);
      if (attempt == 0 && r.transport_ok() && r.status == 401 &&
          !r.header("www-authenticate").empty()) {
        Status st = fetch_token(r.header("www-authenticate"), scope);
        if (!st) {
          if (auth_error) *auth_error = st;
          return r;
        }
        continue;
      }
      return r;
    }
    return {};
  }

  Status pull(const ModelName& name, const ProgressFn& progress);
  Status download_blob(const std::string& base, const ModelName& name, const Layer& layer,
                       const ProgressFn& progress);
  Status run_parts(const std::string& url, const std::string& scope, const Layer& layer, int fd,
                   std::vector<std::unique_ptr<Part>>& parts, const std::string& partial,
                   const ProgressFn& progress, bool* fatal);
  Status push(const ModelName& name, const ProgressFn& progress);
  Status push_blob(const std::string& base, const ModelName& name, const Layer& layer,
                   const ProgressFn& progress);
};

Status Client::Impl::pull(const ModelName& name, const ProgressFn& progress) {
  auto base = base_url(name);
  if (!base) return base.error();
  const std::string scope = "repository:" + name.repository() + ":pull";
  progress({"pulling manifest", "", 0, 0});
  HttpRequest req;
  req.url = *base + "/v2/" + name.repository() + "/manifests/" + name.tag;
  req.headers.push_back(kAcceptManifest);
  Status auth_err;
  HttpResponse r = send(req, scope, &auth_err);
  if (!auth_err) return make_error("pull {}: {}", name.display_shortest(), auth_err.error().message);
  if (!r.transport_ok()) {
    return make_error("pull {}: cannot reach {}: {}", name.display_shortest(), *base, r.error);
  }
  if (r.status == 404) {
    return make_error("pull {}: model not found in registry {} (404: {})",
                      name.display_shortest(), name.host, registry_message(r.body));
  }
  if (r.status == 401 || r.status == 403) {
    return make_error("pull {}: registry refused access ({}: {})", name.display_shortest(),
                      r.status, registry_message(r.body));
  }
  if (r.status != 200) {
    return make_error("pull {}: registry answered {} for the manifest: {}",
                      name.display_shortest(), r.status, registry_message(r.body));
  }
  if (r.body.size() > kMaxManifestBytes) return make_error("pull {}: manifest too large", name.display_shortest());
  auto m = Manifest::parse(r.body);
  if (!m) return make_error("pull {}: {}", name.display_shortest(), m.error().message);
  // Remember the tag's previous layers: the ones nothing uses afterwards are removed.
  std::vector<std::string> old_digests;
  if (auto old = store.resolve(name)) {
    for (const auto& l : old->all_blobs()) old_digests.push_back(l.digest);
  }
  std::vector<std::string> added;  // blobs this pull admitted
  Status failed;
  {
    // Shared store lock: GC cannot run between a blob landing and its manifest being written.
    auto lk = store.lock_shared();
    if (!lk) return lk.error();
    for (const Layer& l : m->all_blobs()) {
      const bool had = store.has_blob(l.digest, l.size);
      Status st = download_blob(*base, name, l, progress);
      if (!st) {
        failed = make_error("pull {}: {}", name.display_shortest(), st.error().message);
        break;
      }
      if (!had) added.push_back(l.digest);
    }
    if (failed) {
      progress({"verifying sha256 digest", "", 0, 0});
      progress({"writing manifest", "", 0, 0});
      failed = store.write_manifest(name, *m, r.body);
    }
  }
  if (!failed) {
    // Leave the store as it was: drop the blobs this pull admitted that no manifest uses.
    // (Partial files of interrupted blobs stay: they are the resume state.)
    (void)store.remove_unreferenced(added);
    return failed;
  }
  std::set<std::string> now(old_digests.begin(), old_digests.end());
  for (const auto& l : m->all_blobs()) now.erase(l.digest);
  if (!now.empty()) {
    progress({"removing unused layers", "", 0, 0});
    (void)store.remove_unreferenced(std::vector<std::string>(now.begin(), now.end()));
  }
  progress({"success", "", 0, 0});
  return {};
}

Status Client::Impl::download_blob(const std::string& base, const ModelName& name,
                                   const Layer& layer, const ProgressFn& progress) {
  const std::string label = "pulling " + short_digest(layer.digest);
  if (store.has_blob(layer.digest, layer.size)) {
    progress({label, layer.digest, layer.size, layer.size});
    return {};
  }
  const std::string partial = store.partial_path(layer.digest);
  // Lock the partial file itself: a second pull of the same blob waits here, then finds the
  // blob admitted. The inode check catches a partial renamed or removed while we waited.
  int fd = -1;
  while (true) {
    fd = ::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return make_error("{}: cannot open: {}", partial, std::strerror(errno));
    if (::flock(fd, LOCK_EX) != 0) {
      ::close(fd);
      return make_error("{}: flock failed: {}", partial, std::strerror(errno));
    }
    struct stat a {}, b {};
    if (::fstat(fd, &a) == 0 && ::stat(partial.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
      break;
    }
    ::close(fd);
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  if (store.has_blob(layer.digest, layer.size)) {  // another process finished it meanwhile
    ::unlink(partial.c_str());
    remove_sidecars(partial);
    progress({label, layer.digest, layer.size, layer.size});
    return {};
  }
  auto parts = load_parts(partial, layer.size);
  struct stat st {};
  if (parts.empty() || ::fstat(fd, &st) != 0 || st.st_size != layer.size) {
    parts.clear();
    remove_sidecars(partial);
    if (::ftruncate(fd, 0) != 0 || ::ftruncate(fd, layer.size) != 0) {
      const int err = errno;
      ::unlink(partial.c_str());
      return make_error("{}: cannot size to {} bytes: {}", partial, layer.size, std::strerror(err));
    }
    const int64_t part_size = std::clamp<int64_t>(layer.size / std::max(o.max_parts, 1),
                                                  o.min_part_bytes, o.max_part_bytes);
    for (int64_t off = 0; off < layer.size; off += part_size) {
      auto p = std::make_unique<Part>();
      p->offset = off;
      p->size = std::min(part_size, layer.size - off);
      parts.push_back(std::move(p));
    }
    for (size_t i = 0; i < parts.size(); ++i) (void)save_part(partial, i, *parts[i]);
  }
  const std::string url = base + "/v2/" + name.repository() + "/blobs/" + layer.digest;
  const std::string scope = "repository:" + name.repository() + ":pull";
  bool fatal = false;
  Status st_parts = run_parts(url, scope, layer, fd, parts, partial, progress, &fatal);
  if (!st_parts) {
    if (fatal) {  // e.g. a full disk: free the space rather than keep a useless partial
      ::unlink(partial.c_str());
      remove_sidecars(partial);
    } else {
      for (size_t i = 0; i < parts.size(); ++i) (void)save_part(partial, i, *parts[i]);
    }
    return st_parts;
  }
  // Verify before admitting the blob.
  auto hex = sha256_file_hex(partial);
  if (!hex) return hex.error();
  if ("sha256:" + *hex != layer.digest) {
    ::unlink(partial.c_str());
    remove_sidecars(partial);
    return make_error("digest mismatch for {}: got sha256:{}; the file must be downloaded again",
                      layer.digest, *hex);
  }
  if (::fsync(fd) != 0) return make_error("{}: fsync failed: {}", partial, std::strerror(errno));
  if (::rename(partial.c_str(), store.blob_path(layer.digest).c_str()) != 0) {
    return make_error("{}: rename failed: {}", partial, std::strerror(errno));
  }
  remove_sidecars(partial);
  CORRAL_TRY(fsync_directory(store.blobs_dir()));
  return {};
}

Status Client::Impl::run_parts(const std::string& url, const std::string& scope,
                               const Layer& layer, int fd, std::vector<std::unique_ptr<Part>>& parts,
                               const std::string& partial, const ProgressFn& progress, bool* fatal) {
  const std::string label = "pulling " + short_digest(layer.digest);
  std::atomic<bool> abort{false};
  std::mutex mu;  // guards first_error, fatal, progress calls
  Status first_error;
  auto fail = [&](Status s, bool is_fatal) {
    std::lock_guard<std::mutex> lk(mu);
    if (first_error) first_error = std::move(s);
    if (is_fatal) *fatal = true;
    abort = true;
  };
  auto total_done = [&] {
    int64_t d = 0;
    for (const auto& p : parts) d += p->completed.load();
    return d;
  };
  auto last_report = Clock::now() - std::chrono::seconds(1);
  auto report = [&](bool force) {
    std::lock_guard<std::mutex> lk(mu);
    auto now = Clock::now();
    if (!force && now - last_report < std::chrono::milliseconds(100)) return;
    last_report = now;
    progress({label, layer.digest, layer.size, total_done()});
  };
  report(true);
  auto worker = [&](size_t idx) {
    Part& part = *parts[idx];
    int tries = 0, stalls = 0;
    auto last_save = Clock::now();
    while (part.completed < part.size && !abort) {
      const int64_t start = part.offset + part.completed;
      const int64_t end = part.offset + part.size - 1;
      int64_t skip = start;  // bytes to drop if the server ignores Range and sends 200
      const int64_t before = part.completed;
      std::string err_body;
      int write_errno = 0;
      HttpRequest req;
      req.url = url;
      req.follow_redirects = true;  // blob hosts (CDNs) answer with 307 Location
      req.cancel = &abort;
      req.headers.push_back("Range: bytes=" + std::to_string(start) + "-" + std::to_string(end));
      req.sink = [&](const char* d, size_t n, long status) {
        if (status != 200 && status != 206) {
          if (err_body.size() < 4096) err_body.append(d, std::min<size_t>(n, 4096));
          return true;
        }
        if (status == 200 && skip > 0) {
          const size_t drop = static_cast<size_t>(std::min<int64_t>(skip, static_cast<int64_t>(n)));
          d += drop;
          n -= drop;
          skip -= static_cast<int64_t>(drop);
        } else if (status == 206) {
          skip = 0;
        }
        const int64_t room = part.size - part.completed;
        const bool overflow = static_cast<int64_t>(n) > room;
        if (overflow) n = static_cast<size_t>(room);
        size_t off = 0;
        while (off < n) {
          ssize_t w = ::pwrite(fd, d + off, n - off, part.offset + part.completed + static_cast<int64_t>(off));
          if (w < 0) {
            if (errno == EINTR) continue;
            write_errno = errno;
            return false;
          }
          off += static_cast<size_t>(w);
        }
        part.completed += static_cast<int64_t>(n);
        report(false);
        if (Clock::now() - last_save > std::chrono::seconds(1)) {
          (void)save_part(partial, idx, part);
          last_save = Clock::now();
        }
        return !overflow && !abort;
      };
      Status auth_err;
      HttpResponse r = send(req, scope, &auth_err);
      if (part.completed == part.size) break;
      if (abort) break;
      if (!auth_err) return fail(auth_err, false);
      if (write_errno != 0) {
        return fail(make_error("writing {}: {}", partial, std::strerror(write_errno)),
                    write_errno == ENOSPC || write_errno == EDQUOT || write_errno == EFBIG);
      }
      const bool made_progress = part.completed > before;
      if (r.transport_ok() && r.status >= 400 && r.status < 500 && r.status != 408 &&
          r.status != 429) {
        return fail(make_error("registry answered {} for blob {}: {}", r.status, layer.digest,
                               registry_message(err_body)), false);
      }
      if (r.stalled) {
        if (++stalls > o.max_stall_restarts) {
          return fail(make_error("blob {} stalled {} times; giving up", layer.digest, stalls), false);
        }
        continue;  // a stall restarts the part without using up a try
      }
      if (made_progress) tries = 0;
      if (++tries >= o.max_tries) {
        std::string why = r.transport_ok() ? fmt::format("status {}", r.status) : r.error;
        return fail(make_error("blob {}: giving up after {} tries: {}", layer.digest, tries, why),
                    false);
      }
      const auto wait = std::chrono::milliseconds(int64_t{o.backoff_base_ms} << (tries - 1));
      const auto until = Clock::now() + wait;
      while (Clock::now() < until && !abort) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    (void)save_part(partial, idx, part);
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i]->completed < parts[i]->size) threads.emplace_back(worker, i);
  }
  for (auto& t : threads) t.join();
  report(true);
  if (!first_error) return first_error;
  if (total_done() != layer.size) return make_error("blob {}: incomplete download", layer.digest);
  return {};
}

Status Client::Impl::push(const ModelName& name, const ProgressFn& progress) {
  auto base = base_url(name);
  if (!base) return base.error();
  progress({"retrieving manifest", "", 0, 0});
  auto raw = store.read_manifest_bytes(name);
  if (!raw) return raw.error();
  auto m = Manifest::parse(*raw);
  if (!m) return make_error("push {}: {}", name.display_shortest(), m.error().message);
  for (const Layer& l : m->all_blobs()) {
    if (!store.has_blob(l.digest, l.size)) {
      return make_error("push {}: blob {} is missing from the store", name.display_shortest(), l.digest);
    }
    Status st = push_blob(*base, name, l, progress);
    if (!st) return make_error("push {}: {}", name.display_shortest(), st.error().message);
  }
  progress({"pushing manifest", "", 0, 0});
  HttpRequest req;
  req.method = "PUT";
  req.url = *base + "/v2/" + name.repository() + "/manifests/" + name.tag;
  req.headers.push_back("Content-Type: " + m->media_type);
  req.body = *raw;
  Status auth_err;
  HttpResponse r = send(req, "repository:" + name.repository() + ":pull,push", &auth_err);
  if (!auth_err) return auth_err;
  if (!r.transport_ok()) return make_error("push {}: manifest upload failed: {}", name.display_shortest(), r.error);
  if (r.status != 201 && r.status != 200) {
    return make_error("push {}: registry answered {} for the manifest: {}", name.display_shortest(),
                      r.status, registry_message(r.body));
  }
  progress({"success", "", 0, 0});
  return {};
}

Status Client::Impl::push_blob(const std::string& base, const ModelName& name, const Layer& layer,
                               const ProgressFn& progress) {
  const std::string label = "pushing " + short_digest(layer.digest);
  const std::string scope = "repository:" + name.repository() + ":pull,push";
  const std::string repo_url = base + "/v2/" + name.repository();
  Status auth_err;
  auto check = [&](const HttpResponse& r, std::initializer_list<long> ok, const char* what) -> Status {
    if (!auth_err) return auth_err;
    if (!r.transport_ok()) return make_error("{} for {}: {}", what, layer.digest, r.error);
    for (long s : ok) {
      if (r.status == s) return {};
    }
    return make_error("{} for {}: registry answered {}: {}", what, layer.digest, r.status,
                      registry_message(r.body));
  };
  HttpRequest head;
  head.method = "HEAD";
  head.url = repo_url + "/blobs/" + layer.digest;
  HttpResponse hr = send(head, scope, &auth_err);
  if (!auth_err) return auth_err;
  if (hr.transport_ok() && hr.status == 200) {
    progress({label, layer.digest, layer.size, layer.size});
    return {};
  }
  progress({label, layer.digest, layer.size, 0});
  HttpRequest post;
  post.method = "POST";
  post.url = repo_url + "/blobs/uploads/";
  HttpResponse pr = send(post, scope, &auth_err);
  CORRAL_TRY(check(pr, {202}, "starting upload"));
  std::string location = resolve_url(post.url, pr.header("location"));
  if (pr.header("location").empty()) return make_error("upload start for {}: no Location", layer.digest);
  const std::string path = store.blob_path(layer.digest);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("{}: cannot open: {}", path, std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  auto with_digest = [&](const std::string& loc) {
    return loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + url_escape(layer.digest);
  };
  if (layer.size <= o.upload_chunk_bytes) {
    HttpRequest put;  // monolithic
    put.method = "PUT";
    put.url = with_digest(location);
    put.headers.push_back("Content-Type: application/octet-stream");
    put.upload_fd = fd;
    put.upload_size = layer.size;
    HttpResponse r = send(put, scope, &auth_err);
    CORRAL_TRY(check(r, {201}, "uploading"));
    progress({label, layer.digest, layer.size, layer.size});
    return {};
  }
  for (int64_t off = 0; off < layer.size;) {
    const int64_t n = std::min(o.upload_chunk_bytes, layer.size - off);
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = location;
    patch.headers.push_back("Content-Type: application/octet-stream");
    patch.headers.push_back("Content-Range: " + std::to_string(off) + "-" + std::to_string(off + n - 1));
    patch.upload_fd = fd;
    patch.upload_offset = off;
    patch.upload_size = n;
    HttpResponse r = send(patch, scope, &auth_err);
    CORRAL_TRY(check(r, {202}, "uploading chunk"));
    if (!r.header("location").empty()) location = resolve_url(patch.url, r.header("location"));
    off += n;
    progress({label, layer.digest, layer.size, off});
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = with_digest(location);
  HttpResponse r = send(put, scope, &auth_err);
  return check(r, {201}, "finishing upload");
}

Client::Client(Store& store, Options opts) : impl_(std::make_unique<Impl>(store, std::move(opts))) {}
Client::~Client() = default;

Status Client::pull(const ModelName& name, const ProgressFn& progress) {
  return impl_->pull(name, progress ? progress : ProgressFn([](const Progress&) {}));
}

Status Client::push(const ModelName& name, const ProgressFn& progress) {
  return impl_->push(name, progress ? progress : ProgressFn([](const Progress&) {}));
}

}  // namespace corral::registry
