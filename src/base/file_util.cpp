// File helpers: read whole files, write them atomically.
#include "base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace corral {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("{}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error("{}: read failed", path);
  return ss.str();
}

Status fsync_directory(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error("{}: cannot open directory: {}", dir, std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return make_error("{}: fsync failed: {}", dir, std::strerror(err));
  return {};
}

Status atomic_write_file(const std::string& path, std::string_view contents) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.parent_path();
  std::random_device rd;
  const std::string tmp = path + ".tmp-" + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return make_error("{}: cannot create: {}", tmp, std::strerror(errno));
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error("{}: write failed: {}", path, std::strerror(err));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return make_error("{}: fsync failed: {}", path, std::strerror(err));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return make_error("{}: rename failed: {}", path, std::strerror(err));
  }
  return fsync_directory(dir.string());
}

}  // namespace corral

namespace corral {

std::string absolute_as_seen(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  std::error_code ec;
  fs::path base = fs::current_path(ec);
  // $PWD is what `pwd` prints; trust it only while it still names this directory (a shell that
  // exported it and a process that then changed directory would disagree).
  if (const char* pwd = std::getenv("PWD"); pwd && pwd[0] == '/') {
    struct stat a {}, b {};
    if (::stat(pwd, &a) == 0 && ::stat(".", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) base = pwd;
  }
  if (base.empty()) return fs::absolute(p, ec).lexically_normal().string();
  return (base / p).lexically_normal().string();
}

}  // namespace corral
