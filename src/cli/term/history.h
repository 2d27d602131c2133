// Prompt history: Up/Down navigation that keeps the line being typed, and a file that carries
// entries across sessions (one per line; "\\" and newlines escaped so multi-line prompts survive).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace corral::cli {

class History {
 public:
  explicit History(size_t max_entries = 1000) : max_(max_entries) {}

  // Adds an entry (blank lines and a repeat of the last entry are not added) and resets navigation.
  void add(const std::string& line);
  // Up: the previous entry; `current` is what is being typed, restored by going Down past the
  // newest entry. Returns false (and leaves the line alone) at the oldest entry.
  bool prev(const std::string& current, std::string* out);
  bool next(std::string* out);
  void reset_navigation() { pos_ = entries_.size(); }
  const std::vector<std::string>& entries() const { return entries_; }

  // Missing file: empty history. Lines beyond the limit keep the newest.
  void load(const std::string& path);
  // Writes every entry (creating the parent directory); false when the file cannot be written.
  bool save(const std::string& path) const;

  static std::string escape(const std::string& entry);
  static std::string unescape(const std::string& line);

 private:
  size_t max_;
  std::vector<std::string> entries_;
  size_t pos_ = 0;         // == entries_.size() when not navigating
  std::string draft_;      // the line being typed before the first Up
};

}  // namespace corral::cli
