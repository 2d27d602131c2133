// StopMatcher: stop strings across token boundaries are held back and never emitted.
#include <gtest/gtest.h>

#include "sampling/stop_matcher.h"

namespace corral {
namespace {

// Feeds the pieces and returns everything emitted (including flush if not stopped).
struct Run {
  std::string text;
  bool stopped = false;
  int stop_piece = -1;
};
Run feed(StopMatcher& m, const std::vector<std::string>& pieces) {
  Run r;
  for (size_t i = 0; i < pieces.size(); ++i) {
    auto out = m.push(pieces[i]);
    r.text += out.emit;
    if (out.stopped && !r.stopped) {
      r.stopped = true;
      r.stop_piece = static_cast<int>(i);
    }
  }
  r.text += m.flush();
  return r;
}

TEST(StopMatcher, StopAcrossTokenBoundary) {
  StopMatcher m({"<|end|>"});
  auto a = m.push("Hello <|e");
  EXPECT_EQ(a.emit, "Hello ");
  EXPECT_FALSE(a.stopped);
  auto b = m.push("nd|> ignored");
  EXPECT_EQ(b.emit, "");
  EXPECT_TRUE(b.stopped);
  EXPECT_EQ(m.push("more").emit, "");
  EXPECT_TRUE(m.push("more").stopped);
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, StopSplitOverManyPieces) {
  StopMatcher m({"<|end|>"});
  auto r = feed(m, {"a", "<", "|", "e", "n", "d", "|", ">", "b"});
  EXPECT_EQ(r.text, "a");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.stop_piece, 7);
}

TEST(StopMatcher, TextBeforeStopInSamePieceIsEmitted) {
  StopMatcher m({"STOP"});
  auto out = m.push("abcSTOPdef");
  EXPECT_EQ(out.emit, "abc");
  EXPECT_TRUE(out.stopped);
}

TEST(StopMatcher, PartialMatchThatIsNotAStopIsEmitted) {
  StopMatcher m({"<|end|>"});
  auto a = m.push("x <|en");
  EXPECT_EQ(a.emit, "x ");
  auto b = m.push("try");  // "<|entry" is not a stop: all of it comes out now
  EXPECT_EQ(b.emit, "<|entry");
  EXPECT_FALSE(b.stopped);
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, RestartedPrefixInsideFailedPartial) {
  // "aab" with stop "ab": the first "a" is emitted once the second shows it was not the start.
  StopMatcher m({"ab"});
  EXPECT_EQ(m.push("a").emit, "");
  EXPECT_EQ(m.push("a").emit, "a");
  auto out = m.push("b");
  EXPECT_EQ(out.emit, "");
  EXPECT_TRUE(out.stopped);
}

TEST(StopMatcher, MultipleStopStringsEarliestWins) {
  {
    StopMatcher m({"\n\n", "User:", "###"});
    auto r = feed(m, {"Answer: 4.", " Us", "er: next"});
    EXPECT_EQ(r.text, "Answer: 4. ");
    EXPECT_TRUE(r.stopped);
  }
  {
    StopMatcher m({"world", "o w"});
    auto out = m.push("hello world");
    EXPECT_EQ(out.emit, "hell");  // "o w" starts before "world"
    EXPECT_TRUE(out.stopped);
  }
  {
    // Holding back follows the longest possible prefix among all stops.
    StopMatcher m({"abc", "bcd"});
    EXPECT_EQ(m.push("xab").emit, "x");
    auto out = m.push("cd");
    EXPECT_EQ(out.emit, "");
    EXPECT_TRUE(out.stopped);
  }
}

TEST(StopMatcher, FlushEmitsHeldBackText) {
  StopMatcher m({"</s>"});
  auto a = m.push("the end </");
  EXPECT_EQ(a.emit, "the end ");
  EXPECT_EQ(m.flush(), "</");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, StopAtTheVeryFirstByte) {
  StopMatcher m({"<"});
  auto out = m.push("<tag>");
  EXPECT_EQ(out.emit, "");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(m.flush(), "");

  StopMatcher m2({"Hi!"});
  auto r = feed(m2, {"H", "i", "!", "there"});
  EXPECT_EQ(r.text, "");
  EXPECT_TRUE(r.stopped);
}

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
  StopMatcher m({});
  EXPECT_EQ(m.push("abc").emit, "abc");
  StopMatcher e({""});  // empty stop strings are ignored
  auto out = e.push("abc");
  EXPECT_EQ(out.emit, "abc");
  EXPECT_FALSE(out.stopped);
}

TEST(StopMatcher, Utf8StopString) {
  StopMatcher m({"終わり"});
  auto r = feed(m, {"物語の", "\xe7\xb5", "\x82わ", "り。"});
  EXPECT_EQ(r.text, "物語の");
  EXPECT_TRUE(r.stopped);
}

TEST(StopMatcher, EmptyPieceIsHarmless) {
  StopMatcher m({"xy"});
  EXPECT_EQ(m.push("").emit, "");
  EXPECT_EQ(m.push("ax").emit, "a");
  EXPECT_EQ(m.push("").emit, "");
  EXPECT_EQ(m.push("z").emit, "xz");
}

}  // namespace
}  // namespace corral
