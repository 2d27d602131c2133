#include "cli/line_editor.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include <fmt/format.h>

namespace corral::cli {
namespace {

// Raw mode for the duration of one read; the terminal is restored even on early return.
class RawMode {
 public:
  RawMode() {
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_iflag &= ~static_cast<tcflag_t>(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
    raw.c_lflag &= ~static_cast<tcflag_t>(ECHO | ICANON | IEXTEN | ISIG);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    ok_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;  // keep typed-ahead input
  }
  ~RawMode() {
    if (ok_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  bool ok() const { return ok_; }

 private:
  termios saved_{};
  bool ok_ = false;
};

// One byte from stdin; -1 on end of input, -2 when `timeout_ms` passed first (timeout < 0: wait).
int read_byte(int timeout_ms) {
  if (timeout_ms >= 0) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) == 0) return -2;
  }
  unsigned char c = 0;
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n == 1) return c;
    if (n < 0 && errno == EINTR) continue;
    return -1;
  }
}

}  // namespace

int LineEditor::terminal_width() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

void LineEditor::write(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void LineEditor::refresh() {
  const size_t width = static_cast<size_t>(terminal_width());
  const size_t plen = LineBuffer::columns(prompt_);
  std::string s;
  if (cursor_row_ > 0) s += fmt::format("\x1b[{}A", cursor_row_);
  // Clear only after the prompt is written: erasing a whole screen from its top-left corner makes
  // some terminals (tmux) push the old screen into the scrollback.
  s += "\r" + prompt_;
  size_t total = plen;
  if (buf_.text().empty() && !placeholder_.empty() && plen + placeholder_.size() < width) {
    s += "\x1b[2m" + placeholder_ + "\x1b[0m\x1b[J\r";
    if (plen > 0) s += fmt::format("\x1b[{}C", plen);
    write(s);
    cursor_row_ = 0;
    return;
  }
  s += buf_.text();
  s += "\x1b[J";
  total += buf_.total_columns();
  // At an exact multiple of the width the terminal holds the cursor on the last column; a newline
  // puts it where the next character would go.
  if (total > 0 && total % width == 0) s += "\r\n";
  const size_t end_row = total / width;
  const size_t pos = plen + buf_.cursor_columns();
  const size_t row = pos / width, col = pos % width;
  if (end_row > row) s += fmt::format("\x1b[{}A", end_row - row);
  s += "\r";
  if (col > 0) s += fmt::format("\x1b[{}C", col);
  write(s);
  cursor_row_ = row;
}

ReadResult LineEditor::read(const std::string& prompt, std::string* line, const std::string& placeholder) {
  prompt_ = prompt;
  placeholder_ = placeholder;
  buf_.clear();
  keys_.reset();
  cursor_row_ = 0;
  history_->reset_navigation();
  RawMode raw;
  if (!raw.ok()) {  // not a terminal after all: plain line input
    write(prompt);
    if (!std::getline(std::cin, *line)) return ReadResult::kEof;
    return ReadResult::kLine;
  }
  refresh();
  bool pasting = false;
  auto finish_line = [&] {
    // Leave the cursor below the whole input.
    buf_.end();
    refresh();
    write("\r\n");
    cursor_row_ = 0;
  };
  for (;;) {
    const int b = read_byte(keys_.pending() ? 50 : -1);
    if (b == -2) {  // a lone Esc
      keys_.reset();
      continue;
    }
    if (b == -1) {
      finish_line();
      return ReadResult::kEof;
    }
    const Key k = keys_.feed(static_cast<unsigned char>(b));
    std::string text;
    switch (k.kind) {
      case KeyKind::kNone: continue;
      case KeyKind::kChar: buf_.insert(k.text); break;
      case KeyKind::kTab: buf_.insert("    "); break;
      case KeyKind::kEnter:
        if (pasting) {  // a pasted newline stays in the text
          buf_.insert(" ");
          break;
        }
        *line = buf_.text();
        finish_line();
        return ReadResult::kLine;
      case KeyKind::kCtrlC:
        finish_line();
        line->clear();
        return ReadResult::kInterrupted;
      case KeyKind::kCtrlD:
        if (buf_.text().empty()) {
          finish_line();
          return ReadResult::kEof;
        }
        buf_.erase();
        break;
      case KeyKind::kBackspace: buf_.backspace(); break;
      case KeyKind::kDelete: buf_.erase(); break;
      case KeyKind::kLeft: case KeyKind::kCtrlB: buf_.left(); break;
      case KeyKind::kRight: case KeyKind::kCtrlF: buf_.right(); break;
      case KeyKind::kHome: case KeyKind::kCtrlA: buf_.home(); break;
      case KeyKind::kEnd: case KeyKind::kCtrlE: buf_.end(); break;
      case KeyKind::kWordLeft: buf_.word_left(); break;
      case KeyKind::kWordRight: buf_.word_right(); break;
      case KeyKind::kCtrlK: buf_.kill_to_end(); break;
      case KeyKind::kCtrlU: buf_.kill_to_start(); break;
      case KeyKind::kCtrlW: buf_.kill_word_back(); break;
      case KeyKind::kCtrlL:
        write("\x1b[H\x1b[2J");
        cursor_row_ = 0;
        break;
      case KeyKind::kUp: case KeyKind::kCtrlP:
        if (history_->prev(buf_.text(), &text)) buf_.set(text);
        break;
      case KeyKind::kDown: case KeyKind::kCtrlN:
        if (history_->next(&text)) buf_.set(text);
        break;
      case KeyKind::kPasteStart: pasting = true; break;
      case KeyKind::kPasteEnd: pasting = false; break;
      case KeyKind::kUnknown: break;
    }
    refresh();
  }
}

}  // namespace corral::cli
