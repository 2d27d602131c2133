#include "cli/term/key_decoder.h"

#include <gtest/gtest.h>

#include <vector>

namespace corral::cli {
namespace {

std::vector<Key> decode(const std::string& bytes) {
  KeyDecoder d;
  std::vector<Key> keys;
  for (unsigned char b : bytes) {
    Key k = d.feed(b);
    if (k.kind != KeyKind::kNone) keys.push_back(k);
  }
  return keys;
}

std::vector<KeyKind> kinds(const std::string& bytes) {
  std::vector<KeyKind> v;
  for (const auto& k : decode(bytes)) v.push_back(k.kind);
  return v;
}

TEST(KeyDecoder, ArrowsAndHomeEndInBothForms) {
  EXPECT_EQ(kinds("\x1b[A\x1b[B\x1b[C\x1b[D"),
            (std::vector<KeyKind>{KeyKind::kUp, KeyKind::kDown, KeyKind::kRight, KeyKind::kLeft}));
  EXPECT_EQ(kinds("\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~\x1b[3~"),
            (std::vector<KeyKind>{KeyKind::kHome, KeyKind::kEnd, KeyKind::kHome, KeyKind::kEnd,
                                  KeyKind::kHome, KeyKind::kEnd, KeyKind::kDelete}));
  EXPECT_EQ(kinds("\x1b[1;5D\x1b[1;5C\x1b" "b\x1b" "f"),
            (std::vector<KeyKind>{KeyKind::kWordLeft, KeyKind::kWordRight, KeyKind::kWordLeft,
                                  KeyKind::kWordRight}));
}

TEST(KeyDecoder, ControlKeys) {
  EXPECT_EQ(kinds("\x01\x05\x15\x0b\x17\x03\x04\x7f\r"),
            (std::vector<KeyKind>{KeyKind::kCtrlA, KeyKind::kCtrlE, KeyKind::kCtrlU, KeyKind::kCtrlK,
                                  KeyKind::kCtrlW, KeyKind::kCtrlC, KeyKind::kCtrlD, KeyKind::kBackspace,
                                  KeyKind::kEnter}));
}

TEST(KeyDecoder, Utf8CharactersArriveWhole) {
  auto keys = decode("a\xC3\xA9\xE2\x82\xAC");
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[1].text, "\xC3\xA9");
  EXPECT_EQ(keys[2].text, "\xE2\x82\xAC");
}

TEST(KeyDecoder, BrokenInputDoesNotStick) {
  // A lead byte followed by ASCII: the ASCII still comes through.
  auto keys = decode("\xC3x");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].text, "x");
  // Stray continuation bytes and invalid lead bytes are not text.
  EXPECT_EQ(kinds("\x8a\xff"), (std::vector<KeyKind>{KeyKind::kUnknown, KeyKind::kUnknown}));
  // An endless CSI parameter run is given up on.
  EXPECT_EQ(kinds("\x1b[" + std::string(40, '1') + "A").back(), KeyKind::kChar);
  EXPECT_EQ(kinds("\x1b[200~\x1b[201~"), (std::vector<KeyKind>{KeyKind::kPasteStart, KeyKind::kPasteEnd}));
}

}  // namespace
}  // namespace corral::cli
