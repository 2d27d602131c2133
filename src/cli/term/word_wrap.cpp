#include "cli/term/word_wrap.h"

namespace corral::cli {
namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

void WordWrapper::newline(std::string* out) {
  *out += '\n';
  column_ = 0;
  spaces_ = 0;
}

void WordWrapper::flush_word(std::string* out) {
  if (word_.empty()) return;
  if (column_ > 0 && column_ + spaces_ + word_cols_ > width_) newline(out);
  out->append(spaces_, ' ');
  column_ += spaces_;
  spaces_ = 0;
  // Still too wide for an empty line: break it into line-sized pieces.
  size_t i = 0;
  while (column_ + word_cols_ > width_) {
    size_t cols = 0;
    const size_t start = i;
    while (i < word_.size() && column_ + cols < width_) {
      ++i;
      while (i < word_.size() && is_continuation(word_[i])) ++i;
      ++cols;
    }
    *out += word_.substr(start, i - start);
    word_cols_ -= cols;
    newline(out);
  }
  *out += word_.substr(i);
  column_ += word_cols_;
  word_.clear();
  word_cols_ = 0;
}

std::string WordWrapper::feed(std::string_view text) {
  if (width_ == 0) {
    for (char c : text) {
      if (c == '\n') column_ = 0;
      else if (!is_continuation(c)) ++column_;
    }
    return std::string(text);
  }
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      flush_word(&out);
      newline(&out);
    } else if (c == ' ') {
      // Spaces wait for the next word: they are printed before it when it fits on this line,
      // and dropped when it moves to the next one.
      flush_word(&out);
      ++spaces_;
    } else {
      word_ += c;
      if (!is_continuation(c)) ++word_cols_;
    }
  }
  return out;
}

std::string WordWrapper::finish() {
  std::string out;
  if (width_ > 0) flush_word(&out);
  return out;
}

}  // namespace corral::cli
