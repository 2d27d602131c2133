// Store implementation: paths, atomic manifest and blob commits, listing, GC.
#include "store/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "base/sha256.h"

namespace corral {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string hex_of(std::string_view digest) { return std::string(digest.substr(7)); }

// Temp names made by atomic_write_file and by blob imports: "<name>.tmp-<n>".
bool is_temp_name(const std::string& name) { return name.find(".tmp-") != std::string::npos; }

std::string random_suffix() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

// Finds `want` in `dir` case-insensitively (exact match preferred).
std::string find_fold(const fs::path& dir, const std::string& want) {
  std::error_code ec;
  if (fs::exists(dir / want, ec)) return want;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (lower(n) == lower(want)) return n;
  }
  return {};
}

// Copies `src` to `dst` (created exclusively), hashing as it goes; fsyncs `dst`.
Result<std::string> copy_and_hash(const std::string& src, const std::string& dst) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return make_error("{}: cannot open: {}", src, std::strerror(errno));
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return make_error("{}: cannot create: {}", dst, std::strerror(err));
  }
  Sha256 h;
  std::vector<char> buf(1 << 20);
  Status st;
  while (true) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      st = make_error("{}: read failed: {}", src, std::strerror(errno));
      break;
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
    ssize_t off = 0;
    while (off < n) {
      ssize_t w = ::write(out, buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        st = make_error("{}: write failed: {}", dst, std::strerror(errno));
        break;
      }
      off += w;
    }
    if (!st) break;
  }
  if (st && ::fsync(out) != 0) st = make_error("{}: fsync failed: {}", dst, std::strerror(errno));
  ::close(in);
  ::close(out);
  if (!st) {
    ::unlink(dst.c_str());
    return st.error();
  }
  return "sha256:" + h.hex_digest();
}

}  // namespace

std::string digest_of(std::string_view bytes) { return "sha256:" + sha256_hex(bytes); }

StoreLock& StoreLock::operator=(StoreLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

std::string Store::default_root() {
  for (const char* var : {"CORRAL_MODELS", "OLLAMA_MODELS"}) {
    const char* v = std::getenv(var);
    if (v && *v) return v;
  }
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.corral/models";
}

Result<Store> Store::open(const std::string& root) {
  if (root.empty()) return make_error("store: empty root path");
  std::error_code ec;
  for (const char* sub : {"manifests", "blobs"}) {
    fs::create_directories(fs::path(root) / sub, ec);
    if (ec) return make_error("store: cannot create {}/{}: {}", root, sub, ec.message());
  }
  Store s;
  s.root_ = root;
  while (s.root_.size() > 1 && s.root_.back() == '/') s.root_.pop_back();
  return s;
}

std::string Store::blob_path(std::string_view digest) const {
  return blobs_dir() + "/sha256-" + hex_of(digest);
}

std::string Store::partial_path(std::string_view digest) const {
  return blob_path(digest) + "-partial";
}

bool Store::has_blob(std::string_view digest, int64_t size_bytes) const {
  if (!is_valid_digest(digest)) return false;
  struct stat st {};
  if (::stat(blob_path(digest).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  return size_bytes < 0 || st.st_size == size_bytes;
}

Result<StoreLock> Store::lock(int op) const {
  const std::string path = root_ + "/.corral.lock";
  StoreLock l;
  l.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (l.fd_ < 0) return make_error("{}: cannot open lock: {}", path, std::strerror(errno));
  while (::flock(l.fd_, op) != 0) {
    if (errno != EINTR) return make_error("{}: flock failed: {}", path, std::strerror(errno));
  }
  return l;
}

Result<StoreLock> Store::lock_shared() const { return lock(LOCK_SH); }
Result<StoreLock> Store::lock_exclusive() const { return lock(LOCK_EX); }

Result<std::string> Store::find_manifest_path(const ModelName& name) const {
  fs::path dir = manifests_dir();
  for (const std::string& part : {name.host, name.ns, name.model, name.tag}) {
    std::string found = find_fold(dir, part);
    if (found.empty()) return make_error("model \"{}\" not found", name.display_shortest());
    dir /= found;
  }
  std::error_code ec;
  if (!fs::is_regular_file(dir, ec)) {
    return make_error("model \"{}\" not found", name.display_shortest());
  }
  return dir.string();
}

Result<std::string> Store::read_manifest_bytes(const ModelName& name) const {
  auto path = find_manifest_path(name);
  if (!path) return path.error();
  return read_file(*path);
}

Result<Manifest> Store::resolve(const ModelName& name) const {
  auto bytes = read_manifest_bytes(name);
  if (!bytes) return bytes.error();
  auto m = Manifest::parse(*bytes);
  if (!m) return make_error("model \"{}\": {}", name.display_shortest(), m.error().message);
  return m;
}

Result<std::string> Store::read_blob_text(std::string_view digest, int64_t max_bytes) const {
  if (!is_valid_digest(digest)) return make_error("invalid digest \"{}\"", digest);
  const std::string path = blob_path(digest);
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return make_error("blob {} missing: {}", digest, ec.message());
  if (static_cast<int64_t>(size) > max_bytes) return make_error("blob {} too large", digest);
  return read_file(path);
}

Result<ResolvedModel> Store::resolve_model(std::string_view name) const {
  auto n = ModelName::parse(name);
  if (!n) return n.error();
  return resolve_model(*n);
}

Result<ResolvedModel> Store::resolve_model(const ModelName& name) const {
  auto bytes = read_manifest_bytes(name);
  if (!bytes) return bytes.error();
  auto m = Manifest::parse(*bytes);
  if (!m) return make_error("model \"{}\": {}", name.display_shortest(), m.error().message);
  ResolvedModel r;
  r.name = name;
  r.manifest = std::move(*m);
  r.manifest_digest = digest_of(*bytes);
  for (const Layer& l : r.manifest.layers) {
    if (!has_blob(l.digest, l.size)) {
      return make_error("model \"{}\": blob {} is missing or has the wrong size",
                        name.display_shortest(), l.digest);
    }
    const std::string& mt = l.media_type;
    if (mt == kMediaModel) {
      if (r.model_path.empty()) r.model_path = blob_path(l.digest);
    } else if (mt == kMediaProjector) {
      r.projector_paths.push_back(blob_path(l.digest));
    } else if (mt == kMediaAdapter) {
      r.adapter_paths.push_back(blob_path(l.digest));
    } else if (mt == kMediaTemplate || mt == kMediaPrompt) {
      auto t = read_blob_text(l.digest);
      if (!t) return t.error();
      r.template_text = std::move(*t);
      r.has_template = true;
    } else if (mt == kMediaSystem) {
      auto t = read_blob_text(l.digest);
      if (!t) return t.error();
      r.system = std::move(*t);
      r.has_system = true;
    } else if (mt == kMediaLicense) {
      auto t = read_blob_text(l.digest);
      if (!t) return t.error();
      r.licenses.push_back(std::move(*t));
    } else if (mt == kMediaParams || mt == kMediaMessages) {
      auto t = read_blob_text(l.digest);
      if (!t) return t.error();
      auto j = nlohmann::json::parse(*t, nullptr, false);
      const bool want_object = mt == kMediaParams;
      if (j.is_discarded() || (want_object ? !j.is_object() : !j.is_array())) {
        return make_error("model \"{}\": {} layer is not a JSON {}", name.display_shortest(),
                          want_object ? "params" : "messages", want_object ? "object" : "array");
      }
      (want_object ? r.params_json : r.messages_json) = j.dump();
    }
  }
  if (r.model_path.empty()) {
    return make_error("model \"{}\" has no model layer", name.display_shortest());
  }
  return r;
}

Status Store::write_manifest(const ModelName& name, const Manifest& m, std::string_view raw) {
  for (const Layer& l : m.all_blobs()) {
    if (!has_blob(l.digest, l.size)) {
      return make_error("cannot write manifest for \"{}\": blob {} is missing or incomplete",
                        name.display_shortest(), l.digest);
    }
  }
  // Reuse an existing case-insensitive match so one model never has two manifests.
  std::string path;
  if (auto existing = find_manifest_path(name)) {
    path = *existing;
  } else {
    path = manifests_dir() + "/" + name.filepath();
  }
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return make_error("{}: cannot create directory: {}", path, ec.message());
  const std::string text = raw.empty() ? m.serialize() : std::string(raw);
  return atomic_write_file(path, text);
}

Result<std::vector<ModelEntry>> Store::list() const {
  std::vector<ModelEntry> out;
  std::error_code ec;
  const fs::path base = manifests_dir();
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const fs::path rel = fs::relative(it->path(), base, ec);
    std::vector<std::string> parts;
    for (const auto& p : rel) parts.push_back(p.string());
    if (parts.size() != 4 || is_temp_name(parts[3])) continue;
    auto name = ModelName::parse(parts[0] + "/" + parts[1] + "/" + parts[2] + ":" + parts[3]);
    if (!name) continue;
    auto bytes = read_file(it->path().string());
    if (!bytes) continue;
    auto m = Manifest::parse(*bytes);
    if (!m) continue;
    ModelEntry e;
    e.name = *name;
    e.manifest_path = it->path().string();
    e.manifest_digest = digest_of(*bytes);
    e.size_bytes = m->total_size();
    e.manifest = std::move(*m);
    struct stat st {};
    if (::stat(e.manifest_path.c_str(), &st) == 0) e.modified_unix_s = st.st_mtim.tv_sec;
    out.push_back(std::move(e));
  }
  if (ec) return make_error("store: cannot list {}: {}", base.string(), ec.message());
  std::sort(out.begin(), out.end(), [](const ModelEntry& a, const ModelEntry& b) {
    if (a.modified_unix_s != b.modified_unix_s) return a.modified_unix_s > b.modified_unix_s;
    return a.name.display_shortest() < b.name.display_shortest();
  });
  return out;
}

Status Store::copy(const ModelName& src, const ModelName& dst) {
  auto bytes = read_manifest_bytes(src);
  if (!bytes) return bytes.error();
  auto m = Manifest::parse(*bytes);
  if (!m) return make_error("model \"{}\": {}", src.display_shortest(), m.error().message);
  return write_manifest(dst, *m, *bytes);
}

Status Store::remove(const ModelName& name, PruneStats* stats) {
  auto lk = lock_exclusive();
  if (!lk) return lk.error();
  auto path = find_manifest_path(name);
  if (!path) return path.error();
  if (::unlink(path->c_str()) != 0) {
    return make_error("{}: cannot delete: {}", *path, std::strerror(errno));
  }
  (void)fsync_directory(fs::path(*path).parent_path().string());
  // Remove now-empty model/namespace/host directories, as Ollama does.
  fs::path dir = fs::path(*path).parent_path();
  std::error_code ec;
  for (int i = 0; i < 3 && dir != fs::path(manifests_dir()); ++i) {
    if (!fs::is_empty(dir, ec) || ec) break;
    fs::remove(dir, ec);
    dir = dir.parent_path();
  }
  auto p = prune_unlocked();
  if (!p) return p.error();
  if (stats) *stats = *p;
  return {};
}

Result<std::vector<std::string>> Store::referenced_digests() const {
  std::set<std::string> refs;
  std::error_code ec;
  const fs::path base = manifests_dir();
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (is_temp_name(it->path().filename().string())) continue;
    auto bytes = read_file(it->path().string());
    if (!bytes) return bytes.error();
    auto m = Manifest::parse(*bytes);
    // An unreadable manifest makes GC unsafe: its blobs are unknown, so stop.
    if (!m) return make_error("{}: {}; not collecting garbage", it->path().string(), m.error().message);
    for (const Layer& l : m->all_blobs()) refs.insert(l.digest);
  }
  if (ec) return make_error("store: cannot scan {}: {}", base.string(), ec.message());
  return std::vector<std::string>(refs.begin(), refs.end());
}

Result<PruneStats> Store::prune() {
  auto lk = lock_exclusive();
  if (!lk) return lk.error();
  return prune_unlocked();
}

Result<PruneStats> Store::remove_unreferenced(const std::vector<std::string>& digests) {
  PruneStats stats;
  if (digests.empty()) return stats;
  auto lk = lock_exclusive();
  if (!lk) return lk.error();
  auto refs = referenced_digests();
  if (!refs) return refs.error();
  std::set<std::string> used(refs->begin(), refs->end());
  for (const auto& d : digests) {
    if (!is_valid_digest(d) || used.count(d)) continue;
    std::error_code ec;
    const auto size = fs::file_size(blob_path(d), ec);
    if (!ec && fs::remove(blob_path(d), ec)) {
      ++stats.n_removed;
      stats.bytes_removed += static_cast<int64_t>(size);
    }
  }
  return stats;
}

Result<PruneStats> Store::prune_unlocked() {
  auto refs = referenced_digests();
  if (!refs) return refs.error();
  std::set<std::string> keep;
  for (const auto& d : *refs) keep.insert("sha256-" + hex_of(d));
  PruneStats stats;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(blobs_dir(), ec)) {
    const std::string n = e.path().filename().string();
    // Only complete blobs and our own stale temp files; partial downloads are resume state.
    const bool is_blob = n.size() == 71 && n.compare(0, 7, "sha256-") == 0 &&
                         is_valid_digest(n);
    if (!is_blob && !is_temp_name(n)) continue;
    if (is_blob && keep.count(n)) continue;
    std::error_code sec;
    auto size = e.is_regular_file(sec) ? fs::file_size(e.path(), sec) : 0;
    if (fs::remove(e.path(), sec)) {
      ++stats.n_removed;
      stats.bytes_removed += static_cast<int64_t>(size);
    }
  }
  if (ec) return make_error("store: cannot scan {}: {}", blobs_dir(), ec.message());
  return stats;
}

Result<std::string> Store::import_blob_bytes(std::string_view data) {
  const std::string digest = digest_of(data);
  if (has_blob(digest, static_cast<int64_t>(data.size()))) return digest;
  CORRAL_TRY(atomic_write_file(blob_path(digest), data));
  return digest;
}

Result<std::string> Store::import_blob_file(const std::string& path, bool allow_link) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return make_error("{}: {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return make_error("{}: not a regular file", path);
  const std::string tmp = blobs_dir() + "/import.tmp-" + random_suffix();
  std::string digest;
  if (allow_link && ::link(path.c_str(), tmp.c_str()) == 0) {
    auto hex = sha256_file_hex(tmp);
    if (!hex) {
      ::unlink(tmp.c_str());
      return hex.error();
    }
    digest = "sha256:" + *hex;
  } else {
    auto d = copy_and_hash(path, tmp);
    if (!d) return d.error();
    digest = *d;
  }
  if (has_blob(digest, static_cast<int64_t>(st.st_size))) {
    ::unlink(tmp.c_str());  // already stored: never keep a second copy
    return digest;
  }
  if (::rename(tmp.c_str(), blob_path(digest).c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return make_error("{}: rename failed: {}", blob_path(digest), std::strerror(err));
  }
  CORRAL_TRY(fsync_directory(blobs_dir()));
  return digest;
}

}  // namespace corral
