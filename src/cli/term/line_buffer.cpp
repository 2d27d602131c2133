#include "cli/term/line_buffer.h"

namespace corral::cli {
namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
bool is_space(char c) { return c == ' ' || c == '\t'; }

}  // namespace

size_t LineBuffer::columns(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += is_continuation(c) ? 0 : 1;
  return n;
}

size_t LineBuffer::prev_boundary(size_t pos) const {
  if (pos == 0) return 0;
  --pos;
  while (pos > 0 && is_continuation(text_[pos])) --pos;
  return pos;
}

size_t LineBuffer::next_boundary(size_t pos) const {
  if (pos >= text_.size()) return text_.size();
  ++pos;
  while (pos < text_.size() && is_continuation(text_[pos])) ++pos;
  return pos;
}

void LineBuffer::set(std::string text) {
  text_ = std::move(text);
  cursor_ = text_.size();
}

void LineBuffer::insert(std::string_view s) {
  text_.insert(cursor_, s);
  cursor_ += s.size();
}

void LineBuffer::left() { cursor_ = prev_boundary(cursor_); }
void LineBuffer::right() { cursor_ = next_boundary(cursor_); }

void LineBuffer::word_left() {
  while (cursor_ > 0 && is_space(text_[cursor_ - 1])) --cursor_;
  while (cursor_ > 0 && !is_space(text_[cursor_ - 1])) cursor_ = prev_boundary(cursor_);
}

void LineBuffer::word_right() {
  while (cursor_ < text_.size() && is_space(text_[cursor_])) ++cursor_;
  while (cursor_ < text_.size() && !is_space(text_[cursor_])) cursor_ = next_boundary(cursor_);
}

void LineBuffer::backspace() {
  const size_t p = prev_boundary(cursor_);
  text_.erase(p, cursor_ - p);
  cursor_ = p;
}

void LineBuffer::erase() { text_.erase(cursor_, next_boundary(cursor_) - cursor_); }

void LineBuffer::kill_to_end() { text_.erase(cursor_); }

void LineBuffer::kill_to_start() {
  text_.erase(0, cursor_);
  cursor_ = 0;
}

void LineBuffer::kill_word_back() {
  size_t p = cursor_;
  while (p > 0 && is_space(text_[p - 1])) --p;
  while (p > 0 && !is_space(text_[p - 1])) --p;
  text_.erase(p, cursor_ - p);
  cursor_ = p;
}

}  // namespace corral::cli
