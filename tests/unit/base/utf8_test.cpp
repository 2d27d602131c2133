// base/utf8.h: every code point round-trips through append_utf8 and decode_utf8, and each kind
// of invalid sequence decodes to 0 (stray continuation, truncation, overlong, surrogate,
// beyond U+10FFFF, bytes F8..FF).
#include "base/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace corral {
namespace {

TEST(Utf8, EveryCodePointRoundTrips) {
  for (uint32_t cp = 0; cp <= kMaxCodePoint; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string s;
    append_utf8(s, cp);
    const size_t want_len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    ASSERT_EQ(s.size(), want_len) << cp;
    uint32_t back = 0xFFFFFFFF;
    ASSERT_EQ(decode_utf8(s, 0, &back), want_len) << cp;
    ASSERT_EQ(back, cp);
  }
}

TEST(Utf8, KnownEncodings) {
  std::string s;
  append_utf8(s, 0x20AC);  // €
  EXPECT_EQ(s, "\xE2\x82\xAC");
  s.clear();
  append_utf8(s, 0x1F600);
  EXPECT_EQ(s, "\xF0\x9F\x98\x80");
  uint32_t cp = 0;
  EXPECT_EQ(decode_utf8("a\xC3\xA9", 1, &cp), 2u);
  EXPECT_EQ(cp, 0xE9u);
}

TEST(Utf8, InvalidSequencesDecodeToZeroAndLeaveTheOutputAlone) {
  const char* bad[] = {
      "\x80",              // stray continuation byte
      "\xC3",              // truncated 2-byte
      "\xE2\x82",          // truncated 3-byte
      "\xF0\x9F\x98",      // truncated 4-byte
      "\xC3\x28",          // second byte not a continuation
      "\xC0\xAF",          // overlong '/'
      "\xE0\x80\xAF",      // overlong, 3 bytes
      "\xF0\x80\x80\xAF",  // overlong, 4 bytes
      "\xED\xA0\x80",      // surrogate U+D800
      "\xF4\x90\x80\x80",  // U+110000
      "\xF8\x88\x80\x80\x80",
      "\xFF",
  };
  for (const char* b : bad) {
    uint32_t cp = 42;
    EXPECT_EQ(decode_utf8(b, 0, &cp), 0u) << static_cast<unsigned>(static_cast<unsigned char>(b[0]));
    EXPECT_EQ(cp, 42u);
  }
  uint32_t cp = 42;
  EXPECT_EQ(decode_utf8("abc", 3, &cp), 0u) << "past the end";
}

}  // namespace
}  // namespace corral
