// GBNF parser and matcher: an accept/reject corpus per construct, and the parser's errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sampling/grammar/grammar.h"
#include "sampling/grammar/matcher.h"

namespace corral::grammar {
namespace {

// Whole-string match through the byte-level matcher (no vocabulary needed).
bool matches(const Grammar& g, std::string_view s) {
  auto vocab = std::make_shared<VocabTrie>();
  GrammarMatcher m(CompiledGrammar::compile(g), vocab);
  return m.accept_bytes(s) && m.accepting();
}

struct Case {
  const char* grammar;
  std::vector<const char*> accept;
  std::vector<const char*> reject;
};

class GrammarCorpus : public ::testing::TestWithParam<Case> {};

TEST_P(GrammarCorpus, AcceptsAndRejects) {
  const Case& c = GetParam();
  auto g = parse_gbnf(c.grammar);
  ASSERT_TRUE(g.ok()) << g.error().message << "\n" << c.grammar;
  for (const char* s : c.accept) EXPECT_TRUE(matches(*g, s)) << "should accept '" << s << "' in\n" << c.grammar;
  for (const char* s : c.reject) EXPECT_FALSE(matches(*g, s)) << "should reject '" << s << "' in\n" << c.grammar;
  // The printed grammar parses again and agrees.
  auto g2 = parse_gbnf(to_gbnf(*g));
  ASSERT_TRUE(g2.ok()) << g2.error().message << "\n" << to_gbnf(*g);
  for (const char* s : c.accept) EXPECT_TRUE(matches(*g2, s)) << s;
  for (const char* s : c.reject) EXPECT_FALSE(matches(*g2, s)) << s;
}

INSTANTIATE_TEST_SUITE_P(
    Constructs, GrammarCorpus,
    ::testing::Values(
        Case{R"(root ::= "abc")", {"abc"}, {"", "ab", "abcd", "abd"}},
        Case{R"(root ::= "a" | "bc" | "")", {"a", "bc", ""}, {"b", "abc", "c"}},
        Case{"root ::= x y\nx ::= \"1\"\ny ::= \"2\" x", {"121"}, {"12", "1212"}},
        Case{R"(root ::= ("ab" | "c") "d")", {"abd", "cd"}, {"d", "abcd", "ab"}},
        Case{R"(root ::= "a"*)", {"", "a", "aaaaaaaa"}, {"b", "aab"}},
        Case{R"(root ::= "a"+ "b")", {"ab", "aaab"}, {"b", "a"}},
        Case{R"(root ::= "x" "ab"? "y")", {"xy", "xaby"}, {"xay", "xababy"}},
        Case{R"(root ::= [a-c]{2})", {"ab", "cc"}, {"a", "abc", "ad"}},
        Case{R"(root ::= [a-c]{2,})", {"ab", "abcabc"}, {"a", ""}},
        Case{R"(root ::= [a-c]{1,3})", {"a", "abc"}, {"", "abca"}},
        Case{R"(root ::= [a-c]{0,2} "!")", {"!", "a!", "ab!"}, {"abc!"}},
        Case{R"(root ::= ("x" [0-9]){2,3})", {"x1x2", "x1x2x3"}, {"x1", "x1x2x3x4", "x1x"}},
        Case{R"(root ::= [^a-z]+)", {"ABC", "123", "é"}, {"a", "Az"}},
        Case{R"(root ::= [a-zA-Z_] [a-zA-Z0-9_]*)", {"_x9", "Q"}, {"9x", ""}},
        Case{R"(root ::= "\n\t\\\"\x41\u00e9\U0001F600")", {"\n\t\\\"Aé😀"}, {"\n\t\\\"Ae😀"}},
        Case{R"(root ::= "héllo" [é-ë])", {"hélloê"}, {"helloê", "hélloe"}},
        Case{R"(root ::= [\x00-\x7F]+)", {"abc"}, {"é"}},
        Case{R"(root ::= . .)", {"ab", "é😀"}, {"a", "abc"}},
        Case{R"(root ::= [\]\-\\]+)", {"]-\\"}, {"a"}},
        Case{"# a comment\nroot ::= a # trailing\n\n  # another\na ::= \"z\"\n", {"z"}, {"a"}},
        Case{"root ::= \"a\" |\n  \"b\"\n", {"a", "b"}, {"ab"}},
        Case{"root ::= (\n  \"a\"\n  \"b\"\n)\n", {"ab"}, {"a"}},
        Case{R"(root ::= "[" (item ("," item)*)? "]"
item ::= [0-9]+ | root)", {"[]", "[1,2]", "[[1],[]]", "[[[3]]]"}, {"[", "[1,]", "[,1]", "[[1]"}},
        Case{R"(root ::= a
a ::= "x" a | "y")", {"y", "xxxy"}, {"x", "yy"}},
        // Ambiguous grammars: several stacks alive at once.
        Case{R"(root ::= [a-z]* "ab" [a-z]*)", {"ab", "xaby", "aab", "abab"}, {"a", "ba", "xy"}}));

TEST(GrammarParse, ErrorsNameLineAndColumn) {
  struct Bad {
    const char* text;
    const char* expect;  // substring of the message
  };
  const Bad bad[] = {
      {"root ::= foo", "undefined rule 'foo'"},
      {"rot ::= \"a\"", "no 'root' rule"},
      {"root ::= \"a", "unterminated string"},
      {"root ::= [a-", "unterminated character class"},
      {"root ::= [z-a]", "reversed"},
      {"root ::= (\"a\"", "expected ')'"},
      {"root ::= *", "nothing to repeat"},
      {"root ::= \"a\"{3,1}", "max < min"},
      {"root ::= \"a\"{99999999}", "larger than"},
      {"root ::= \"\\q\"", "unknown escape"},
      {"root ::= \"\\x4\"", "hex digits"},
      {"root ::= \"\\U00110000\"", "out of range"},
      {"root ::= \"a\"\nroot ::= \"b\"", "defined twice"},
      {"root := \"a\"", "expected '::='"},
      {"root ::= root \"a\"", "left-recursive"},
      {"root ::= a\na ::= b? a \"x\"\nb ::= \"y\"", "left-recursive"},
      {"root ::= (\"a\"?)*", "left-recursive"},
      {"root ::= \"a\" root", "accepts nothing"},
      {"root ::= []", "accepts nothing"},
      {"root ::= \"a\" ) \"b\"", "unexpected ')'"},
      {"root ::= \"\xff\"", "invalid UTF-8"},
      {"", "no 'root' rule"},
  };
  for (const Bad& b : bad) {
    auto g = parse_gbnf(b.text);
    ASSERT_FALSE(g.ok()) << b.text;
    EXPECT_NE(g.error().message.find(b.expect), std::string::npos) << b.text << " -> " << g.error().message;
  }
  auto g = parse_gbnf("root ::= \"a\"\n  x ::= \"b\" \"c\" [");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("line 2, column"), std::string::npos) << g.error().message;
}

// A byte prefix that can only become a surrogate or an overlong form is dead at once, so the
// token mask never leads into a state no token can leave.
TEST(GrammarMatch, InvalidUtf8PrefixesAreDead) {
  auto g = parse_gbnf("root ::= [^a]*");
  ASSERT_TRUE(g.ok());
  auto cg = CompiledGrammar::compile(*g);
  auto vocab = std::make_shared<VocabTrie>();
  for (const char* bad : {"\xED\xA0", "\xE0\x80", "\xF4\x90", "\xC0", "\xF5", "\x80"}) {
    GrammarMatcher m(cg, vocab);
    EXPECT_FALSE(m.accept_bytes(bad)) << bad;
  }
  GrammarMatcher ok(cg, vocab);
  EXPECT_TRUE(ok.accept_bytes("\xED\x9F"));  // U+D7xx is fine
  EXPECT_FALSE(ok.accepting());                // ...but incomplete
  EXPECT_TRUE(ok.accept_bytes("\xBF"));
  EXPECT_TRUE(ok.accepting());
}

TEST(GrammarParse, Bounds) {
  GrammarLimits lim;
  lim.max_nesting = 8;
  std::string deep = "root ::= " + std::string(20, '(') + "\"a\"" + std::string(20, ')');
  auto g = parse_gbnf(deep, lim);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("nested deeper"), std::string::npos);
  // Nested repetitions share their copies (a rule reference each), so they stay small and match.
  auto nested = parse_gbnf("root ::= ((((\"a\"{1000}){1000}){1000}){1000})");
  ASSERT_TRUE(nested.ok()) << nested.error().message;
  // Many large repetitions exceed the element bound.
  std::string many = "root ::=";
  for (int i = 0; i < 150; ++i) many += " \"a\"{0,10000}";
  auto big = parse_gbnf(many);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("more than"), std::string::npos) << big.error().message;
  lim = {};
  lim.max_source_bytes = 10;
  EXPECT_FALSE(parse_gbnf("root ::= \"abcdefgh\"", lim).ok());
}

}  // namespace
}  // namespace corral::grammar
