// Turns the bytes a terminal sends in raw mode into key events: control keys, the VT100/xterm
// escape sequences for arrows, Home/End/Delete, Alt-letter, and whole UTF-8 characters.
#pragma once

#include <string>

namespace corral::cli {

enum class KeyKind {
  kNone,       // need more bytes
  kChar,       // printable text in `text` (one UTF-8 character)
  kEnter, kBackspace, kDelete, kTab,
  kLeft, kRight, kUp, kDown, kHome, kEnd,
  kWordLeft, kWordRight,
  kCtrlA, kCtrlB, kCtrlC, kCtrlD, kCtrlE, kCtrlF, kCtrlK, kCtrlL, kCtrlN, kCtrlP, kCtrlU, kCtrlW,
  kPasteStart, kPasteEnd,  // bracketed paste markers (ESC [200~ / ESC [201~)
  kUnknown,    // a sequence or control byte we ignore
};

struct Key {
  KeyKind kind = KeyKind::kNone;
  std::string text;
};

class KeyDecoder {
 public:
  // Feeds one byte; returns a key when one is complete, else kind kNone.
  Key feed(unsigned char byte);
  // A lone ESC with nothing after it (the caller's read timed out): drop it.
  void reset() { pending_.clear(); }
  bool pending() const { return !pending_.empty(); }

 private:
  Key decode_escape();
  std::string pending_;
};

}  // namespace corral::cli
