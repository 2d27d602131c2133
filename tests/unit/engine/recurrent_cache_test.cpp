// The prompt cache with a recurrent model (qwen35: Gated DeltaNet states beside the KV cache of
// its attention layers). A recurrent state cannot be rewound, so the runner reuses a slot's
// cache only where the state is (the end of the previous turn) or where a checkpoint is (just
// before the last token of a previous prompt, a multiple of checkpoint_interval within a prompt
// or an answer, or the end of an answer a later turn continued), and evaluates everything again
// otherwise.
// Each case gives the same tokens as a cold runner, and evaluates as many prompt tokens as
// the reuse allows.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/loaded_model.h"
#include "engine/runner.h"
#include "model/hparams.h"

namespace corral {
namespace {

#ifdef CORRAL_FAMILY_MODEL_DIR
const char* kQwen35 = CORRAL_FAMILY_MODEL_DIR "/qwen35-f32.gguf";
#else
const char* kQwen35 = nullptr;  // the unit-only (sanitizer) build writes no family models
#endif

GenerateRequest seeded(std::vector<int32_t> tokens, uint64_t seed, int n) {
  GenerateRequest r;
  r.prompt_tokens = std::move(tokens);
  r.sampling.temperature = 0.9f;
  r.sampling.seed = seed;
  r.sampling.has_seed = true;
  r.num_predict = n;
  return r;
}

class RecurrentCache : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kQwen35 == nullptr) GTEST_SKIP() << "no family models in a unit-only build (delta_net_test covers the layer)";
    auto m = load_model(kQwen35);
    ASSERT_TRUE(m.ok()) << m.error().message;
    model_ = *m;
    ASSERT_TRUE(model_.model->hp.has_recurrent());
  }
  std::unique_ptr<Runner> runner(int32_t n_batch = 512, int32_t interval = 1024, int32_t n_checkpoints = 4) {
    RunnerParams p;
    p.n_batch = n_batch;
    p.n_parallel = 1;
    p.checkpoint_interval = interval;
    p.n_checkpoints = n_checkpoints;
    auto r = Runner::create(model_.model, model_.tokenizer, p);
    EXPECT_TRUE(r.ok());
    return r.ok() ? std::move(*r) : nullptr;
  }
  GenerateEvent run(Runner& r, GenerateRequest req) {
    auto res = r.generate(std::move(req));
    EXPECT_TRUE(res.ok());
    return res.ok() ? *res : GenerateEvent{};
  }
  // `second` on a runner that has just run `first`, and on a cold one: the same tokens.
  GenerateEvent warm_equals_cold(const std::vector<int32_t>& first, const std::vector<int32_t>& second,
                                 int32_t interval = 1024, int32_t n_batch = 512) {
    auto warm = runner(n_batch, interval);
    run(*warm, seeded(first, 1, 12));
    const GenerateEvent w = run(*warm, seeded(second, 2, 12));
    auto cold = runner();
    const GenerateEvent c = run(*cold, seeded(second, 2, 12));
    EXPECT_EQ(c.prompt_eval_count, static_cast<int32_t>(second.size()));
    EXPECT_EQ(w.context, c.context);
    EXPECT_EQ(w.eval_count, 12) << w.done_reason << " " << w.error;
    return w;
  }
  static std::vector<int32_t> ids(int32_t from, int32_t n) {
    std::vector<int32_t> v = {1};
    for (int32_t i = 0; i < n; ++i) v.push_back(3 + (from + i * 37) % 500);
    return v;
  }

  LoadedModel model_;
};

TEST_F(RecurrentCache, NextTurnContinuesTheState) {
  auto warm = runner();
  const std::vector<int32_t> prompt = ids(0, 30);
  const GenerateEvent first = run(*warm, seeded(prompt, 1, 12));
  std::vector<int32_t> second = first.context;  // the prompt, the answer, new text
  for (int32_t t : ids(7, 9)) second.push_back(t);
  const GenerateEvent w = run(*warm, seeded(second, 2, 12));
  auto cold = runner();
  const GenerateEvent c = run(*cold, seeded(second, 2, 12));
  EXPECT_EQ(w.context, c.context);
  // Only what follows the evaluated part of turn one: its last answer token and the new text.
  EXPECT_EQ(w.prompt_eval_count, 1 + 10);
}

TEST_F(RecurrentCache, SamePromptResumesFromTheCheckpoint) {
  const std::vector<int32_t> prompt = ids(0, 40);
  const GenerateEvent w = warm_equals_cold(prompt, prompt);
  EXPECT_EQ(w.prompt_eval_count, 1);  // the last prompt token, from the checkpoint before it
}

TEST_F(RecurrentCache, ExtendedPromptResumesFromTheCheckpoint) {
  const std::vector<int32_t> prompt = ids(0, 40);
  std::vector<int32_t> longer = prompt;
  for (int32_t t : ids(11, 15)) longer.push_back(t);
  const GenerateEvent w = warm_equals_cold(prompt, longer);
  EXPECT_EQ(w.prompt_eval_count, static_cast<int32_t>(longer.size() - (prompt.size() - 1)));
}

// Prompts across several DeltaNet chunks (64 tokens): the checkpoint before the last token
// (mid-chunk) and the answer's chunk ends give the same tokens as a cold runner.
TEST_F(RecurrentCache, LongPromptsAcrossChunksResumeFromTheCheckpoint) {
  const std::vector<int32_t> prompt = ids(8, 150);
  EXPECT_EQ(warm_equals_cold(prompt, prompt).prompt_eval_count, 1);
  std::vector<int32_t> longer = prompt;
  for (int32_t t : ids(11, 40)) longer.push_back(t);
  const GenerateEvent w = warm_equals_cold(prompt, longer);
  EXPECT_EQ(w.prompt_eval_count, static_cast<int32_t>(longer.size() - (prompt.size() - 1)));
}

TEST_F(RecurrentCache, SharedPrefixShorterThanTheCheckpointStartsOver) {
  const std::vector<int32_t> prompt = ids(0, 40);
  std::vector<int32_t> other(prompt.begin(), prompt.begin() + 20);
  for (int32_t t : ids(99, 20)) other.push_back(t);
  const GenerateEvent w = warm_equals_cold(prompt, other);
  EXPECT_EQ(w.prompt_eval_count, static_cast<int32_t>(other.size()));  // nothing to resume from
}

// Checkpoints every 64 tokens of a prompt (checkpoint_interval): a prompt sharing the first 200
// tokens of a 300-token one resumes from the checkpoint at 192, one sharing 50 starts over, and
// each gives the same tokens as a cold runner (which takes no interval checkpoints).
TEST_F(RecurrentCache, APromptSharingPartOfAnEarlierOneResumesFromTheIntervalCheckpoint) {
  const std::vector<int32_t> prompt = ids(3, 300);
  std::vector<int32_t> edited(prompt.begin(), prompt.begin() + 200);
  for (int32_t t : ids(50, 30)) edited.push_back(t);
  for (const int32_t n_batch : {512, 100, 7}) {
    const GenerateEvent w = warm_equals_cold(prompt, edited, 64, n_batch);
    EXPECT_EQ(w.prompt_eval_count, static_cast<int32_t>(edited.size() - 192)) << "n_batch " << n_batch;
  }
  std::vector<int32_t> short_share(prompt.begin(), prompt.begin() + 50);
  for (int32_t t : ids(60, 30)) short_share.push_back(t);
  EXPECT_EQ(warm_equals_cold(prompt, short_share, 64).prompt_eval_count, static_cast<int32_t>(short_share.size()));
  // Without interval checkpoints (the default 1024 here) only the prompt's end is kept.
  EXPECT_EQ(warm_equals_cold(prompt, edited).prompt_eval_count, static_cast<int32_t>(edited.size()));
}

// A conversation: turn one's prompt, turn two extending turn one's prompt but not its answer
// (a template that re-renders the answer differently): resumes from the end of turn one's prompt;
// then turn one's prompt again resumes there too, the checkpoints of turn two dropped.
TEST_F(RecurrentCache, ConversationTurnsResumeFromThePromptEnds) {
  auto warm = runner(512, 64);
  const std::vector<int32_t> one = ids(4, 150);
  run(*warm, seeded(one, 1, 10));
  std::vector<int32_t> two = one;
  for (int32_t t : ids(40, 100)) two.push_back(t);
  const GenerateEvent w2 = run(*warm, seeded(two, 2, 10));
  EXPECT_EQ(w2.prompt_eval_count, static_cast<int32_t>(two.size() - (one.size() - 1)));
  const GenerateEvent w3 = run(*warm, seeded(one, 3, 10));
  EXPECT_EQ(w3.prompt_eval_count, 1);
  auto cold = runner();
  EXPECT_EQ(run(*cold, seeded(two, 2, 10)).context, w2.context);
  EXPECT_EQ(run(*cold, seeded(one, 3, 10)).context, w3.context);
}

// Checkpoints while generating: every 8 tokens here (CORRAL_CHECKPOINT_INTERVAL). Turn one's
// prompt has 31 tokens (checkpoints at 8, 16, 24 and 30), its answer 20 (the state has read 50:
// checkpoints at 32, 40 and 48; the slot keeps the newest four). A next turn that keeps the
// prompt and the first 14 answer tokens (45 tokens; a template that re-renders the answer's end
// differently) resumes from the checkpoint at 40, inside the answer, not from the prompt's end.
TEST_F(RecurrentCache, ANextTurnResumesFromAnIntervalCheckpointInsideTheAnswer) {
  auto warm = runner(512, 8);
  const GenerateEvent first = run(*warm, seeded(ids(0, 30), 1, 20));
  ASSERT_EQ(first.eval_count, 20) << first.done_reason;
  ASSERT_EQ(first.context.size(), 51u);
  std::vector<int32_t> second(first.context.begin(), first.context.begin() + 45);
  for (int32_t t : ids(7, 9)) second.push_back(t);
  const GenerateEvent w = run(*warm, seeded(second, 2, 12));
  EXPECT_EQ(w.prompt_eval_count, static_cast<int32_t>(second.size() - 40));
  auto cold = runner();
  const GenerateEvent c = run(*cold, seeded(second, 2, 12));
  EXPECT_EQ(c.prompt_eval_count, static_cast<int32_t>(second.size()));
  EXPECT_EQ(w.context, c.context);
}

// Two replies to the same answer: turn two continues the state at the end of turn one's answer
// (the state has read 42 of its 43 tokens: the last answer token is not evaluated), and keeps a
// checkpoint there before it moves on; a second version of turn two (the user edits the new
// message) then resumes from that checkpoint, not from turn one's prompt end (30).
TEST_F(RecurrentCache, AnotherReplyToTheSameAnswerResumesAtTheAnswersEnd) {
  auto warm = runner();
  const GenerateEvent first = run(*warm, seeded(ids(0, 30), 1, 12));
  ASSERT_EQ(first.context.size(), 43u);
  std::vector<int32_t> reply = first.context, edited = first.context;
  for (int32_t t : ids(7, 9)) reply.push_back(t);
  for (int32_t t : ids(9, 9)) edited.push_back(t);
  const GenerateEvent w1 = run(*warm, seeded(reply, 2, 12));
  EXPECT_EQ(w1.prompt_eval_count, static_cast<int32_t>(reply.size() - 42));
  const GenerateEvent w2 = run(*warm, seeded(edited, 3, 12));
  EXPECT_EQ(w2.prompt_eval_count, static_cast<int32_t>(edited.size() - 42));
  auto cold = runner();
  const GenerateEvent c1 = run(*cold, seeded(reply, 2, 12));
  const GenerateEvent c2 = run(*cold, seeded(edited, 3, 12));
  EXPECT_EQ(w1.context, c1.context);
  EXPECT_EQ(w2.context, c2.context);
}

TEST_F(RecurrentCache, ChunkedPromptGivesTheSameTokens) {
  const std::vector<int32_t> prompt = ids(5, 60);
  auto whole = runner(512), chunked = runner(7);
  EXPECT_EQ(run(*whole, seeded(prompt, 3, 15)).context, run(*chunked, seeded(prompt, 3, 15)).context);
}

// The states a loaded model is charged with (the scheduler's estimate, `corral ps`): per
// slot, per DeltaNet layer, the convolution window and the state matrices, once live and once
// per checkpoint (n_checkpoints, 4 by default), whatever the context length; the KV cache is
// that of the attention layer only.
TEST_F(RecurrentCache, StateMemoryIsCountedAndConstantInTheContext) {
  const HParams& h = model_.model->hp;
  int64_t n_delta = 0;
  for (const LayerShape& l : h.layers) n_delta += l.recurrent ? 1 : 0;
  ASSERT_EQ(n_delta, 3);
  // (with, per value head, the DeltaNet chunk's keys, corrected values and log decays)
  const int64_t dk = h.ssm_d_state, dv = h.delta_head_v();
  const size_t per_slot_layer = static_cast<size_t>((h.ssm_d_conv - 1) * h.delta_conv_dim() +
                                                    h.ssm_dt_rank * (dk * dv + HParams::kDeltaChunk * (dk + dv + 1))) *
                                sizeof(float);
  for (int32_t n_ctx : {1024, 8192, 32768}) {
    RunnerParams p;
    p.n_ctx = n_ctx;
    p.n_parallel = 2;
    auto r = Runner::create(model_.model, model_.tokenizer, p);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)->recurrent_state_bytes(), (1 + 4) * 2 * 3 * per_slot_layer) << "n_ctx " << n_ctx;
  }
  auto stories = load_model(CORRAL_SHARED_DIR "/models/stories260K.gguf");
  ASSERT_TRUE(stories.ok());
  auto r = Runner::create(stories->model, stories->tokenizer, RunnerParams{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->recurrent_state_bytes(), 0u);
}

}  // namespace
}  // namespace corral
