// Sliding-window layers (Gemma 2/3, Phi-3): their KV cache holds the window plus one
// micro-batch whatever the context size, slides as positions grow, and gives the same bits
// whether a prompt runs whole, in pieces or with other sequences; a continuation the window
// can no longer serve is refused, and reusable_prefix says in advance which ones those are.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf_writer.h"
#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

constexpr int64_t kEmbd = 64, kFf = 128, kVocab = 48, kHeadDim = 16, kLayers = 6, kWindow = 16;

// A Gemma 3-shaped model (five windowed layers, then a global one) with random F32 weights,
// parsed from memory.
std::shared_ptr<const Model> gemma3_model() {
  static std::string image;
  GgufWriter w;
  w.set_string("general.architecture", "gemma3");
  w.set_u32("gemma3.embedding_length", kEmbd);
  w.set_u32("gemma3.block_count", kLayers);
  w.set_u32("gemma3.feed_forward_length", kFf);
  w.set_u32("gemma3.attention.head_count", 4);
  w.set_u32("gemma3.attention.head_count_kv", 2);
  w.set_u32("gemma3.attention.key_length", kHeadDim);
  w.set_u32("gemma3.attention.value_length", kHeadDim);
  w.set_u32("gemma3.attention.sliding_window", kWindow);
  w.set_u32("gemma3.context_length", 32768);
  w.set_f32("gemma3.attention.layer_norm_rms_epsilon", 1e-6f);
  w.set_f32("gemma3.rope.freq_base", 1e6f);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 0.15f);
  auto add = [&](const std::string& name, std::vector<int64_t> ne, bool norm = false) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    std::vector<uint8_t> bytes(static_cast<size_t>(n) * 4);
    for (int64_t i = 0; i < n; ++i) {
      const float v = norm ? 1.0f + nd(rng) : nd(rng);
      std::memcpy(&bytes[static_cast<size_t>(i) * 4], &v, 4);
    }
    ASSERT_TRUE(w.add_tensor(name, GgmlType::kF32, ne, bytes).ok());
  };
  add("token_embd.weight", {kEmbd, kVocab});
  add("output_norm.weight", {kEmbd}, true);
  for (int64_t il = 0; il < kLayers; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    add(b + "attn_norm.weight", {kEmbd}, true);
    add(b + "attn_q.weight", {kEmbd, 4 * kHeadDim});
    add(b + "attn_k.weight", {kEmbd, 2 * kHeadDim});
    add(b + "attn_v.weight", {kEmbd, 2 * kHeadDim});
    add(b + "attn_q_norm.weight", {kHeadDim}, true);
    add(b + "attn_k_norm.weight", {kHeadDim}, true);
    add(b + "attn_output.weight", {4 * kHeadDim, kEmbd});
    add(b + "post_attention_norm.weight", {kEmbd}, true);
    add(b + "ffn_norm.weight", {kEmbd}, true);
    add(b + "ffn_gate.weight", {kEmbd, kFf});
    add(b + "ffn_up.weight", {kEmbd, kFf});
    add(b + "ffn_down.weight", {kFf, kEmbd});
    add(b + "post_ffw_norm.weight", {kEmbd}, true);
  }
  image = w.serialize();
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "gemma3-test");
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  if (!f.ok()) return nullptr;
  auto m = Model::from_gguf(*f);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return m.ok() ? *m : nullptr;
}

std::unique_ptr<Context> context(const std::shared_ptr<const Model>& m, int64_t n_ctx, int32_t n_seq = 1) {
  ContextParams p;
  p.n_ctx = n_ctx;
  p.n_seq = n_seq;
  auto c = Context::create(m, p);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? std::move(*c) : nullptr;
}

int32_t token_at(int32_t i) { return (i * 29 + 7) % static_cast<int32_t>(kVocab); }

std::vector<float> run(Context& c, const Batch& b) {
  auto out = c.forward(b);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
  return out.ok() ? std::vector<float>(out->begin(), out->end()) : std::vector<float>{};
}

// Positions [from, to) of sequence `seq` in one batch, logits for all.
Batch span(int32_t from, int32_t to, int32_t seq = 0, int32_t token_offset = 0) {
  Batch b;
  for (int32_t p = from; p < to; ++p) b.add(token_at(p + token_offset), p, seq, true);
  return b;
}

TEST(SlidingWindow, WindowLayersHoldOnlyTheWindowWhateverTheContext) {
  const auto m = gemma3_model();
  ASSERT_NE(m, nullptr);
  const auto kv_dim = static_cast<size_t>(m->hp.kv_dim());
  const size_t window_slots = kWindow + Context::kMicroBatch;
  for (const int64_t n_ctx : {int64_t{4096}, int64_t{16384}}) {
    auto c = context(m, n_ctx);
    ASSERT_NE(c, nullptr);
    // Five windowed layers of (window + one micro-batch) positions, one global layer of n_ctx.
    EXPECT_EQ(c->kv_elements(), 2 * kv_dim * (5 * window_slots + static_cast<size_t>(n_ctx))) << n_ctx;
  }
  // A context no longer than the window holds just that on every layer.
  auto small = context(m, 8);
  EXPECT_EQ(small->kv_elements(), 2 * kv_dim * 6 * 8);
}

TEST(SlidingWindow, WholePiecesAndOneTokenAgreeAcrossSlides) {
  const auto m = gemma3_model();
  ASSERT_NE(m, nullptr);
  constexpr int32_t kTokens = 400;  // the window buffers slide twice
  auto whole = context(m, 512);
  const std::vector<float> got = run(*whole, span(0, kTokens));
  auto pieces = context(m, 512);
  std::vector<float> want;
  for (int32_t p0 = 0; p0 < kTokens; p0 += 50) {
    const std::vector<float> out = run(*pieces, span(p0, p0 + 50));
    want.insert(want.end(), out.begin(), out.end());
  }
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(got, want);
  auto single = context(m, 512);
  double max_diff = 0;
  for (int32_t p = 0; p < kTokens; ++p) {
    const std::vector<float> out = run(*single, span(p, p + 1));
    for (size_t v = 0; v < out.size(); ++v)
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(out[v] - got[static_cast<size_t>(p) * kVocab + v])));
  }
  EXPECT_LE(max_diff, 1e-4);
}

TEST(SlidingWindow, InterleavedSequencesSlideIndependently) {
  const auto m = gemma3_model();
  ASSERT_NE(m, nullptr);
  auto both = context(m, 512, 2);
  Batch b;
  for (int32_t p = 0; p < 300; ++p)
    for (int32_t s = 0; s < 2; ++s) b.add(token_at(p + 1000 * s), p, s, true);
  const std::vector<float> got = run(*both, b);
  for (int32_t s = 0; s < 2; ++s) {
    auto alone = context(m, 512);
    const std::vector<float> want = run(*alone, span(0, 300, 0, 1000 * s));
    for (int32_t p = 0; p < 300; ++p)
      for (int32_t v = 0; v < kVocab; ++v)
        ASSERT_EQ(got[(static_cast<size_t>(p) * 2 + static_cast<size_t>(s)) * kVocab + static_cast<size_t>(v)],
                  want[static_cast<size_t>(p) * kVocab + static_cast<size_t>(v)])
            << "sequence " << s << " position " << p;
  }
}

TEST(SlidingWindow, ContinuationsThatTheWindowDroppedAreRefused) {
  const auto m = gemma3_model();
  ASSERT_NE(m, nullptr);
  constexpr int32_t kTokens = 300;
  auto fresh = context(m, 512);
  const std::vector<float> all = run(*fresh, span(0, kTokens));
  int n_reusable = 0, n_refused = 0;
  for (const int32_t n : {0, 20, 140, 150, 250, 290, 299}) {
    auto c = context(m, 512);
    for (int32_t p = 0; p < kTokens; ++p) run(*c, span(p, p + 1));  // one token at a time
    const int64_t reusable = c->reusable_prefix(0, n);
    ASSERT_TRUE(reusable == n || reusable == 0) << n;
    auto out = c->forward(span(n, kTokens));
    if (reusable == n) {
      ++n_reusable;
      ASSERT_TRUE(out.ok()) << "continuing at " << n << ": " << out.error().message;
      for (size_t i = 0; i < out->size(); ++i)
        ASSERT_NEAR((*out)[i], all[static_cast<size_t>(n) * kVocab + i], 1e-4) << "continuing at " << n;
    } else {
      ++n_refused;
      ASSERT_FALSE(out.ok()) << "continuing at " << n << " should need dropped positions";
      EXPECT_NE(out.error().message.find("dropped"), std::string::npos) << out.error().message;
    }
  }
  EXPECT_GT(n_reusable, 2);
  EXPECT_GT(n_refused, 2);
  // Starting the sequence over at 0 always works and forgets what was there.
  auto c = context(m, 512);
  run(*c, span(0, kTokens, 0, 7));
  EXPECT_EQ(run(*c, span(0, 60)), std::vector<float>(all.begin(), all.begin() + 60 * kVocab));
}

}  // namespace
}  // namespace corral
