// Mixture-of-experts routing and the expert block (moe.h, moe.cpp).
// - route_experts: the k largest of the softmax, by rank, ties to the lower index, weights
//   renormalised or not;
// - the block: a qwen3moe layer whose router gives every expert the same logit (a zero router)
//   must pick experts 0..k-1 with weight 1/k each, which is exactly a dense SwiGLU layer whose
//   feed-forward is those k experts side by side with the down projection scaled by 1/k; a
//   wrong k, a missing renormalisation or a wrong expert's rows all break the equality;
// - with a random router, a prompt batched, one token at a time and behind another sequence's
//   tokens gives the same bits (the expert grouping must not change a token's result).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf_writer.h"
#include "model/context.h"
#include "model/model.h"
#include "model/moe.h"

namespace corral {
namespace {

std::vector<double> softmax(const std::vector<float>& l) {
  double mx = l[0], s = 0;
  for (float v : l) mx = std::max(mx, static_cast<double>(v));
  std::vector<double> p(l.size());
  for (size_t i = 0; i < l.size(); ++i) s += (p[i] = std::exp(l[i] - mx));
  for (double& v : p) v /= s;
  return p;
}

TEST(MoeRouting, PicksTheKLargestByRankAndRenormalises) {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.25f, 3.0f, 0.0f, 1.5f, -0.5f};
  const std::vector<double> p = softmax(logits);
  int32_t experts[3];
  float weights[3];
  route_experts(logits.data(), 8, 3, true, experts, weights);
  EXPECT_EQ(experts[0], 4);
  EXPECT_EQ(experts[1], 1);
  EXPECT_EQ(experts[2], 6);
  const double sum = p[4] + p[1] + p[6];
  EXPECT_NEAR(weights[0], p[4] / sum, 1e-6);
  EXPECT_NEAR(weights[1], p[1] / sum, 1e-6);
  EXPECT_NEAR(weights[2], p[6] / sum, 1e-6);
  EXPECT_NEAR(weights[0] + weights[1] + weights[2], 1.0, 1e-6);

  route_experts(logits.data(), 8, 3, false, experts, weights);  // the softmax's own values
  EXPECT_EQ(experts[2], 6);
  EXPECT_NEAR(weights[0], p[4], 1e-6);
  EXPECT_NEAR(weights[1], p[1], 1e-6);
  EXPECT_NEAR(weights[2], p[6], 1e-6);

  int32_t one[1];
  float w1[1];
  route_experts(logits.data(), 8, 1, true, one, w1);
  EXPECT_EQ(one[0], 4);
  EXPECT_FLOAT_EQ(w1[0], 1.0f);
}

TEST(MoeRouting, TiesGoToTheLowerIndexAndLargeLogitsStayFinite) {
  const std::vector<float> logits = {1.0f, 7.0f, 1.0f, 7.0f, 800.0f, -900.0f};
  int32_t experts[4];
  float weights[4];
  route_experts(logits.data(), 6, 4, true, experts, weights);
  EXPECT_EQ(experts[0], 4);
  EXPECT_EQ(experts[1], 1);
  EXPECT_EQ(experts[2], 3);
  EXPECT_EQ(experts[3], 0);
  EXPECT_FLOAT_EQ(weights[0], 1.0f);
  for (float w : weights) EXPECT_TRUE(std::isfinite(w));
}

// gpt-oss: the k largest logits, then a softmax over those k alone. A wrong k, a softmax over
// all experts (the weights would sum to less than 1) or a wrong index all show.
TEST(MoeRouting, GptOssSoftmaxOverTheTopKLogits) {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.25f, 3.0f, 0.0f, 1.5f, -0.5f};
  int32_t experts[4];
  float weights[4];
  route_experts_topk_softmax(logits.data(), 8, 4, experts, weights);
  const int32_t want[4] = {4, 1, 6, 3};
  double z = 0;
  for (int32_t e : want) z += std::exp(static_cast<double>(logits[static_cast<size_t>(e)]) - 3.0);
  double sum = 0;
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(experts[r], want[r]) << r;
    EXPECT_NEAR(weights[r], std::exp(logits[static_cast<size_t>(want[r])] - 3.0) / z, 1e-6) << r;
    sum += weights[r];
  }
  EXPECT_NEAR(sum, 1.0, 1e-6);
  // The same weights as a softmax over all experts renormalised over the k picked.
  int32_t e2[4];
  float w2[4];
  route_experts(logits.data(), 8, 4, true, e2, w2);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(e2[r], experts[r]);
    EXPECT_NEAR(w2[r], weights[r], 1e-6);
  }
  // k = 1: weight 1; ties go to the lower index; huge logits stay finite.
  const std::vector<float> tied = {1e30f, 5.0f, 1e30f};
  route_experts_topk_softmax(tied.data(), 3, 2, experts, weights);
  EXPECT_EQ(experts[0], 0);
  EXPECT_EQ(experts[1], 2);
  EXPECT_FLOAT_EQ(weights[0], 0.5f);
  route_experts_topk_softmax(logits.data(), 8, 1, experts, weights);
  EXPECT_EQ(experts[0], 4);
  EXPECT_EQ(weights[0], 1.0f);
}

TEST(MoeRouting, ExpertMatrixIsThatExpertsRows) {
  TensorView t;
  std::vector<float> data(4 * 3 * 5);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  t.data = data.data();
  t.ne[0] = 4, t.ne[1] = 3, t.ne[2] = 5;
  t.row_bytes = 16;
  const TensorView e = expert_matrix(t, 2);
  EXPECT_EQ(e.n_rows(), 3);
  EXPECT_EQ(e.ne[0], 4);
  EXPECT_EQ(static_cast<const float*>(e.data)[0], 24.0f);  // row 6 = expert 2's first
}

constexpr int64_t kEmbd = 64, kFf = 32, kVocab = 48, kHeadDim = 16, kExperts = 6, kUsed = 3;

// One layer, F32. moe: qwen3moe with kExperts experts of width kFf; the router is zero or
// random. dense: qwen3 with the first kUsed experts side by side (width kUsed * kFf) and their
// down rows scaled by 1/kUsed. Both draw every other tensor from the same stream.
std::shared_ptr<const Model> make_model(bool moe, bool zero_router, std::string& image) {
  const std::string a = moe ? "qwen3moe." : "qwen3.";
  GgufWriter w;
  w.set_string("general.architecture", moe ? "qwen3moe" : "qwen3");
  w.set_u32(a + "embedding_length", kEmbd);
  w.set_u32(a + "block_count", 1);
  w.set_u32(a + "feed_forward_length", moe ? 4 * kFf : kUsed * kFf);
  w.set_u32(a + "attention.head_count", 4);
  w.set_u32(a + "attention.head_count_kv", 2);
  w.set_u32(a + "attention.key_length", kHeadDim);
  w.set_u32(a + "attention.value_length", kHeadDim);
  w.set_f32(a + "attention.layer_norm_rms_epsilon", 1e-6f);
  if (moe) {
    w.set_u32(a + "expert_count", kExperts);
    w.set_u32(a + "expert_used_count", kUsed);
    w.set_u32(a + "expert_feed_forward_length", kFf);
  }
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 0.2f);
  auto values = [&](int64_t n, bool norm) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = norm ? 1.0f + nd(rng) : nd(rng);
    return v;
  };
  auto add = [&](const std::string& name, std::vector<int64_t> ne, const std::vector<float>& v) {
    std::vector<uint8_t> bytes(v.size() * 4);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    ASSERT_TRUE(w.add_tensor(name, GgmlType::kF32, ne, bytes).ok());
  };
  add("token_embd.weight", {kEmbd, kVocab}, values(kEmbd * kVocab, false));
  add("output_norm.weight", {kEmbd}, values(kEmbd, true));
  add("blk.0.attn_norm.weight", {kEmbd}, values(kEmbd, true));
  add("blk.0.attn_q.weight", {kEmbd, 4 * kHeadDim}, values(kEmbd * 4 * kHeadDim, false));
  add("blk.0.attn_k.weight", {kEmbd, 2 * kHeadDim}, values(kEmbd * 2 * kHeadDim, false));
  add("blk.0.attn_v.weight", {kEmbd, 2 * kHeadDim}, values(kEmbd * 2 * kHeadDim, false));
  add("blk.0.attn_q_norm.weight", {kHeadDim}, values(kHeadDim, true));
  add("blk.0.attn_k_norm.weight", {kHeadDim}, values(kHeadDim, true));
  add("blk.0.attn_output.weight", {4 * kHeadDim, kEmbd}, values(4 * kHeadDim * kEmbd, false));
  add("blk.0.ffn_norm.weight", {kEmbd}, values(kEmbd, true));
  // Experts: gate and up rows [e * kFf, (e + 1) * kFf); down [e][n_embd rows][kFf].
  const std::vector<float> gate = values(kExperts * kFf * kEmbd, false);
  const std::vector<float> up = values(kExperts * kFf * kEmbd, false);
  const std::vector<float> down = values(kExperts * kEmbd * kFf, false);
  if (moe) {
    std::vector<float> router = values(kExperts * kEmbd, false);
    if (zero_router) router.assign(router.size(), 0.0f);
    for (float& r : router) r *= 10.0f;  // wide margins between the picked and the rest
    add("blk.0.ffn_gate_inp.weight", {kEmbd, kExperts}, router);
    add("blk.0.ffn_gate_exps.weight", {kEmbd, kFf, kExperts}, gate);
    add("blk.0.ffn_up_exps.weight", {kEmbd, kFf, kExperts}, up);
    add("blk.0.ffn_down_exps.weight", {kFf, kEmbd, kExperts}, down);
  } else {
    (void)values(kExperts * kEmbd, false);  // the router's draws, to stay in step
    const int64_t F = kUsed * kFf;
    add("blk.0.ffn_gate.weight", {kEmbd, F}, std::vector<float>(gate.begin(), gate.begin() + F * kEmbd));
    add("blk.0.ffn_up.weight", {kEmbd, F}, std::vector<float>(up.begin(), up.begin() + F * kEmbd));
    // Dense down row r is [expert 0's row r | expert 1's row r | ...] / kUsed.
    std::vector<float> d(static_cast<size_t>(kEmbd * F));
    for (int64_t r = 0; r < kEmbd; ++r)
      for (int64_t e = 0; e < kUsed; ++e)
        for (int64_t i = 0; i < kFf; ++i)
          d[static_cast<size_t>(r * F + e * kFf + i)] = down[static_cast<size_t>((e * kEmbd + r) * kFf + i)] / kUsed;
    add("blk.0.ffn_down.weight", {F, kEmbd}, d);
  }
  add("output.weight", {kEmbd, kVocab}, values(kEmbd * kVocab, false));
  image = w.serialize();
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "moe-test");
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  if (!f.ok()) return nullptr;
  auto m = Model::from_gguf(*f);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return m.ok() ? *m : nullptr;
}

// Logits of `tokens` at positions 0.., batched (whole) or one token at a time.
std::vector<float> run(const std::shared_ptr<const Model>& m, const std::vector<int32_t>& tokens, bool whole) {
  ContextParams p;
  p.n_ctx = 64;
  p.kv_type = KvType::kF32;
  auto c = Context::create(m, p);
  EXPECT_TRUE(c.ok());
  std::vector<float> out;
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) {
    b.add(tokens[i], static_cast<int32_t>(i), 0, true);
    if (whole && i + 1 < tokens.size()) continue;
    auto r = (*c)->forward(b);
    EXPECT_TRUE(r.ok());
    out.insert(out.end(), r->begin(), r->end());
    b.clear();
  }
  return out;
}

const std::vector<int32_t> kTokens = {1, 7, 30, 2, 45, 12, 12, 3, 19, 40, 8, 22};

TEST(MoeBlock, ZeroRouterEqualsTheFirstKExpertsAsOneDenseLayer) {
  std::string moe_image, dense_image;
  const auto moe = make_model(true, true, moe_image);
  const auto dense = make_model(false, false, dense_image);
  ASSERT_NE(moe, nullptr);
  ASSERT_NE(dense, nullptr);
  for (const bool whole : {true, false}) {
    const std::vector<float> got = run(moe, kTokens, whole), want = run(dense, kTokens, whole);
    ASSERT_EQ(got.size(), want.size());
    double max_diff = 0;
    for (size_t i = 0; i < got.size(); ++i) max_diff = std::max(max_diff, static_cast<double>(std::fabs(got[i] - want[i])));
    EXPECT_LE(max_diff, 1e-4) << (whole ? "batched" : "one token at a time");
  }
}

TEST(MoeBlock, BatchedOneTokenAndMixedBatchesGiveTheSameBits) {
  std::string image;
  const auto m = make_model(true, false, image);
  ASSERT_NE(m, nullptr);
  const std::vector<float> whole = run(m, kTokens, true), single = run(m, kTokens, false);
  ASSERT_EQ(whole, single);
  // The same prompt as sequence 1 behind other tokens of sequence 0 in every batch.
  ContextParams p;
  p.n_ctx = 64;
  p.n_seq = 2;
  p.kv_type = KvType::kF32;
  auto c = Context::create(m, p);
  ASSERT_TRUE(c.ok());
  Batch b;
  for (int32_t i = 0; i < 5; ++i) b.add(static_cast<int32_t>((i * 13 + 5) % kVocab), i, 0, false);
  for (size_t i = 0; i < kTokens.size(); ++i) b.add(kTokens[i], static_cast<int32_t>(i), 1, true);
  auto r = (*c)->forward(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::vector<float>(r->begin(), r->end()), whole);
}

}  // namespace
}  // namespace corral
