// The interactive prompt: raw-mode line editing on a terminal (cursor keys, Home/End, Ctrl-A/E/
// U/K/W, Alt-B/F, Up/Down history), redrawn across as many rows as the line needs.
#pragma once

#include <string>

#include "cli/term/history.h"
#include "cli/term/key_decoder.h"
#include "cli/term/line_buffer.h"

namespace corral::cli {

enum class ReadResult {
  kLine,         // Enter
  kInterrupted,  // Ctrl-C (the line is discarded)
  kEof,          // Ctrl-D on an empty line, or input closed
};

class LineEditor {
 public:
  explicit LineEditor(History* history) : history_(history) {}

  // Shows `prompt` (and `placeholder`, dimmed, while the line is empty) and reads one line.
  ReadResult read(const std::string& prompt, std::string* line, const std::string& placeholder = {});

  static int terminal_width();  // columns of stdout, 80 when unknown

 private:
  void refresh();
  void write(const std::string& s);

  History* history_;
  LineBuffer buf_;
  KeyDecoder keys_;
  std::string prompt_, placeholder_;
  size_t cursor_row_ = 0;  // row of the cursor relative to the prompt's first row
};

}  // namespace corral::cli
