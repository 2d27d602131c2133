#include "cli/term/key_decoder.h"

#include <string_view>

namespace corral::cli {
namespace {

size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  return 4;  // 0xF0..0xF7; other bytes never reach here
}

Key key(KeyKind k) { return Key{k, {}}; }

}  // namespace

Key KeyDecoder::feed(unsigned char b) {
  if (pending_.empty()) {
    switch (b) {
      case 1: return key(KeyKind::kCtrlA);
      case 2: return key(KeyKind::kCtrlB);
      case 3: return key(KeyKind::kCtrlC);
      case 4: return key(KeyKind::kCtrlD);
      case 5: return key(KeyKind::kCtrlE);
      case 6: return key(KeyKind::kCtrlF);
      case 8: case 127: return key(KeyKind::kBackspace);
      case 9: return key(KeyKind::kTab);
      case 10: case 13: return key(KeyKind::kEnter);
      case 11: return key(KeyKind::kCtrlK);
      case 12: return key(KeyKind::kCtrlL);
      case 14: return key(KeyKind::kCtrlN);
      case 16: return key(KeyKind::kCtrlP);
      case 21: return key(KeyKind::kCtrlU);
      case 23: return key(KeyKind::kCtrlW);
      case 27: pending_.assign(1, '\x1b'); return {};
      default: break;
    }
    if (b < 32) return key(KeyKind::kUnknown);
    // A stray continuation byte or an invalid lead byte never enters the line.
    if ((b & 0xC0) == 0x80 || b >= 0xF8) return key(KeyKind::kUnknown);
    if (b < 0x80) return Key{KeyKind::kChar, std::string(1, static_cast<char>(b))};
    pending_.assign(1, static_cast<char>(b));
    return {};
  }
  pending_.push_back(static_cast<char>(b));
  if (pending_[0] == '\x1b') return decode_escape();
  // Inside a UTF-8 character.
  if ((b & 0xC0) != 0x80) {  // broken sequence: drop what we had, start over with this byte
    pending_.clear();
    return feed(b);
  }
  if (pending_.size() == utf8_length(static_cast<unsigned char>(pending_[0]))) {
    Key k{KeyKind::kChar, pending_};
    pending_.clear();
    return k;
  }
  return {};
}

Key KeyDecoder::decode_escape() {
  const std::string& s = pending_;
  if (s.size() < 2) return {};
  const char c1 = s[1];
  auto done = [this](KeyKind k) {
    pending_.clear();
    return key(k);
  };
  if (c1 != '[' && c1 != 'O') {
    if (c1 == 'b' || c1 == 'B') return done(KeyKind::kWordLeft);
    if (c1 == 'f' || c1 == 'F') return done(KeyKind::kWordRight);
    if (c1 == 127 || c1 == 8) return done(KeyKind::kCtrlW);  // Alt-Backspace
    return done(KeyKind::kUnknown);
  }
  if (s.size() < 3) return {};
  const char last = s.back();
  // CSI: parameters (digits, ';') then one final byte in 0x40..0x7E.
  if (last >= '0' && last <= '9') return s.size() > 16 ? done(KeyKind::kUnknown) : Key{};
  if (last == ';') return {};
  const std::string_view params = std::string_view(s).substr(2, s.size() - 3);
  switch (last) {
    case 'A': return done(KeyKind::kUp);
    case 'B': return done(KeyKind::kDown);
    case 'C': return done(params.find(";3") != params.npos || params.find(";5") != params.npos
                             ? KeyKind::kWordRight : KeyKind::kRight);
    case 'D': return done(params.find(";3") != params.npos || params.find(";5") != params.npos
                             ? KeyKind::kWordLeft : KeyKind::kLeft);
    case 'H': return done(KeyKind::kHome);
    case 'F': return done(KeyKind::kEnd);
    case '~':
      if (params == "1" || params == "7") return done(KeyKind::kHome);
      if (params == "4" || params == "8") return done(KeyKind::kEnd);
      if (params == "3") return done(KeyKind::kDelete);
      if (params == "200") return done(KeyKind::kPasteStart);
      if (params == "201") return done(KeyKind::kPasteEnd);
      return done(KeyKind::kUnknown);
    default: return done(KeyKind::kUnknown);
  }
}

}  // namespace corral::cli
