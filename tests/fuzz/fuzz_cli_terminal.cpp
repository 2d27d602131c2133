// libFuzzer target: terminal input bytes through the key decoder into the line buffer (every key
// applied), the streaming word wrapper on arbitrary text in arbitrary pieces, history escaping,
// and RFC 3339 parsing. Invariants: the cursor stays inside the text on a UTF-8 boundary, the
// wrapper keeps every non-space byte in order, escaping round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cli/term/format.h"
#include "cli/term/history.h"
#include "cli/term/key_decoder.h"
#include "cli/term/line_buffer.h"
#include "cli/term/word_wrap.h"

using namespace corral::cli;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  KeyDecoder keys;
  LineBuffer buf;
  History history;
  for (unsigned char b : input) {
    const Key k = keys.feed(b);
    std::string text;
    switch (k.kind) {
      case KeyKind::kChar: buf.insert(k.text); break;
      case KeyKind::kBackspace: buf.backspace(); break;
      case KeyKind::kDelete: buf.erase(); break;
      case KeyKind::kLeft: buf.left(); break;
      case KeyKind::kRight: buf.right(); break;
      case KeyKind::kHome: buf.home(); break;
      case KeyKind::kEnd: buf.end(); break;
      case KeyKind::kWordLeft: buf.word_left(); break;
      case KeyKind::kWordRight: buf.word_right(); break;
      case KeyKind::kCtrlK: buf.kill_to_end(); break;
      case KeyKind::kCtrlU: buf.kill_to_start(); break;
      case KeyKind::kCtrlW: buf.kill_word_back(); break;
      case KeyKind::kEnter: history.add(buf.text()); buf.clear(); break;
      case KeyKind::kUp: if (history.prev(buf.text(), &text)) buf.set(text); break;
      case KeyKind::kDown: if (history.next(&text)) buf.set(text); break;
      default: break;
    }
    // The cursor stays inside the text, never inside a character.
    if (buf.cursor() > buf.text().size()) std::abort();
    if (buf.cursor() < buf.text().size() && (static_cast<unsigned char>(buf.text()[buf.cursor()]) & 0xC0) == 0x80)
      std::abort();
  }
  for (const auto& e : history.entries()) {
    if (History::unescape(History::escape(e)) != e) std::abort();
  }
  // Word wrap: the first byte picks the width and the piece size.
  const size_t width = size > 0 ? data[0] % 40 : 0;
  const size_t piece = size > 1 ? 1 + data[1] % 7 : 1;
  WordWrapper wrap(width);
  std::string out;
  for (size_t i = 0; i < input.size(); i += piece) out += wrap.feed(std::string_view(input).substr(i, piece));
  out += wrap.finish();
  std::string a, b;
  for (char c : input) if (c != ' ' && c != '\n') a += c;
  for (char c : out) if (c != ' ' && c != '\n') b += c;
  if (a != b) std::abort();
  (void)parse_rfc3339_s(input);
  return 0;
}
