// StopMatcher: stop strings across token boundaries are held back and never emitted.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

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

namespace corral {
namespace {

// Naive reference: after each piece, look for stop strings in the whole text so far; the first
// piece that completes one cuts the text at the earliest match start.
std::pair<std::string, bool> reference(const std::vector<std::string>& stops,
                                       const std::vector<std::string>& pieces) {
  std::string text;
  for (const auto& p : pieces) {
    text += p;
    size_t first = std::string::npos;
    for (const auto& s : stops) {
      if (!s.empty()) first = std::min(first, text.find(s));
    }
    if (first != std::string::npos) return {text.substr(0, first), true};
  }
  return {text, false};
}

TEST(StopMatcher, RandomisedAgainstNaiveReference) {
  std::mt19937 gen(2024);  // test data only
  auto rand_string = [&](size_t max_len) {
    std::uniform_int_distribution<size_t> len(0, max_len);
    std::uniform_int_distribution<int> ch(0, 2);  // tiny alphabet: many partial matches
    std::string s(len(gen), 'a');
    for (char& c : s) c = static_cast<char>('a' + ch(gen));
    return s;
  };
  int stopped = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<std::string> stops;
    const int n_stops = static_cast<int>(gen() % 4);
    for (int i = 0; i < n_stops; ++i) stops.push_back(rand_string(5));
    std::vector<std::string> pieces;
    const int n_pieces = static_cast<int>(gen() % 8);
    for (int i = 0; i < n_pieces; ++i) pieces.push_back(rand_string(4));

    StopMatcher m(stops);
    std::string emitted;
    bool was_stopped = false;
    std::string text;
    for (const auto& p : pieces) {
      const auto out = m.push(p);
      emitted += out.emit;
      text += p;
      if (out.stopped) {
        was_stopped = true;
        break;
      }
      // Nothing is held back that could not start a stop string: what is held is exactly the
      // longest suffix of the text that is a proper prefix of some stop.
      size_t held = 0;
      for (const auto& s : stops) {
        for (size_t len = 1; len < s.size() && len <= text.size(); ++len) {
          if (text.compare(text.size() - len, len, s, 0, len) == 0) held = std::max(held, len);
        }
      }
      ASSERT_EQ(emitted, text.substr(0, text.size() - held)) << "iteration " << iter;
    }
    if (!was_stopped) emitted += m.flush();
    const auto want = reference(stops, pieces);
    ASSERT_EQ(emitted, want.first) << "iteration " << iter;
    ASSERT_EQ(was_stopped, want.second) << "iteration " << iter;
    stopped += was_stopped;
  }
  EXPECT_GT(stopped, 2000);  // the generator exercises both outcomes
  EXPECT_LT(stopped, 18000);
}

}  // namespace
}  // namespace corral
