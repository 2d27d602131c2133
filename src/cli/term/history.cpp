#include "cli/term/history.h"

#include <filesystem>
#include <fstream>

namespace corral::cli {

void History::add(const std::string& line) {
  if (line.find_first_not_of(" \t\r\n") != std::string::npos &&
      (entries_.empty() || entries_.back() != line)) {
    entries_.push_back(line);
    if (entries_.size() > max_) entries_.erase(entries_.begin(), entries_.end() - static_cast<long>(max_));
  }
  reset_navigation();
}

bool History::prev(const std::string& current, std::string* out) {
  if (pos_ == 0) return false;
  if (pos_ == entries_.size()) draft_ = current;
  *out = entries_[--pos_];
  return true;
}

bool History::next(std::string* out) {
  if (pos_ >= entries_.size()) return false;
  ++pos_;
  *out = pos_ == entries_.size() ? draft_ : entries_[pos_];
  return true;
}

std::string History::escape(const std::string& entry) {
  std::string s;
  for (char c : entry) {
    if (c == '\\') s += "\\\\";
    else if (c == '\n') s += "\\n";
    else s += c;
  }
  return s;
}

std::string History::unescape(const std::string& line) {
  std::string s;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) {
      const char n = line[++i];
      s += n == 'n' ? '\n' : n;
    } else {
      s += line[i];
    }
  }
  return s;
}

void History::load(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) add(unescape(line));
  }
  reset_navigation();
}

bool History::save(const std::string& path) const {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    for (const auto& e : entries_) out << escape(e) << '\n';
    if (!out.good()) return false;
  }
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

}  // namespace corral::cli
