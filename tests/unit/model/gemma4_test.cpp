// Gemma 4's layer shapes in the engine: windowed layers with their own head size, layers that
// share an earlier layer's KV cache (they hold none, and the context's KV size counts only the
// layers with their own), and per-layer embeddings. The shared layers' windows slide with
// their source's, so a prompt gives the same bits whole, in pieces and beside another sequence.
#include <gtest/gtest.h>

#include <algorithm>
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

constexpr int64_t kEmbd = 64, kFf = 96, kVocab = 40, kHead = 16, kHeadSwa = 8, kLayers = 7, kWindow = 6, kPle = 8;
constexpr int64_t kHeads = 4, kKvHeads = 2;
// windowed, windowed, global, windowed, global | shared: windowed, global
const bool kWindowed[kLayers] = {true, true, false, true, false, true, false};
constexpr int64_t kShared = 2;

std::shared_ptr<const Model> gemma4_model(int64_t shared = kShared) {
  static std::vector<std::string> images;
  GgufWriter w;
  const std::string a = "gemma4.";
  w.set_string("general.architecture", "gemma4");
  w.set_u32(a + "embedding_length", kEmbd);
  w.set_u32(a + "block_count", kLayers);
  w.set_u32(a + "feed_forward_length", kFf);
  w.set_u32(a + "attention.head_count", kHeads);
  w.set_u32(a + "attention.head_count_kv", kKvHeads);
  w.set_u32(a + "attention.key_length", kHead);
  w.set_u32(a + "attention.value_length", kHead);
  w.set_u32(a + "attention.key_length_swa", kHeadSwa);
  w.set_u32(a + "attention.value_length_swa", kHeadSwa);
  w.set_u32(a + "rope.dimension_count_swa", kHeadSwa);
  w.set_f32(a + "rope.freq_base_swa", 10000.0f);
  w.set_u32(a + "attention.sliding_window", kWindow);
  w.set_u32(a + "attention.shared_kv_layers", static_cast<uint32_t>(shared));
  w.set_u32(a + "embedding_length_per_layer_input", kPle);
  w.set_u32(a + "context_length", 4096);
  w.set_f32(a + "attention.layer_norm_rms_epsilon", 1e-6f);
  w.set_f32(a + "rope.freq_base", 1e6f);
  GgufArray pattern;
  pattern.elem_type = GgufValueType::kBool;
  for (bool b : kWindowed) pattern.ints.push_back(b ? 1 : 0);
  w.set_value(a + "attention.sliding_window_pattern", GgufValue{GgufValueType::kArray, pattern});
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 0.2f);
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
  add("per_layer_token_embd.weight", {kPle * kLayers, kVocab});
  add("per_layer_model_proj.weight", {kEmbd, kPle * kLayers});
  add("per_layer_proj_norm.weight", {kPle}, true);
  for (int64_t il = 0; il < kLayers; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    const int64_t hd = kWindowed[il] ? kHeadSwa : kHead;
    const bool own = il < kLayers - shared;
    add(b + "attn_norm.weight", {kEmbd}, true);
    add(b + "attn_q.weight", {kEmbd, kHeads * hd});
    if (own) {
      add(b + "attn_k.weight", {kEmbd, kKvHeads * hd});
      add(b + "attn_v.weight", {kEmbd, kKvHeads * hd});
      add(b + "attn_k_norm.weight", {hd}, true);
    }
    add(b + "attn_q_norm.weight", {hd}, true);
    add(b + "attn_output.weight", {kHeads * hd, kEmbd});
    add(b + "post_attention_norm.weight", {kEmbd}, true);
    add(b + "ffn_norm.weight", {kEmbd}, true);
    add(b + "ffn_gate.weight", {kEmbd, kFf});
    add(b + "ffn_up.weight", {kEmbd, kFf});
    add(b + "ffn_down.weight", {kFf, kEmbd});
    add(b + "post_ffw_norm.weight", {kEmbd}, true);
    add(b + "inp_gate.weight", {kEmbd, kPle});
    add(b + "proj.weight", {kPle, kEmbd});
    add(b + "post_norm.weight", {kEmbd}, true);
    add(b + "layer_output_scale.weight", {1}, true);
  }
  images.push_back(w.serialize());
  const std::string& image = images.back();
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "gemma4-test");
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
  p.kv_type = KvType::kF32;
  auto c = Context::create(m, p);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? std::move(*c) : nullptr;
}

std::vector<int32_t> prompt(size_t n) {
  std::vector<int32_t> t;
  for (size_t i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 7 + 3) % kVocab));
  return t;
}

// Logits of every token, fed in pieces of `piece` tokens.
std::vector<float> run(Context& c, const std::vector<int32_t>& tokens, size_t piece, int32_t seq = 0) {
  std::vector<float> out;
  for (size_t i = 0; i < tokens.size(); i += piece) {
    Batch b;
    for (size_t j = i; j < std::min(tokens.size(), i + piece); ++j) b.add(tokens[j], static_cast<int32_t>(j), seq, true);
    auto r = c.forward(b);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) return {};
    out.insert(out.end(), r->begin(), r->end());
  }
  return out;
}

TEST(Gemma4, LayerShapesFromMetadata) {
  auto m = gemma4_model();
  ASSERT_NE(m, nullptr);
  const HParams& h = m->hp;
  ASSERT_EQ(h.n_layer, kLayers);
  for (int64_t il = 0; il < kLayers; ++il) {
    const LayerShape& l = h.layers[static_cast<size_t>(il)];
    EXPECT_EQ(l.window, kWindowed[il] ? kWindow : 0) << il;
    EXPECT_EQ(h.head_dim_of(il), kWindowed[il] ? kHeadSwa : kHead) << il;
    EXPECT_EQ(h.n_rot_of(h.rope_sets[static_cast<size_t>(l.rope_set)]), kWindowed[il] ? kHeadSwa : kHead) << il;
  }
  // The shared layers read the last earlier layer of their kind with a cache: 3 and 4.
  EXPECT_EQ(h.layers[5].kv_from, 3);
  EXPECT_EQ(h.layers[6].kv_from, 4);
  for (int64_t il = 0; il < 5; ++il) EXPECT_EQ(h.layers[static_cast<size_t>(il)].kv_from, -1) << il;
  EXPECT_EQ(h.final_softcap, 30.0f);
  EXPECT_EQ(h.query_scale(), 1.0f);
  EXPECT_EQ(m->layers[5].wk.data, nullptr);
}

TEST(Gemma4, SharedLayersHoldNoCache) {
  auto m = gemma4_model();
  auto none = gemma4_model(0);
  ASSERT_NE(m, nullptr);
  ASSERT_NE(none, nullptr);
  const int64_t n_ctx = 256, n_seq = 2;
  const int64_t window_slots = std::min<int64_t>(n_ctx, kWindow + static_cast<int64_t>(Context::kMicroBatch));
  auto expected = [&](int64_t own_layers) {
    size_t e = 0;
    for (int64_t il = 0; il < own_layers; ++il)
      e += static_cast<size_t>((kWindowed[il] ? window_slots : n_ctx) * kKvHeads * (kWindowed[il] ? kHeadSwa : kHead) * n_seq);
    return 2 * e;
  };
  auto c = context(m, n_ctx, static_cast<int32_t>(n_seq));
  auto c_none = context(none, n_ctx, static_cast<int32_t>(n_seq));
  ASSERT_TRUE(c && c_none);
  EXPECT_EQ(c->kv_elements(), expected(kLayers - kShared));
  EXPECT_EQ(c_none->kv_elements(), expected(kLayers));
  EXPECT_LT(c->kv_elements(), c_none->kv_elements());
}

TEST(Gemma4, SameBitsWholeInPiecesAndBesideAnotherSequence) {
  auto m = gemma4_model();
  ASSERT_NE(m, nullptr);
  const auto tokens = prompt(40);  // well past the window of 6
  auto whole = context(m, 128);
  auto pieces = context(m, 128);
  auto one = context(m, 128);
  ASSERT_TRUE(whole && pieces && one);
  const auto a = run(*whole, tokens, tokens.size());
  const auto b = run(*pieces, tokens, 5);
  const auto c = run(*one, tokens, 1);
  ASSERT_EQ(a.size(), tokens.size() * static_cast<size_t>(kVocab));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  // Interleaved with another sequence in the same batches.
  auto two = context(m, 128, 2);
  ASSERT_TRUE(two);
  const auto other = prompt(40);
  std::vector<float> mine;
  for (size_t i = 0; i < tokens.size(); i += 4) {
    Batch bt;
    for (size_t j = i; j < std::min(tokens.size(), i + 4); ++j) {
      bt.add(other[(j * 3) % other.size()], static_cast<int32_t>(j), 1, false);
      bt.add(tokens[j], static_cast<int32_t>(j), 0, true);
    }
    auto r = two->forward(bt);
    ASSERT_TRUE(r.ok()) << r.error().message;
    mine.insert(mine.end(), r->begin(), r->end());
  }
  EXPECT_EQ(a, mine);
}

}  // namespace
}  // namespace corral
