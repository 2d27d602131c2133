// Runner: generation on the real stories260K model, batching determinism, cancellation,
// prompt-prefix reuse, stop strings, limits and errors.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "engine/loaded_model.h"
#include "engine/runner.h"

namespace corral {
namespace {

const char* kStories = CORRAL_SHARED_DIR "/models/stories260K.gguf";
// The model card's greedy story from BOS (../shared/models/README.md).
const char* kGoldenStory =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
    "One day, she saw a big, red ball. She wanted to play with it, but it was too high";

LoadedModel stories() {
  auto m = load_model(kStories);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return *m;
}

GenerateRequest greedy(const std::string& prompt, int n) {
  GenerateRequest r;
  r.prompt = prompt;
  r.sampling.temperature = 0.0f;
  r.sampling.repeat_penalty = 1.0f;
  r.num_predict = n;
  return r;
}

std::string run(Runner& runner, GenerateRequest req, GenerateEvent* final_event = nullptr) {
  std::string text;
  auto res = runner.generate(std::move(req), [&](const GenerateEvent& ev) {
    text += ev.text;
    return true;
  });
  EXPECT_TRUE(res.ok());
  if (final_event && res.ok()) *final_event = *res;
  return text;
}

TEST(Runner, GreedyStoryFromBosMatchesModelCard) {
  auto m = stories();
  auto runner = Runner::create(m.model, m.tokenizer, RunnerParams{});
  ASSERT_TRUE(runner.ok());
  GenerateEvent done;
  const std::string text = run(**runner, greedy("", 60), &done);
  EXPECT_EQ(text, std::string(" ") + kGoldenStory);
  EXPECT_EQ(done.done_reason, "length");
  EXPECT_EQ(done.eval_count, 60);
  EXPECT_EQ(done.prompt_eval_count, 1);
}

TEST(Runner, StopStringEndsGenerationAndIsNotEmitted) {
  auto m = stories();
  auto runner = Runner::create(m.model, m.tokenizer, RunnerParams{});
  ASSERT_TRUE(runner.ok());
  auto req = greedy("", 60);
  req.stop = {"Lily"};
  GenerateEvent done;
  const std::string text = run(**runner, req, &done);
  EXPECT_EQ(text, " Once upon a time, there was a little girl named ");
  EXPECT_EQ(done.done_reason, "stop");
}

TEST(Runner, ParallelRequestsGiveTheSameTokensAsOneAtATime) {
  auto m = stories();
  const std::vector<std::string> prompts = {"Once upon a time", "The cat", "Tom had a", "", "Lily saw"};
  std::vector<std::string> alone;
  {
    auto runner = Runner::create(m.model, m.tokenizer, RunnerParams{});
    ASSERT_TRUE(runner.ok());
    for (const auto& p : prompts) {
      auto req = greedy(p, 40);
      req.sampling.temperature = 0.9f;  // seeded sampling must be batch-independent too
      req.sampling.seed = 1234;
      req.sampling.has_seed = true;
      alone.push_back(run(**runner, req));
    }
  }
  RunnerParams rp;
  rp.n_parallel = 3;
  auto runner = Runner::create(m.model, m.tokenizer, rp);
  ASSERT_TRUE(runner.ok());
  std::vector<std::future<std::string>> futures;
  for (const auto& p : prompts) {
    futures.push_back(std::async(std::launch::async, [&, p] {
      auto req = greedy(p, 40);
      req.sampling.temperature = 0.9f;
      req.sampling.seed = 1234;
      req.sampling.has_seed = true;
      return run(**runner, req);
    }));
  }
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(futures[i].get(), alone[i]) << "prompt " << i;
}

TEST(Runner, PromptPrefixIsReusedFromTheCache) {
  auto m = stories();
  auto runner = Runner::create(m.model, m.tokenizer, RunnerParams{});
  ASSERT_TRUE(runner.ok());
  GenerateEvent first, second;
  const std::string a = run(**runner, greedy("Once upon a time there was a dog", 5), &first);
  const std::string b = run(**runner, greedy("Once upon a time there was a dog", 5), &second);
  EXPECT_EQ(a, b);
  EXPECT_GT(first.prompt_eval_count, 5);
  EXPECT_EQ(second.prompt_eval_count, 1);  // only the last prompt token is evaluated again
}

TEST(Runner, CancelFromCallbackStopsWithinOneStep) {
  auto m = stories();
  auto runner = Runner::create(m.model, m.tokenizer, RunnerParams{});
  ASSERT_TRUE(runner.ok());
  int events = 0;
  auto res = (*runner)->generate(greedy("", 200), [&](const GenerateEvent& ev) {
    if (!ev.done) ++events;
    return events < 3;
  });
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->done_reason, "cancel");
  EXPECT_EQ(events, 3);
  EXPECT_EQ((*runner)->n_active(), 0u);
}

TEST(Runner, ContextLimitEndsWithLength) {
  auto m = stories();
  RunnerParams rp;
  rp.n_ctx = 16;
  auto runner = Runner::create(m.model, m.tokenizer, rp);
  ASSERT_TRUE(runner.ok());
  GenerateEvent done;
  GenerateRequest req = greedy("", -1);
  req.shift = false;
  run(**runner, req, &done);
  EXPECT_EQ(done.done_reason, "length");
  EXPECT_EQ(done.context.size(), 16u);
}

// At the limit the first num_keep tokens stay and half of the rest go; what follows is exactly
// what a fresh context holding the kept tokens generates.
TEST(Runner, ContextShiftContinuesAsAFreshContextOverTheKeptTokens) {
  auto m = stories();
  RunnerParams small, large;
  small.n_ctx = 16;
  large.n_ctx = 64;
  auto shifting = Runner::create(m.model, m.tokenizer, small);
  auto roomy = Runner::create(m.model, m.tokenizer, large);
  ASSERT_TRUE(shifting.ok() && roomy.ok());
  GenerateEvent shifted, unshifted;
  run(**shifting, greedy("", 20), &shifted);  // BOS + 15 fills 16: keep 4, drop 6, 5 more
  run(**roomy, greedy("", 20), &unshifted);
  ASSERT_EQ(shifted.eval_count, 20);
  ASSERT_EQ(unshifted.context.size(), 21u);
  ASSERT_EQ(shifted.context.size(), 15u);
  EXPECT_EQ(shifted.done_reason, "length");
  EXPECT_EQ(shifted.prompt_eval_count, 1);  // tokens evaluated again are not prompt tokens
  const auto& c = shifted.context;
  const auto& u = unshifted.context;
  EXPECT_EQ(std::vector<int32_t>(c.begin(), c.begin() + 4), std::vector<int32_t>(u.begin(), u.begin() + 4));
  EXPECT_EQ(std::vector<int32_t>(c.begin() + 4, c.begin() + 10), std::vector<int32_t>(u.begin() + 10, u.begin() + 16));
  GenerateRequest fresh = greedy("", 5);
  fresh.prompt_tokens.assign(c.begin(), c.begin() + 10);
  GenerateEvent continued;
  run(**roomy, fresh, &continued);
  EXPECT_EQ(continued.context, c);
}

TEST(Runner, ContextShiftWithoutALimitStopsAtTenContexts) {
  auto m = stories();
  RunnerParams rp;
  rp.n_ctx = 16;
  auto runner = Runner::create(m.model, m.tokenizer, rp);
  ASSERT_TRUE(runner.ok());
  GenerateEvent done;
  GenerateRequest req = greedy("", -1);
  req.sampling.temperature = 1.0f;
  req.sampling.seed = 3;
  req.sampling.has_seed = true;
  run(**runner, req, &done);
  EXPECT_LT(done.context.size(), 16u);
  if (done.done_reason == "length") {
    EXPECT_EQ(done.eval_count, 160);
  } else {
    EXPECT_EQ(done.done_reason, "stop");
    EXPECT_GT(done.eval_count, 15) << "ended before the context ever shifted; pick another seed";
    EXPECT_LT(done.eval_count, 160);
  }
}

TEST(Runner, LongPromptIsCutToItsStartAndEnd) {
  auto m = stories();
  RunnerParams rp;
  rp.n_ctx = 10;
  auto runner = Runner::create(m.model, m.tokenizer, rp);
  ASSERT_TRUE(runner.ok());
  const std::string prompt = "Once upon a time there was a little girl named Lily";
  const std::vector<int32_t> ids = m.tokenizer->encode(prompt, true, true);
  ASSERT_GT(ids.size(), 10u);
  GenerateEvent done;
  GenerateRequest req = greedy(prompt, 1);
  req.shift = false;
  run(**runner, req, &done);
  EXPECT_EQ(done.prompt_tokens, 9);  // one position left for the answer
  ASSERT_EQ(done.context.size(), 10u);
  EXPECT_EQ(std::vector<int32_t>(done.context.begin(), done.context.begin() + 4),  // num_keep
            std::vector<int32_t>(ids.begin(), ids.begin() + 4));
  EXPECT_EQ(std::vector<int32_t>(done.context.begin() + 4, done.context.begin() + 9),
            std::vector<int32_t>(ids.end() - 5, ids.end()));
}

TEST(Runner, BadInputIsRefusedClearly) {
  auto m = stories();
  RunnerParams rp;
  rp.n_ctx = 8;
  auto runner = Runner::create(m.model, m.tokenizer, rp);
  ASSERT_TRUE(runner.ok());
  GenerateRequest uncut = greedy("Once upon a time there was a little girl named Lily", 5);
  uncut.truncate = false;
  auto too_long = (*runner)->submit(uncut, nullptr);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("longer than the context of 8 tokens"), std::string::npos);
  GenerateRequest bad;
  bad.prompt_tokens = {1, 600};
  auto bad_token = (*runner)->submit(bad, nullptr);
  ASSERT_FALSE(bad_token.ok());
  EXPECT_NE(bad_token.error().message.find("outside the vocabulary"), std::string::npos);
}

}  // namespace
}  // namespace corral
