// A long batch runs in micro-batches of Context::kMicroBatch tokens so that a long prompt's
// scratch memory stays small (issue 9's memory target). The slicing must not change a bit of
// the results, whether logits or embeddings, with one sequence or several interleaved; and a
// batch whose positions do not rise within a sequence (which relies on seeing K/V stored by
// later tokens of the same batch) must still be run whole.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

std::shared_ptr<const Model> load(const std::string& name) {
  auto m = Model::load(std::string(CORRAL_SHARED_DIR) + "/conformance/models/" + name);
  EXPECT_TRUE(m.ok()) << m.error().message;
  return m.ok() ? *m : nullptr;
}

std::unique_ptr<Context> context(const std::shared_ptr<const Model>& m, int32_t n_seq) {
  ContextParams p;
  p.n_ctx = 512;
  p.n_seq = n_seq;
  auto c = Context::create(m, p);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? std::move(*c) : nullptr;
}

int32_t token_at(int32_t i) { return (i * 37 + 11) % 500; }

// Runs `b` and returns a copy of its output.
std::vector<float> run(Context& c, const Batch& b) {
  auto out = c.forward(b);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
  return out.ok() ? std::vector<float>(out->begin(), out->end()) : std::vector<float>{};
}

TEST(MicroBatch, LongBatchGivesTheSameBitsAsShortOnes) {
  const auto m = load("llama-tok512-Q4_K_M.gguf");
  ASSERT_NE(m, nullptr);
  constexpr int32_t kTokens = 300;  // three slices: 128 + 128 + 44
  static_assert(kTokens > 2 * static_cast<int32_t>(Context::kMicroBatch));
  for (const bool embeddings : {false, true}) {
    auto whole = context(m, 1);
    Batch b;
    b.embeddings = embeddings;
    for (int32_t p = 0; p < kTokens; ++p) b.add(token_at(p), p, 0, p % 3 == 0 || p == kTokens - 1);
    const std::vector<float> got = run(*whole, b);

    auto pieces = context(m, 1);
    std::vector<float> want;
    for (int32_t p0 = 0; p0 < kTokens; p0 += 100) {  // each piece short enough to run whole
      Batch piece;
      piece.embeddings = embeddings;
      for (int32_t p = p0; p < std::min(kTokens, p0 + 100); ++p) piece.add(token_at(p), p, 0, p % 3 == 0 || p == kTokens - 1);
      const std::vector<float> out = run(*pieces, piece);
      want.insert(want.end(), out.begin(), out.end());
    }
    ASSERT_EQ(got.size(), want.size()) << "embeddings " << embeddings;
    EXPECT_EQ(got, want) << "embeddings " << embeddings;
  }
}

TEST(MicroBatch, InterleavedSequencesAreSlicedInOrder) {
  const auto m = load("qwen3-tok512-Q4_K_M.gguf");
  ASSERT_NE(m, nullptr);
  auto both = context(m, 2);
  Batch b;
  for (int32_t p = 0; p < 140; ++p)
    for (int32_t s = 0; s < 2; ++s) b.add(token_at(p + 1000 * s), p, s, true);
  const std::vector<float> got = run(*both, b);
  const auto V = static_cast<size_t>(m->hp.n_vocab);
  for (int32_t s = 0; s < 2; ++s) {
    auto alone = context(m, 1);
    Batch one;
    for (int32_t p = 0; p < 140; ++p) one.add(token_at(p + 1000 * s), p, 0, true);
    const std::vector<float> want = run(*alone, one);
    for (size_t p = 0; p < 140; ++p)
      for (size_t i = 0; i < V; ++i)
        ASSERT_EQ(got[(2 * p + static_cast<size_t>(s)) * V + i], want[p * V + i]) << "seq " << s << " pos " << p;
  }
}

TEST(MicroBatch, ABatchWhosePositionsFallIsRunWhole) {
  // Positions 150..299 come before 0..149 in the batch: a token at 150 must see the K/V of
  // positions 0..149 stored by the same pass, so this batch cannot be sliced.
  const auto m = load("llama-tok512-Q8_0.gguf");
  ASSERT_NE(m, nullptr);
  auto c = context(m, 1);
  Batch b;
  for (int32_t p = 150; p < 300; ++p) b.add(token_at(p), p, 0, true);
  for (int32_t p = 0; p < 150; ++p) b.add(token_at(p), p, 0, true);
  const std::vector<float> got = run(*c, b);

  auto ordered = context(m, 1);
  Batch first, second;
  for (int32_t p = 0; p < 150; ++p) first.add(token_at(p), p, 0, true);
  for (int32_t p = 150; p < 300; ++p) second.add(token_at(p), p, 0, true);
  const std::vector<float> a = run(*ordered, first), z = run(*ordered, second);
  std::vector<float> want(z);
  want.insert(want.end(), a.begin(), a.end());
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace corral
