#include "cli/term/line_buffer.h"

#include <gtest/gtest.h>

namespace corral::cli {
namespace {

TEST(LineBuffer, InsertMovesTheCursor) {
  LineBuffer b;
  b.insert("hello");
  b.home();
  b.insert(">");
  EXPECT_EQ(b.text(), ">hello");
  EXPECT_EQ(b.cursor(), 1u);
  b.end();
  b.insert("!");
  EXPECT_EQ(b.text(), ">hello!");
}

TEST(LineBuffer, LeftRightStopAtTheEnds) {
  LineBuffer b;
  b.insert("ab");
  b.right();
  EXPECT_EQ(b.cursor(), 2u);
  b.left();
  b.left();
  b.left();
  EXPECT_EQ(b.cursor(), 0u);
  b.backspace();  // nothing before the cursor
  EXPECT_EQ(b.text(), "ab");
}

TEST(LineBuffer, Utf8CursorStaysOnCharacterBoundaries) {
  LineBuffer b;
  b.insert("a\xC3\xA9z");  // a é z
  b.left();
  b.left();
  EXPECT_EQ(b.cursor(), 1u);
  EXPECT_EQ(b.cursor_columns(), 1u);
  b.erase();  // deletes the whole é
  EXPECT_EQ(b.text(), "az");
  b.end();
  b.insert("\xE2\x82\xAC");  // €
  b.backspace();
  EXPECT_EQ(b.text(), "az");
  EXPECT_EQ(b.total_columns(), 2u);
}

TEST(LineBuffer, KillCommands) {
  LineBuffer b;
  b.insert("one two three");
  b.left();
  b.left();
  b.kill_to_end();  // Ctrl-K
  EXPECT_EQ(b.text(), "one two thr");
  b.kill_word_back();  // Ctrl-W
  EXPECT_EQ(b.text(), "one two ");
  b.kill_word_back();  // trailing spaces go with the word before them
  EXPECT_EQ(b.text(), "one ");
  b.insert("x");
  b.left();
  b.kill_to_start();  // Ctrl-U
  EXPECT_EQ(b.text(), "x");
  EXPECT_EQ(b.cursor(), 0u);
}

TEST(LineBuffer, WordMotion) {
  LineBuffer b;
  b.insert("alpha  beta gamma");
  b.word_left();
  EXPECT_EQ(b.cursor(), 12u);
  b.word_left();
  EXPECT_EQ(b.cursor(), 7u);
  b.home();
  b.word_right();
  EXPECT_EQ(b.cursor(), 5u);
}

}  // namespace
}  // namespace corral::cli
