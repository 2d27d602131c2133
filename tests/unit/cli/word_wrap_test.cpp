#include "cli/term/word_wrap.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace corral::cli {
namespace {

// Feeds `text` in pieces of `piece` bytes, as tokens arrive.
std::string wrap(const std::string& text, size_t width, size_t piece = 1) {
  WordWrapper w(width);
  std::string out;
  for (size_t i = 0; i < text.size(); i += piece) out += w.feed(text.substr(i, piece));
  return out + w.finish();
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) v.push_back(l);
  return v;
}

size_t cols(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

TEST(WordWrap, BreaksAtSpacesWithinWidth) {
  EXPECT_EQ(wrap("the quick brown fox jumps", 10), "the quick\nbrown fox\njumps");
}

TEST(WordWrap, SameResultWhateverThePieceSize) {
  const std::string text = "Once upon a time there was a little girl named Lily who loved to play outside.";
  const std::string one = wrap(text, 17, 1);
  for (size_t piece : {2u, 3u, 7u, 100u}) EXPECT_EQ(wrap(text, 17, piece), one) << piece;
  for (const auto& l : lines(one)) EXPECT_LE(cols(l), 17u) << l;
  // Only the spaces that became line breaks are gone.
  std::string joined;
  for (const auto& l : lines(one)) joined += (joined.empty() ? "" : " ") + l;
  EXPECT_EQ(joined, text);
}

TEST(WordWrap, WordExactlyFillingTheLine) {
  EXPECT_EQ(wrap("abcde fghij", 5), "abcde\nfghij");
  EXPECT_EQ(wrap("abcd efghi", 5), "abcd\nefghi");
}

TEST(WordWrap, LongWordIsBrokenAtTheWidth) {
  EXPECT_EQ(wrap("ab abcdefghijkl", 5), "ab\nabcde\nfghij\nkl");
}

TEST(WordWrap, ModelNewlinesAndIndentationAreKept) {
  EXPECT_EQ(wrap("line one\n  indented\n\nend", 40), "line one\n  indented\n\nend");
}

TEST(WordWrap, CountsCodePointsNotBytes) {
  // Five 2-byte characters fit a width of 5.
  EXPECT_EQ(wrap("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9 x", 5), "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\nx");
}

TEST(WordWrap, ZeroWidthPassesThrough) {
  EXPECT_EQ(wrap("a very long line that is not wrapped at all", 0), "a very long line that is not wrapped at all");
}

TEST(WordWrap, ColumnTracksOutput) {
  WordWrapper w(20);
  std::string out = w.feed("hello world\nab ");
  EXPECT_EQ(out, "hello world\nab");
  EXPECT_EQ(w.column(), 2u);
  out = w.feed("cd ");
  EXPECT_EQ(out, " cd");
}

}  // namespace
}  // namespace corral::cli
