// Budget-aware constraints: the shortest-completion costs and the budgeted token mask.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sampling/grammar/json_schema.h"
#include "sampling/grammar/matcher.h"

namespace corral::grammar {
namespace {

constexpr int32_t kEog = 0;

// Token 0 ends generation; tokens 1..256 are the single bytes 0..255; then `extra` pieces.
std::shared_ptr<const VocabTrie> vocab_with(const std::vector<std::string>& extra) {
  std::vector<std::string> pieces(1);
  for (int b = 0; b < 256; ++b) pieces.emplace_back(1, static_cast<char>(b));
  for (const auto& p : extra) pieces.push_back(p);
  return VocabTrie::from_pieces(std::move(pieces), {kEog});
}

std::shared_ptr<const CompiledGrammar> gbnf(const std::string& text) {
  auto g = parse_gbnf(text);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message) << "\n" << text;
  return CompiledGrammar::compile(g.ok() ? *g : Grammar{});
}

std::shared_ptr<const CompiledGrammar> schema(const std::string& text) {
  auto g = json_schema_to_grammar(text);
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message) << "\n" << text;
  return CompiledGrammar::compile(*g);
}

uint32_t root_cost(const std::string& grammar, const std::vector<std::string>& extra = {}) {
  auto cg = gbnf(grammar);
  auto v = vocab_with(extra);
  return CompletionCosts::compute(*cg, *v)->root_cost(*cg);
}

TEST(CompletionCosts, BytesWhenOnlySingleByteTokens) {
  EXPECT_EQ(root_cost(R"(root ::= "abc")"), 3u);
  EXPECT_EQ(root_cost(R"(root ::= "abc" | "x" "y")"), 2u);
  EXPECT_EQ(root_cost(R"(root ::= [a-z]* "!")"), 1u);
  EXPECT_EQ(root_cost(R"(root ::= [a-z]+ "!")"), 2u);
  EXPECT_EQ(root_cost(R"(root ::= "é")"), 2u);          // two bytes, a token each
  EXPECT_EQ(root_cost(R"(root ::= [é-ë] [😀-😂])"), 6u);  // the smallest code point of each set
  EXPECT_EQ(root_cost("root ::= x x x\nx ::= \"ab\" | y\ny ::= \"c\""), 3u);
  EXPECT_EQ(root_cost("root ::= \"[\" (item (\",\" item)*)? \"]\"\nitem ::= [0-9]+ | root"), 2u);
  EXPECT_EQ(root_cost(R"(root ::= "a"{3,5})"), 3u);
  EXPECT_EQ(root_cost(R"(root ::= "")"), 0u);
}

TEST(CompletionCosts, LiteralRunsUseLongTokens) {
  EXPECT_EQ(root_cost(R"(root ::= "abcdef")", {"abc", "cdef", "abcd"}), 3u);  // abcd e f, or a b cdef
  EXPECT_EQ(root_cost(R"(root ::= "abcdef")", {"abc", "def"}), 2u);
  EXPECT_EQ(root_cost(R"(root ::= "héllo")", {"hé", "llo"}), 2u);
  // A token that ends inside a character is no jump: "h\xC3" ends mid-"é".
  EXPECT_EQ(root_cost(R"(root ::= "hé")", {"h\xC3"}), 3u);
  // Runs stop at non-literal elements; the token cannot cover "b" and the set.
  EXPECT_EQ(root_cost(R"(root ::= "ab" [xy] "cd")", {"ab", "bx", "cd"}), 3u);
  // A literal reached through a rule reference is a separate run (an upper bound).
  EXPECT_EQ(root_cost("root ::= \"{\" key\nkey ::= \"\\\"name\\\"\"", {"{\"name\"", "\"name\""}), 2u);
}

TEST(GrammarBudget, CostFallsByOnePerTokenOnTheCheapestPath) {
  auto cg = gbnf("root ::= \"{\" ws \"\\\"k\\\"\" ws \":\" ws [0-9]+ ws \"}\"\nws ::= \" \"?");
  GrammarMatcher m(cg, vocab_with({}));
  EXPECT_EQ(m.min_tokens_to_accept(), 7u);  // {"k":0}
  const std::string path = "{ \"k\"";
  uint32_t prev = m.min_tokens_to_accept();
  for (char c : path) {
    ASSERT_TRUE(m.accept_bytes(std::string(1, c)));
    const uint32_t want = c == ' ' ? prev : prev - 1;  // a space is not on the cheapest path
    EXPECT_EQ(m.min_tokens_to_accept(), want) << "after '" << c << "'";
    prev = m.min_tokens_to_accept();
  }
  ASSERT_TRUE(m.accept_bytes(":12"));
  EXPECT_EQ(m.min_tokens_to_accept(), 1u);
  ASSERT_TRUE(m.accept_bytes("}"));
  EXPECT_EQ(m.min_tokens_to_accept(), 0u);
  EXPECT_TRUE(m.accepting());
  // Inside a UTF-8 sequence the pending continuation bytes count.
  GrammarMatcher u(gbnf(R"(root ::= "€" "!")"), vocab_with({}));
  EXPECT_EQ(u.min_tokens_to_accept(), 4u);
  ASSERT_TRUE(u.accept_bytes("\xE2"));
  EXPECT_EQ(u.min_tokens_to_accept(), 3u);
}

std::vector<int32_t> allowed_ids(GrammarMatcher& m, int32_t tokens_left) {
  const auto& bits = m.allowed_tokens(tokens_left);
  std::vector<int32_t> ids;
  for (size_t w = 0; w < bits.size(); ++w)
    for (uint64_t word = bits[w]; word; word &= word - 1)
      ids.push_back(static_cast<int32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(word))));
  return ids;
}

TEST(GrammarBudget, NoRestrictionWhileTheBudgetIsAmple) {
  GrammarMatcher m(schema(R"({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]})"),
                   vocab_with({"{\"", "name", "\":", " \"", "\"}", "hello world"}));
  ASSERT_TRUE(m.accept_bytes("{\"name\": \"ab"));
  const auto free = allowed_ids(m, -1);
  EXPECT_EQ(allowed_ids(m, 1000), free);
  EXPECT_FALSE(m.budget_forced());
  // Two tokens left: only what still closes within one more token ("\"}" in one, or "\"" then "}").
  const auto tight = allowed_ids(m, 2);
  EXPECT_TRUE(m.budget_forced());
  EXPECT_LT(tight.size(), free.size());
  for (int32_t id : tight) {
    GrammarMatcher t = m;
    ASSERT_TRUE(t.accept_token(id));
    EXPECT_LE(t.min_tokens_to_accept(), 1u) << "token " << id;
  }
  // One token left: only "\"}" closes the object.
  const auto last = allowed_ids(m, 1);
  ASSERT_EQ(last.size(), 1u);
  GrammarMatcher t = m;
  ASSERT_TRUE(t.accept_token(last[0]));
  EXPECT_TRUE(t.accepting());
}

TEST(GrammarBudget, TooSmallABudgetAllowsTheClosestTokens) {
  GrammarMatcher m(gbnf(R"(root ::= "abcd")"), vocab_with({"ab", "abc"}));
  // Needs 2 tokens ("abc" "d"); with 1 left nothing fits and "abc" comes closest.
  EXPECT_EQ(m.min_tokens_to_accept(), 2u);
  const auto ids = allowed_ids(m, 1);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0], 256 + 1 + 1);  // "abc"
  // Nothing may follow: only the end, and only where the grammar allows it.
  EXPECT_TRUE(allowed_ids(m, 0).empty());
  ASSERT_TRUE(m.accept_bytes("abcd"));
  EXPECT_EQ(allowed_ids(m, 0), std::vector<int32_t>{kEog});
}

TEST(GrammarBudget, WhitespaceIsBounded) {
  auto cg = schema(R"({"type":"object","properties":{"a":{"type":"integer"}}})");
  auto ok = [&](const std::string& s) {
    GrammarMatcher m(cg, vocab_with({}));
    return m.accept_bytes(s) && m.accepting();
  };
  EXPECT_TRUE(ok("{\n    \"a\": 1}"));
  EXPECT_TRUE(ok("{ \"a\": 1 }"));
  EXPECT_FALSE(ok("{\n     \"a\": 1}"));  // five blanks after the newline
  EXPECT_FALSE(ok("{  \"a\": 1}"));
  EXPECT_FALSE(ok("{\n\n\"a\": 1}"));
}

// Random walks under every budget from the minimum upwards: the answer is always complete.
struct WalkCase {
  const char* schema;  // JSON Schema, or GBNF when it starts with "root"
};

class BudgetWalk : public ::testing::TestWithParam<WalkCase> {};

TEST_P(BudgetWalk, EveryBudgetEndsInACompleteAnswer) {
  const std::string text = GetParam().schema;
  const bool is_gbnf = text.rfind("root", 0) == 0;
  auto cg = is_gbnf ? gbnf(text) : schema(text);
  // Multi-byte tokens of the kind a real vocabulary has, including ones that close structures.
  auto vocab = vocab_with({"{\"", "\":", "\": ", "\",", "\"}", "\"]", "}}", "]}", "},", "[\"", "[{", "\", \"",
                           "name", "tags", "true", "false", "null", "12", "0.5", "é", "\n  ", "  ", "hello",
                           "\"name\"", ", \"", "abc", "xyz"});
  auto costs = CompletionCosts::compute(*cg, *vocab);
  const uint32_t min = costs->root_cost(*cg);
  ASSERT_LT(min, 200u);
  int forced = 0;
  for (uint32_t budget = min; budget < min + 24; ++budget) {
    for (uint64_t seed = 0; seed < 12; ++seed) {
      std::mt19937_64 rng(seed * 1000 + budget);
      GrammarMatcher m(cg, vocab, costs);
      std::string out;
      bool ended = false;
      for (uint32_t left = budget; left > 0 && !ended; --left) {
        const auto ids = allowed_ids(m, static_cast<int32_t>(left));
        ASSERT_FALSE(ids.empty());
        const int32_t id = ids[static_cast<size_t>(rng() % ids.size())];
        if (id == kEog) {
          ASSERT_TRUE(m.accepting()) << out;
          ended = true;
          break;
        }
        out += vocab->pieces[static_cast<size_t>(id)];
        ASSERT_TRUE(m.accept_token(id)) << out;
        ASSERT_LE(m.min_tokens_to_accept(), left - 1) << out << " (budget " << budget << ")";
        if (m.finished()) ended = true;
      }
      EXPECT_TRUE(m.accepting()) << "budget " << budget << " seed " << seed << ": " << out;
      forced += m.budget_forced() ? 1 : 0;
      // The text is a sentence of the grammar, and for schemas a JSON document.
      GrammarMatcher check(cg, vocab, costs);
      EXPECT_TRUE(check.accept_bytes(out) && check.accepting()) << out;
      if (!is_gbnf) {
        EXPECT_FALSE(nlohmann::json::parse(out, nullptr, false).is_discarded()) << out;
      }
    }
  }
  EXPECT_GT(forced, 0) << "the budget never shaped an answer: the test walks too little";
}

INSTANTIATE_TEST_SUITE_P(
    Schemas, BudgetWalk,
    ::testing::Values(
        WalkCase{R"({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]})"},
        WalkCase{R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer"},)"
                 R"("tags":{"type":"array","items":{"type":"string"},"minItems":2},"kind":{"enum":["cat","dog","bird"]},)"
                 R"("nick":{"type":"string"}},"required":["name","tags","kind"]})"},
        WalkCase{R"({"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"array","items":)"
                 R"({"type":"object","properties":{"c":{"type":"boolean"},"d":{"type":["number","null"]}},"required":["c"]},)"
                 R"("minItems":1}},"required":["b"]}},"required":["a"]})"},
        WalkCase{R"({"type":"array","items":{"type":"integer"},"minItems":3,"maxItems":5})"},
        WalkCase{"root ::= \"(\" expr \")\"\nexpr ::= term ((\"+\" | \"-\") term)*\nterm ::= [0-9]+ | \"(\" expr \")\""},
        WalkCase{"root ::= greeting \" \" name \"!\"\ngreeting ::= \"hello\" | \"hi\"\nname ::= [a-z]{3,8}"}));

TEST(GrammarBudget, JsonObjectGrammarCloses) {
  auto g = parse_gbnf(json_object_gbnf());
  ASSERT_TRUE(g.ok());
  auto cg = CompiledGrammar::compile(*g);
  auto vocab = vocab_with({"{\"", "\":", "[{", "[[", "{{", "\"a\":{\"b\":[", "abc"});
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::mt19937_64 rng(seed);
    GrammarMatcher m(cg, vocab);
    std::string out;
    const uint32_t budget = 2 + static_cast<uint32_t>(seed);
    for (uint32_t left = budget; left > 0; --left) {
      const auto ids = allowed_ids(m, static_cast<int32_t>(left));
      const int32_t id = ids[static_cast<size_t>(rng() % ids.size())];
      if (id == kEog) break;
      out += vocab->pieces[static_cast<size_t>(id)];
      ASSERT_TRUE(m.accept_token(id));
      if (m.finished()) break;
    }
    EXPECT_TRUE(m.accepting()) << out;
    EXPECT_TRUE(nlohmann::json::parse(out, nullptr, false).is_object()) << out;
  }
}

}  // namespace
}  // namespace corral::grammar
