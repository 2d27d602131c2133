#include "cli/term/history.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace corral::cli {
namespace {

TEST(History, UpAndDownKeepTheDraft) {
  History h;
  h.add("first");
  h.add("second");
  std::string line;
  ASSERT_TRUE(h.prev("typing", &line));
  EXPECT_EQ(line, "second");
  ASSERT_TRUE(h.prev(line, &line));
  EXPECT_EQ(line, "first");
  EXPECT_FALSE(h.prev(line, &line));  // oldest: stays
  EXPECT_EQ(line, "first");
  ASSERT_TRUE(h.next(&line));
  EXPECT_EQ(line, "second");
  ASSERT_TRUE(h.next(&line));
  EXPECT_EQ(line, "typing");
  EXPECT_FALSE(h.next(&line));
}

TEST(History, SkipsBlanksAndRepeats) {
  History h;
  h.add("a");
  h.add("a");
  h.add("   ");
  h.add("b");
  EXPECT_EQ(h.entries(), (std::vector<std::string>{"a", "b"}));
}

TEST(History, KeepsOnlyTheNewest) {
  History h(3);
  for (const char* s : {"1", "2", "3", "4", "5"}) h.add(s);
  EXPECT_EQ(h.entries(), (std::vector<std::string>{"3", "4", "5"}));
}

TEST(History, EscapingRoundTrips) {
  for (const std::string s : {"plain", "two\nlines", "back\\slash\\n", "\\", "end\n"}) {
    EXPECT_EQ(History::unescape(History::escape(s)), s);
    EXPECT_EQ(History::escape(s).find('\n'), std::string::npos);
  }
}

TEST(History, SaveAndLoadAcrossSessions) {
  const auto dir = std::filesystem::temp_directory_path() / ("corral_hist_" + std::to_string(::getpid()));
  const std::string path = (dir / "sub" / "history").string();
  {
    History h;
    h.add("hello");
    h.add("multi\nline");
    ASSERT_TRUE(h.save(path));
  }
  History h;
  h.load(path);
  EXPECT_EQ(h.entries(), (std::vector<std::string>{"hello", "multi\nline"}));
  History missing;
  missing.load((dir / "nope").string());
  EXPECT_TRUE(missing.entries().empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace corral::cli
