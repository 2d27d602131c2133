// Composed tool-call grammars (a wrapper with JSON Schema slots) and deferred constraints that
// start after a trigger text, on the real stories260K tokenizer and model.
#include <gtest/gtest.h>

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/grammar_constraint.h"
#include "engine/loaded_model.h"
#include "engine/runner.h"

namespace corral {
namespace {

using OJson = nlohmann::ordered_json;
const char* kStories = CORRAL_SHARED_DIR "/models/stories260K.gguf";

const OJson kSchema = OJson::parse(R"({"type":"object","properties":{"city":{"type":"string","maxLength":8},
  "days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"]})");

TEST(ToolConstraint, ComposedGrammarFillsEverySlot) {
  const std::string gbnf =
      "root ::= \"<call>\" (a | b) \"</call>\"\n"
      "a ::= \"{\\\"name\\\": \\\"w\\\", \\\"arguments\\\": \" tool-args-0 \"}\"\n"
      "b ::= \"{\\\"name\\\": \\\"t\\\", \\\"arguments\\\": \" tool-args-1 \"}\"\n"
      "tool-args-0 ::= \"{}\"\ntool-args-1 ::= \"{}\"\n";
  auto g = compose_grammar(gbnf, {{"tool-args-0", kSchema}, {"tool-args-1", OJson{{"type", "object"}}}});
  ASSERT_TRUE(g.ok()) << g.error().message;
  auto missing = compose_grammar("root ::= \"x\"\n", {{"tool-args-0", kSchema}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("tool-args-0"), std::string::npos);
  auto bad = compose_grammar(gbnf, {{"tool-args-0", OJson::parse(R"({"type":"number","multipleOf":3})")}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("multipleOf"), std::string::npos);
}

TEST(ToolConstraint, GenerationFollowsTheComposedGrammar) {
  auto m = load_model(kStories);
  ASSERT_TRUE(m.ok()) << m.error().message;
  auto g = compose_grammar("root ::= \"<call>{\\\"name\\\": \\\"w\\\", \\\"arguments\\\": \" tool-args-0 \"}</call>\"\n"
                           "tool-args-0 ::= \"{}\"\n",
                           {{"tool-args-0", kSchema}});
  ASSERT_TRUE(g.ok()) << g.error().message;
  auto runner = Runner::create(m->model, m->tokenizer, RunnerParams{});
  ASSERT_TRUE(runner.ok());
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    GenerateRequest r;
    r.prompt = "Once upon a time";
    r.sampling.temperature = 1.0f;
    r.sampling.seed = seed;
    r.sampling.has_seed = true;
    r.num_predict = 200;
    r.constraint = make_grammar_constraint(*g, *m->tokenizer);
    std::string text;
    auto res = (*runner)->generate(std::move(r), [&](const GenerateEvent& ev) {
      text += ev.text;
      return true;
    });
    ASSERT_TRUE(res.ok());
    ASSERT_EQ(res->done_reason, "stop") << text;
    const std::string head = "<call>{\"name\": \"w\", \"arguments\": ";
    ASSERT_EQ(text.substr(0, head.size()), head) << text;
    ASSERT_EQ(text.substr(text.size() - 8), "}</call>") << text;
    const OJson args = OJson::parse(text.substr(head.size(), text.size() - head.size() - 8));
    EXPECT_TRUE(args["city"].is_string());
    EXPECT_LE(args["city"].get<std::string>().size(), 8u);
    EXPECT_GE(args["days"].get<int>(), 1);
    EXPECT_LE(args["days"].get<int>(), 7);
  }
}

// A forced call under a token budget: the runner tells the constraint the tokens left, so the
// call closes with valid arguments and says "length"; a budget below the shortest call is refused.
TEST(ToolConstraint, TheBudgetClosesTheCall) {
  auto m = load_model(kStories);
  ASSERT_TRUE(m.ok()) << m.error().message;
  auto g = compose_grammar("root ::= \"<call>{\\\"name\\\": \\\"w\\\", \\\"arguments\\\": \" tool-args-0 \"}</call>\"\n"
                           "tool-args-0 ::= \"{}\"\n",
                           {{"tool-args-0", kSchema}});
  ASSERT_TRUE(g.ok()) << g.error().message;
  auto runner = Runner::create(m->model, m->tokenizer, RunnerParams{});
  ASSERT_TRUE(runner.ok());
  const uint32_t min = make_grammar_constraint(*g, *m->tokenizer)->min_tokens();
  ASSERT_GT(min, 10u);
  int n_length = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    GenerateRequest r;
    r.prompt = "Once upon a time";
    r.sampling.temperature = 1.0f;
    r.sampling.seed = seed;
    r.sampling.has_seed = true;
    r.num_predict = static_cast<int32_t>(min + seed % 3);
    r.constraint = make_grammar_constraint(*g, *m->tokenizer);
    std::string text;
    auto res = (*runner)->generate(std::move(r), [&](const GenerateEvent& ev) {
      text += ev.text;
      return true;
    });
    ASSERT_TRUE(res.ok()) << res.error().message;
    ASSERT_TRUE(res->done_reason == "stop" || res->done_reason == "length") << res->done_reason;
    n_length += res->done_reason == "length" ? 1 : 0;
    EXPECT_LE(res->eval_count, static_cast<int32_t>(min + seed % 3));
    const std::string head = "<call>{\"name\": \"w\", \"arguments\": ";
    ASSERT_EQ(text.substr(0, head.size()), head) << text;
    ASSERT_EQ(text.substr(text.size() - 8), "}</call>") << text;
    const OJson args = OJson::parse(text.substr(head.size(), text.size() - head.size() - 8));
    EXPECT_TRUE(args["city"].is_string());
    EXPECT_GE(args["days"].get<int>(), 1);
  }
  EXPECT_GT(n_length, 0);
  GenerateRequest r;
  r.prompt = "Once upon a time";
  r.num_predict = static_cast<int32_t>(min - 1);
  r.constraint = make_grammar_constraint(*g, *m->tokenizer);
  auto refused = (*runner)->generate(std::move(r), nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find(fmt::format("takes {} tokens, more than the {} tokens", min, min - 1)),
            std::string::npos)
      << refused.error().message;
}

TEST(ToolConstraint, DeferredConstraintStartsAfterItsTrigger) {
  auto m = load_model(kStories);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const Tokenizer& tok = *m->tokenizer;
  auto inner = make_gbnf_constraint("root ::= \"yes\"", tok);
  ASSERT_TRUE(inner.ok());
  auto c = defer_constraint(*inner, tok, {ConstraintStart{"</think>", false}});
  const int32_t n = tok.n_vocab();
  std::vector<float> logits(static_cast<size_t>(n), 0.0f);
  auto n_allowed = [&] {
    std::fill(logits.begin(), logits.end(), 0.0f);
    c->mask(logits.data(), n);
    int32_t k = 0;
    for (float v : logits) k += std::isinf(v) ? 0 : 1;
    return k;
  };
  // Before the trigger: anything but the end of generation.
  EXPECT_EQ(n_allowed(), n - static_cast<int32_t>(tok.eog_ids().size()));
  const std::vector<int32_t> thought = tok.encode("I think</think>", false, false);
  ASSERT_GT(thought.size(), 2u);
  for (size_t i = 0; i + 1 < thought.size(); ++i) c->accept(thought[i]);
  EXPECT_FALSE(c->done());
  EXPECT_EQ(n_allowed(), n - static_cast<int32_t>(tok.eog_ids().size()));
  c->accept(thought.back());
  // After it: only what the grammar allows ("y" and the like).
  const int32_t k = n_allowed();
  EXPECT_GT(k, 0);
  EXPECT_LT(k, 10);
  for (char ch : std::string("yes")) c->accept(*tok.find_token(std::string(1, ch)));
  EXPECT_TRUE(c->done());
}

}  // namespace
}  // namespace corral
