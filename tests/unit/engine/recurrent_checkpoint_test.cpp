// Several recurrent-state checkpoints per sequence slot (model/recurrent_state.cpp), on the
// qwen35 test model (3 Gated DeltaNet layers and an attention layer): a sequence resumes from
// the newest checkpoint within a shared prefix with the same logits, bit for bit, as a fresh
// context reading the whole sequence; a prefix shorter than the first checkpoint starts over;
// the slot keeps the newest n_checkpoints positions; resuming drops the checkpoints beyond.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/loaded_model.h"
#include "model/context.h"

namespace corral {
namespace {

#ifdef CORRAL_FAMILY_MODEL_DIR
const char* kQwen35 = CORRAL_FAMILY_MODEL_DIR "/qwen35-f32.gguf";
#else
const char* kQwen35 = nullptr;  // the unit-only (sanitizer) build writes no family models
#endif

class RecurrentCheckpoints : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kQwen35 == nullptr) GTEST_SKIP() << "no family models in a unit-only build";
    auto m = load_model(kQwen35);
    ASSERT_TRUE(m.ok()) << m.error().message;
    model_ = m->model;
    ASSERT_TRUE(model_->hp.has_recurrent());
  }
  std::unique_ptr<Context> context(int32_t n_checkpoints, int32_t n_seq = 1) {
    ContextParams p;
    p.n_ctx = 512;
    p.n_seq = n_seq;
    p.kv_type = KvType::kF32;
    p.n_checkpoints = n_checkpoints;
    auto c = Context::create(model_, p);
    EXPECT_TRUE(c.ok());
    return c.ok() ? std::move(*c) : nullptr;
  }
  // Feeds tokens[from, to) of sequence `seq` in one batch; the logits of every token.
  static std::vector<float> feed(Context& c, const std::vector<int32_t>& tokens, size_t from, size_t to,
                                 int32_t seq = 0) {
    Batch b;
    for (size_t i = from; i < to; ++i) b.add(tokens[i], static_cast<int32_t>(i), seq, true);
    auto r = c.forward(b);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::vector<float>(r->begin(), r->end()) : std::vector<float>{};
  }
  // Prompt-like: batches ending at each multiple of 64 and at `end`, a checkpoint after each.
  static void feed_with_checkpoints(Context& c, const std::vector<int32_t>& tokens, size_t from, size_t end,
                                    int32_t seq = 0) {
    while (from < end) {
      const size_t to = std::min(end, (from / 64 + 1) * 64);
      feed(c, tokens, from, to, seq);
      c.checkpoint(seq);
      from = to;
    }
  }
  static std::vector<int32_t> ids(size_t seed, size_t n) {
    std::vector<int32_t> v = {1};
    for (size_t i = 1; i < n; ++i) v.push_back(3 + static_cast<int32_t>((seed + i * 37 + i / 5) % 500));
    return v;
  }
  std::vector<float> tail_of_fresh_run(const std::vector<int32_t>& tokens, size_t from) {
    auto fresh = context(1);
    const std::vector<float> all = feed(*fresh, tokens, 0, tokens.size());
    const auto n_vocab = static_cast<size_t>(model_->hp.n_vocab);
    return std::vector<float>(all.begin() + static_cast<std::ptrdiff_t>(from * n_vocab), all.end());
  }

  std::shared_ptr<const Model> model_;
};

TEST_F(RecurrentCheckpoints, ResumesFromTheNewestCheckpointWithinTheSharedPrefix) {
  auto c = context(4);
  const std::vector<int32_t> a = ids(0, 300);
  feed_with_checkpoints(*c, a, 0, 299);  // a prompt stops before its last token
  // Checkpoints at 64, 128, 192, 256 and 299: the slot keeps the newest four.
  EXPECT_EQ(c->checkpoint_positions(0), (std::vector<int64_t>{128, 192, 256, 299}));
  feed(*c, a, 299, 300);
  EXPECT_EQ(c->recurrent_position(0), 300);

  // B shares A's first 200 tokens.
  std::vector<int32_t> b(a.begin(), a.begin() + 200);
  for (int32_t t : ids(77, 120)) b.push_back(t);
  EXPECT_EQ(c->reusable_prefix(0, 200), 192);
  EXPECT_EQ(c->reusable_prefix(0, 256), 256);
  EXPECT_EQ(c->reusable_prefix(0, 300), 300);  // where the state is
  EXPECT_EQ(c->reusable_prefix(0, 299), 299);
  EXPECT_EQ(c->reusable_prefix(0, 127), 0);  // shorter than the first checkpoint: start over
  // Resuming anywhere but at a checkpoint, the state or 0 is refused.
  Batch wrong;
  wrong.add(b[200], 200, 0, true);
  EXPECT_FALSE(c->forward(wrong).ok());

  const std::vector<float> resumed = feed(*c, b, 192, b.size());
  EXPECT_EQ(resumed, tail_of_fresh_run(b, 192));
  // 256 and 299 were of A's tokens; 128 and 192 are B's too.
  EXPECT_EQ(c->checkpoint_positions(0), (std::vector<int64_t>{128, 192}));
  EXPECT_EQ(c->reusable_prefix(0, 250), 192);
}

// Resuming mid-chunk (192 + 37 is not a multiple of the DeltaNet's 64-token chunk): the
// checkpoint holds the unfinished chunk, so the continuation is the same bits.
TEST_F(RecurrentCheckpoints, ACheckpointInsideAChunkResumesToTheSameBits) {
  auto c = context(3);
  const std::vector<int32_t> a = ids(5, 260);
  feed(*c, a, 0, 229);
  c->checkpoint(0);
  feed(*c, a, 229, 260);
  std::vector<int32_t> b(a.begin(), a.begin() + 229);
  for (int32_t t : ids(9, 60)) b.push_back(t);
  ASSERT_EQ(c->reusable_prefix(0, 240), 229);
  EXPECT_EQ(feed(*c, b, 229, b.size()), tail_of_fresh_run(b, 229));
}

TEST_F(RecurrentCheckpoints, APrefixShorterThanEveryCheckpointRestartsAtZero) {
  auto c = context(4);
  const std::vector<int32_t> a = ids(1, 200);
  feed_with_checkpoints(*c, a, 0, 199);
  EXPECT_EQ(c->checkpoint_positions(0), (std::vector<int64_t>{64, 128, 192, 199}));
  std::vector<int32_t> b(a.begin(), a.begin() + 50);
  for (int32_t t : ids(3, 40)) b.push_back(t);
  ASSERT_EQ(c->reusable_prefix(0, 50), 0);
  EXPECT_EQ(feed(*c, b, 0, b.size()), tail_of_fresh_run(b, 0));
  EXPECT_TRUE(c->checkpoint_positions(0).empty());  // a restart drops the old checkpoints
  EXPECT_EQ(c->reusable_prefix(0, 50), 0);
}

// One checkpoint per slot: a new one replaces the old; slots keep their own.
TEST_F(RecurrentCheckpoints, EachSlotKeepsItsOwnCheckpoints) {
  auto c = context(1, 2);
  const std::vector<int32_t> a = ids(2, 150), b = ids(4, 150);
  feed_with_checkpoints(*c, a, 0, 140, 0);
  feed_with_checkpoints(*c, b, 0, 100, 1);
  EXPECT_EQ(c->checkpoint_positions(0), (std::vector<int64_t>{140}));
  EXPECT_EQ(c->checkpoint_positions(1), (std::vector<int64_t>{100}));
  feed(*c, a, 140, 150, 0);
  EXPECT_EQ(c->reusable_prefix(0, 145), 140);
  EXPECT_EQ(c->reusable_prefix(1, 90), 0);  // slot 1's state and checkpoint are at 100
  EXPECT_EQ(c->reusable_prefix(1, 100), 100);
  EXPECT_EQ(feed(*c, a, 140, 150, 0), tail_of_fresh_run(a, 140));
}

// The memory: the live states and n_checkpoints copies of them, as the estimate says.
TEST_F(RecurrentCheckpoints, MemoryCountsEveryCheckpoint) {
  const HParams& h = model_->hp;
  const size_t one = static_cast<size_t>(h.n_recurrent_layers()) * h.recurrent_state_floats();
  for (int32_t k : {1, 4, 8}) {
    auto c = context(k, 2);
    EXPECT_EQ(c->recurrent_elements(), static_cast<size_t>(1 + k) * 2 * one) << k;
    EXPECT_EQ(Context::recurrent_elements_for(h, 2, k), c->recurrent_elements()) << k;
  }
}

}  // namespace
}  // namespace corral
