// Line and column of a byte offset in a template's source, for error messages: both template
// engines (Go text/template and Jinja) report where a template went wrong this way.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

namespace corral {

struct SourcePos {
  int line = 1;  // 1-based
  int col = 1;   // 1-based, in bytes
};

// The start of every line of a source, found once; at() is a binary search.
class LineIndex {
 public:
  explicit LineIndex(std::string_view src) {
    starts_.push_back(0);
    for (size_t i = 0; i < src.size(); ++i)
      if (src[i] == '\n') starts_.push_back(i + 1);
  }

  SourcePos at(size_t offset) const {
    const auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    const auto line = static_cast<size_t>(it - starts_.begin());
    return SourcePos{static_cast<int>(line), static_cast<int>(offset - starts_[line - 1] + 1)};
  }

 private:
  std::vector<size_t> starts_;
};

}  // namespace corral
