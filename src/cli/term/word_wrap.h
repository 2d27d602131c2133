// Streaming word wrap: text arrives in arbitrary pieces (tokens) and leaves with line breaks at
// spaces so no line is wider than the terminal. A word is held back until the space or newline
// after it shows whether it fits; a word wider than a whole line is broken where it must be.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace corral::cli {

class WordWrapper {
 public:
  // width 0: no wrapping, text passes through unchanged.
  explicit WordWrapper(size_t width) : width_(width) {}

  // Returns what can be printed now.
  std::string feed(std::string_view text);
  // Returns the held-back word (end of the answer).
  std::string finish();
  // Column where the next character lands (tests, and the caller's "ends with newline" check).
  size_t column() const { return column_; }

 private:
  void flush_word(std::string* out);
  void newline(std::string* out);

  size_t width_;
  size_t column_ = 0;
  std::string word_;
  size_t word_cols_ = 0;
  size_t spaces_ = 0;  // spaces seen after the last printed word
};

}  // namespace corral::cli
