// Model loading: hyper-parameters, tensor binding, and clear errors for every kind of bad file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <functional>
#include <random>

#include "gguf/gguf_writer.h"
#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

constexpr int64_t kEmbd = 32, kFf = 64, kVocab = 40, kHead = 4, kHeadKv = 2, kLayers = 2;

std::vector<uint8_t> random_f32(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.1f);
  std::vector<uint8_t> bytes(static_cast<size_t>(n) * 4);
  for (int64_t i = 0; i < n; ++i) {
    const float v = dist(rng);
    std::memcpy(&bytes[static_cast<size_t>(i) * 4], &v, 4);
  }
  return bytes;
}

struct Spec {
  std::string arch = "llama";
  std::function<bool(const std::string&)> skip = [](const std::string&) { return false; };
  std::function<std::vector<int64_t>(const std::string&, std::vector<int64_t>)> shape =
      [](const std::string&, std::vector<int64_t> s) { return s; };
  std::string iq_tensor;  // written with an unsupported type (q8_1)
  std::function<void(GgufWriter&)> keys = [](GgufWriter&) {};  // extra metadata
};

std::string build(const Spec& spec) {
  GgufWriter w;
  w.set_string("general.architecture", spec.arch);
  const std::string p = spec.arch + ".";
  w.set_u32(p + "embedding_length", kEmbd);
  w.set_u32(p + "block_count", kLayers);
  w.set_u32(p + "feed_forward_length", kFf);
  w.set_u32(p + "attention.head_count", kHead);
  w.set_u32(p + "attention.head_count_kv", kHeadKv);
  w.set_u32(p + "context_length", 64);
  w.set_f32(p + "attention.layer_norm_rms_epsilon", 1e-5f);
  spec.keys(w);
  uint32_t seed = 1;
  auto add = [&](const std::string& name, std::vector<int64_t> ne) {
    if (spec.skip(name)) return;
    ne = spec.shape(name, ne);
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    if (name == spec.iq_tensor) {
      ASSERT_TRUE(w.add_tensor(name, GgmlType::kQ8_1, ne, std::vector<uint8_t>(static_cast<size_t>(n / 32 * 36))).ok());
      return;
    }
    ASSERT_TRUE(w.add_tensor(name, GgmlType::kF32, ne, random_f32(n, seed++)).ok());
  };
  add("token_embd.weight", {kEmbd, kVocab});
  add("output_norm.weight", {kEmbd});
  add("output.weight", {kEmbd, kVocab});
  const int64_t hd = kEmbd / kHead;
  for (int64_t il = 0; il < kLayers; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    add(b + "attn_norm.weight", {kEmbd});
    add(b + "attn_q.weight", {kEmbd, kEmbd});
    add(b + "attn_k.weight", {kEmbd, hd * kHeadKv});
    add(b + "attn_v.weight", {kEmbd, hd * kHeadKv});
    add(b + "attn_output.weight", {kEmbd, kEmbd});
    add(b + "ffn_norm.weight", {kEmbd});
    add(b + "ffn_gate.weight", {kEmbd, kFf});
    add(b + "ffn_up.weight", {kEmbd, kFf});
    add(b + "ffn_down.weight", {kFf, kEmbd});
  }
  const std::string path = testing::TempDir() + "/model_" + std::to_string(std::hash<std::string>{}(
      spec.arch + spec.iq_tensor + std::to_string(reinterpret_cast<uintptr_t>(&spec)))) + ".gguf";
  EXPECT_TRUE(w.write(path).ok());
  return path;
}

// Loads the file build() wrote and removes it: the mapping keeps the bytes, /tmp keeps nothing.
Result<std::shared_ptr<Model>> load_built(const Spec& spec, std::string* path_out = nullptr) {
  const std::string path = build(spec);
  auto m = Model::load(path);
  std::remove(path.c_str());
  if (path_out) *path_out = path;
  return m;
}

std::string load_error(const Spec& spec) {
  std::string path;
  auto m = load_built(spec, &path);
  EXPECT_FALSE(m.ok());
  if (m.ok()) return "";
  EXPECT_NE(m.error().message.find(path), std::string::npos) << "error must name the file: " << m.error().message;
  return m.error().message;
}

TEST(ModelLoader, ValidModelLoadsAndRuns) {
  auto m = load_built(Spec{});
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)->hp.n_vocab, kVocab);
  EXPECT_EQ((*m)->hp.head_dim, kEmbd / kHead);
  EXPECT_FALSE((*m)->tied_embeddings);
  auto ctx = Context::create(*m, ContextParams{});
  ASSERT_TRUE(ctx.ok());
  Batch b;
  b.add(3, 0, 0, true);
  auto out = (*ctx)->forward(b);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->size(), static_cast<size_t>(kVocab));
  for (float v : *out) EXPECT_TRUE(std::isfinite(v));
}

TEST(ModelLoader, MissingOutputMeansTiedEmbeddings) {
  Spec s;
  s.skip = [](const std::string& n) { return n == "output.weight"; };
  auto m = load_built(s);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE((*m)->tied_embeddings);
}

// YaRN is read for any family: its factor, original context and attention factor; it leaves a
// lone first token alone (no rotation at position 0, one key) and changes later positions.
TEST(ModelLoader, YarnScalingIsReadForAnyFamilyAndApplied) {
  Spec yarn;
  yarn.keys = [](GgufWriter& w) {
    w.set_string("llama.rope.scaling.type", "yarn");
    w.set_f32("llama.rope.scaling.factor", 4.0f);
    w.set_u32("llama.rope.scaling.original_context_length", 16);
  };
  auto m = load_built(yarn);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)->hp.yarn.factor, 4.0);
  EXPECT_EQ((*m)->hp.yarn.orig_ctx, 16);
  EXPECT_EQ((*m)->hp.yarn.beta_fast, 32.0);
  EXPECT_EQ((*m)->hp.yarn.beta_slow, 1.0);
  EXPECT_FLOAT_EQ((*m)->hp.rope_attn_factor, static_cast<float>(1.0 + 0.1 * std::log(4.0)));
  auto plain = load_built(Spec{});
  ASSERT_TRUE(plain.ok());
  auto run = [](const std::shared_ptr<Model>& model) {
    auto ctx = Context::create(model, ContextParams{});
    EXPECT_TRUE(ctx.ok());
    Batch b;
    for (int32_t i = 0; i < 6; ++i) b.add(3 + i, i, 0, true);
    auto out = (*ctx)->forward(b);
    EXPECT_TRUE(out.ok());
    return std::vector<float>(out->begin(), out->end());
  };
  const std::vector<float> a = run(*m), b = run(*plain);
  for (size_t i = 0; i < static_cast<size_t>(kVocab); ++i) EXPECT_NEAR(a[i], b[i], 1e-5f) << i;
  double diff = 0;
  for (size_t i = 5 * static_cast<size_t>(kVocab); i < a.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
  EXPECT_GT(diff, 1e-5);  // small weights attend almost evenly: 4e-5 here, rounding is ~1e-7
  Spec bad = yarn;
  bad.keys = [](GgufWriter& w) {
    w.set_string("llama.rope.scaling.type", "yarn");
    w.set_f32("llama.rope.scaling.factor", 0.5f);
  };
  EXPECT_NE(load_error(bad).find("bad YaRN factor"), std::string::npos);
}

TEST(ModelLoader, UnknownArchitectureIsRefused) {
  Spec s;
  s.arch = "gpt2";
  const std::string e = load_error(s);
  EXPECT_NE(e.find("unsupported architecture 'gpt2'"), std::string::npos) << e;
}

TEST(ModelLoader, MissingTensorIsNamed) {
  Spec s;
  s.skip = [](const std::string& n) { return n == "blk.1.ffn_up.weight"; };
  const std::string e = load_error(s);
  EXPECT_NE(e.find("missing tensor 'blk.1.ffn_up.weight'"), std::string::npos) << e;
}

TEST(ModelLoader, MisShapedTensorIsNamedWithBothShapes) {
  Spec s;
  s.shape = [](const std::string& n, std::vector<int64_t> ne) {
    if (n == "blk.0.attn_k.weight") ne[1] = 24;
    return ne;
  };
  const std::string e = load_error(s);
  EXPECT_NE(e.find("'blk.0.attn_k.weight' has shape [32, 24], expected [32, 16]"), std::string::npos) << e;
}

TEST(ModelLoader, UnsupportedTypeIsNamed) {
  Spec s;
  s.iq_tensor = "blk.0.ffn_gate.weight";
  const std::string e = load_error(s);
  EXPECT_NE(e.find("'blk.0.ffn_gate.weight' has type q8_1"), std::string::npos) << e;
}

TEST(ModelLoader, ForwardRejectsOutOfRangeTokensAndPositions) {
  auto m = load_built(Spec{});
  ASSERT_TRUE(m.ok());
  ContextParams cp;
  cp.n_ctx = 4;
  auto ctx = Context::create(*m, cp);
  ASSERT_TRUE(ctx.ok());
  Batch bad_token;
  bad_token.add(static_cast<int32_t>(kVocab), 0, 0, true);
  auto r1 = (*ctx)->forward(bad_token);
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.error().message.find("outside the vocabulary"), std::string::npos);
  Batch bad_pos;
  bad_pos.add(1, 4, 0, true);
  auto r2 = (*ctx)->forward(bad_pos);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message.find("outside the context"), std::string::npos);
}

}  // namespace
}  // namespace corral
