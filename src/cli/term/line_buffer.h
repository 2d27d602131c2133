// The text being edited on the prompt line and its cursor: pure editing operations (no terminal),
// UTF-8 aware so the cursor always sits on a code point boundary.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace corral::cli {

class LineBuffer {
 public:
  const std::string& text() const { return text_; }
  size_t cursor() const { return cursor_; }  // byte offset into text()
  // Display columns before the cursor and in the whole text (one per code point).
  size_t cursor_columns() const { return columns(std::string_view(text_).substr(0, cursor_)); }
  size_t total_columns() const { return columns(text_); }

  void set(std::string text);  // replaces the text, cursor at the end
  void clear() { set({}); }
  void insert(std::string_view s);
  void left();
  void right();
  void home() { cursor_ = 0; }
  void end() { cursor_ = text_.size(); }
  void word_left();   // Alt-B
  void word_right();  // Alt-F
  void backspace();   // deletes the code point before the cursor
  void erase();       // deletes the code point under the cursor (Delete key)
  void kill_to_end();    // Ctrl-K
  void kill_to_start();  // Ctrl-U
  void kill_word_back(); // Ctrl-W: the word before the cursor and the spaces after it

  static size_t columns(std::string_view s);

 private:
  size_t prev_boundary(size_t pos) const;
  size_t next_boundary(size_t pos) const;

  std::string text_;
  size_t cursor_ = 0;
};

}  // namespace corral::cli
