// Deterministic mode in the engine (issue 6, item 4): a seeded request gives the same tokens
// whether its prompt comes from a warm prompt cache or a cold one, and however the prompt is
// cut into batches. (Repeats, concurrency and thread counts are covered end to end by
// tests/integration/determinism.sh.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/loaded_model.h"
#include "engine/runner.h"

namespace corral {
namespace {

const char* kStories = CORRAL_SHARED_DIR "/models/stories260K.gguf";

GenerateRequest seeded(std::vector<int32_t> tokens, uint64_t seed, int n) {
  GenerateRequest r;
  r.prompt_tokens = std::move(tokens);
  r.sampling.temperature = 0.9f;
  r.sampling.seed = seed;
  r.sampling.has_seed = true;
  r.num_predict = n;
  return r;
}

GenerateEvent run(Runner& runner, GenerateRequest req) {
  auto res = runner.generate(std::move(req));
  EXPECT_TRUE(res.ok());
  return res.ok() ? *res : GenerateEvent{};
}

class Determinism : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = load_model(kStories);
    ASSERT_TRUE(m.ok()) << m.error().message;
    model_ = *m;
  }
  std::unique_ptr<Runner> runner(int32_t n_batch = 512, int32_t n_parallel = 2) {
    RunnerParams p;
    p.n_batch = n_batch;
    p.n_parallel = n_parallel;
    auto r = Runner::create(model_.model, model_.tokenizer, p);
    EXPECT_TRUE(r.ok());
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::vector<int32_t> tokens(const std::string& text) const { return model_.tokenizer->encode(text, true, false); }

  LoadedModel model_;
};

// A conversation's second turn: its prompt is the first turn's prompt and answer plus new text.
TEST_F(Determinism, PromptCacheReuseGivesSameTokens) {
  auto warm = runner();
  ASSERT_TRUE(warm);
  const GenerateEvent first = run(*warm, seeded(tokens("Once upon a time"), 1, 30));
  ASSERT_EQ(first.eval_count, 30);
  std::vector<int32_t> second_prompt = first.context;
  for (int32_t t : model_.tokenizer->encode(" The dog ran", false, false)) second_prompt.push_back(t);

  const GenerateEvent warm_second = run(*warm, seeded(second_prompt, 2, 30));
  auto cold = runner();
  ASSERT_TRUE(cold);
  const GenerateEvent cold_second = run(*cold, seeded(second_prompt, 2, 30));

  // The warm run really reused the cache: only the tokens after the cached prefix (the last
  // generated token of turn one and the new text) were evaluated.
  EXPECT_EQ(cold_second.prompt_eval_count, static_cast<int32_t>(second_prompt.size()));
  EXPECT_LT(warm_second.prompt_eval_count, static_cast<int32_t>(second_prompt.size()) - 20);
  EXPECT_EQ(warm_second.context, cold_second.context);
  EXPECT_EQ(warm_second.eval_count, 30);
}

// The same prompt evaluated in one batch, in chunks of 7 tokens, and one token per step.
TEST_F(Determinism, PromptBatchSplitDoesNotChangeTokens) {
  std::vector<int32_t> prompt = tokens("Tom and Lily went to the park. They saw a big dog and a small cat. The dog");
  ASSERT_GT(prompt.size(), 20u);
  std::vector<std::vector<int32_t>> outputs;
  for (int32_t n_batch : {512, 7, 1}) {
    auto r = runner(n_batch, 1);
    ASSERT_TRUE(r);
    outputs.push_back(run(*r, seeded(prompt, 99, 25)).context);
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_EQ(outputs[0], outputs[2]);
  EXPECT_EQ(outputs[0].size(), prompt.size() + 25);
}

// A seed fixes the draws of one request only: other requests in the same slot before it, with
// or without seeds, do not move its RNG.
TEST_F(Determinism, SeedIsPerRequest) {
  auto r = runner(512, 1);
  ASSERT_TRUE(r);
  const auto prompt = tokens("Lily had a ball");
  const auto a = run(*r, seeded(prompt, 5, 20)).context;
  GenerateRequest unseeded = seeded(tokens("The cat"), 0, 20);
  unseeded.sampling.has_seed = false;
  run(*r, unseeded);
  const auto b = run(*r, seeded(prompt, 5, 20)).context;
  EXPECT_EQ(a, b);
  const auto c = run(*r, seeded(prompt, 6, 20)).context;
  EXPECT_NE(a, c);  // and the seed matters (a different seed draws other tokens)
}

}  // namespace
}  // namespace corral
