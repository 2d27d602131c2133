// The shared expert of qwen35moe's mixture of experts (moe.cpp, LayerPass::shared_expert):
// - a one-layer qwen35moe model (full attention only: full_attention_interval 1) whose router
//   gives every expert the same logit and whose shared-expert gate is zero must equal a dense
//   qwen35 layer whose feed-forward is experts 0..k-1 and the shared expert side by side, the
//   experts' down columns scaled by 1/k (renormalised routing weights) and the shared expert's
//   by sigmoid(0) = 1/2; dropping the shared expert, its gate, or a wrong width breaks it;
// - with random weights everywhere, a prompt batched and one token at a time gives the same
//   bits, and the shared expert's gate matters (a file with a different gate vector differs).
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

namespace corral {
namespace {

constexpr int64_t kEmbd = 64, kFf = 32, kShared = 48, kVocab = 40, kHeadDim = 16, kExperts = 5, kUsed = 2;

enum class Kind { kMoe, kDense };

// One layer, F32. kMoe: qwen35moe with kExperts experts of width kFf and a shared expert of
// width kShared; the router and the shared gate are zero when `zero`. kDense: qwen35 whose
// feed-forward is the first kUsed experts then the shared expert, down scaled as above. Every
// other tensor comes from the same stream in both.
std::shared_ptr<const Model> make_model(Kind kind, bool zero, uint32_t gate_seed, std::string& image,
                                        std::string* load_error = nullptr) {
  const bool moe = kind == Kind::kMoe;
  const std::string arch = moe ? "qwen35moe" : "qwen35";
  const std::string a = arch + ".";
  const int64_t dense_ff = kUsed * kFf + kShared;
  GgufWriter w;
  w.set_string("general.architecture", arch);
  w.set_u32(a + "embedding_length", kEmbd);
  w.set_u32(a + "block_count", 1);
  w.set_u32(a + "feed_forward_length", moe ? 4 * kFf : dense_ff);
  w.set_u32(a + "attention.head_count", 4);
  w.set_u32(a + "attention.head_count_kv", 2);
  w.set_u32(a + "attention.key_length", kHeadDim);
  w.set_u32(a + "attention.value_length", kHeadDim);
  w.set_f32(a + "attention.layer_norm_rms_epsilon", 1e-6f);
  w.set_u32(a + "full_attention_interval", 1);  // no Gated DeltaNet layer
  w.set_u32(a + "ssm.conv_kernel", 4);
  w.set_u32(a + "ssm.state_size", 16);
  w.set_u32(a + "ssm.group_count", 1);
  w.set_u32(a + "ssm.time_step_rank", 1);
  w.set_u32(a + "ssm.inner_size", 16);
  if (moe) {
    w.set_u32(a + "expert_count", kExperts);
    w.set_u32(a + "expert_used_count", kUsed);
    w.set_u32(a + "expert_feed_forward_length", kFf);
    w.set_u32(a + "expert_shared_feed_forward_length", kShared);
  }
  std::mt19937 rng(5);
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
  add("blk.0.attn_q.weight", {kEmbd, 2 * 4 * kHeadDim}, values(kEmbd * 8 * kHeadDim, false));
  add("blk.0.attn_k.weight", {kEmbd, 2 * kHeadDim}, values(kEmbd * 2 * kHeadDim, false));
  add("blk.0.attn_v.weight", {kEmbd, 2 * kHeadDim}, values(kEmbd * 2 * kHeadDim, false));
  add("blk.0.attn_q_norm.weight", {kHeadDim}, values(kHeadDim, true));
  add("blk.0.attn_k_norm.weight", {kHeadDim}, values(kHeadDim, true));
  add("blk.0.attn_output.weight", {4 * kHeadDim, kEmbd}, values(4 * kHeadDim * kEmbd, false));
  add("blk.0.post_attention_norm.weight", {kEmbd}, values(kEmbd, true));
  const std::vector<float> gate = values(kExperts * kFf * kEmbd, false);
  const std::vector<float> up = values(kExperts * kFf * kEmbd, false);
  const std::vector<float> down = values(kExperts * kEmbd * kFf, false);  // [e][n_embd rows][kFf]
  const std::vector<float> sh_gate = values(kShared * kEmbd, false), sh_up = values(kShared * kEmbd, false);
  const std::vector<float> sh_down = values(kEmbd * kShared, false);
  std::vector<float> router = values(kExperts * kEmbd, false);
  for (float& r : router) r = zero ? 0.0f : 10.0f * r;  // wide margins between the picked and the rest
  std::mt19937 grng(gate_seed);
  std::vector<float> sh_inp(static_cast<size_t>(kEmbd));
  for (float& g : sh_inp) g = zero ? 0.0f : nd(grng) * 4.0f;
  if (moe) {
    add("blk.0.ffn_gate_inp.weight", {kEmbd, kExperts}, router);
    add("blk.0.ffn_gate_exps.weight", {kEmbd, kFf, kExperts}, gate);
    add("blk.0.ffn_up_exps.weight", {kEmbd, kFf, kExperts}, up);
    add("blk.0.ffn_down_exps.weight", {kFf, kEmbd, kExperts}, down);
    if (load_error == nullptr) add("blk.0.ffn_gate_inp_shexp.weight", {kEmbd}, sh_inp);  // else left out
    add("blk.0.ffn_gate_shexp.weight", {kEmbd, kShared}, sh_gate);
    add("blk.0.ffn_up_shexp.weight", {kEmbd, kShared}, sh_up);
    add("blk.0.ffn_down_shexp.weight", {kShared, kEmbd}, sh_down);
  } else {
    // Gate and up: the first kUsed experts' rows, then the shared expert's.
    auto stack = [&](const std::vector<float>& experts, const std::vector<float>& shared) {
      std::vector<float> v(experts.begin(), experts.begin() + kUsed * kFf * kEmbd);
      v.insert(v.end(), shared.begin(), shared.end());
      return v;
    };
    add("blk.0.ffn_gate.weight", {kEmbd, dense_ff}, stack(gate, sh_gate));
    add("blk.0.ffn_up.weight", {kEmbd, dense_ff}, stack(up, sh_up));
    // Dense down row r: [expert 0's row r / k | ... | the shared expert's row r / 2].
    std::vector<float> d(static_cast<size_t>(kEmbd * dense_ff));
    for (int64_t r = 0; r < kEmbd; ++r) {
      float* row = &d[static_cast<size_t>(r * dense_ff)];
      for (int64_t e = 0; e < kUsed; ++e)
        for (int64_t i = 0; i < kFf; ++i) row[e * kFf + i] = down[static_cast<size_t>((e * kEmbd + r) * kFf + i)] / kUsed;
      for (int64_t i = 0; i < kShared; ++i) row[kUsed * kFf + i] = sh_down[static_cast<size_t>(r * kShared + i)] * 0.5f;
    }
    add("blk.0.ffn_down.weight", {dense_ff, kEmbd}, d);
  }
  add("output.weight", {kEmbd, kVocab}, values(kEmbd * kVocab, false));
  image = w.serialize();
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "shared-expert-test");
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  if (!f.ok()) return nullptr;
  auto m = Model::from_gguf(*f);
  if (load_error != nullptr) {
    *load_error = m.ok() ? "" : m.error().message;
    return m.ok() ? *m : nullptr;
  }
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

const std::vector<int32_t> kTokens = {1, 7, 30, 2, 35, 12, 12, 3, 19, 39, 8, 22};

TEST(SharedExpert, ZeroRouterAndGateEqualTheFirstKExpertsAndHalfTheSharedOneAsOneDenseLayer) {
  std::string moe_image, dense_image;
  const auto moe = make_model(Kind::kMoe, true, 1, moe_image);
  const auto dense = make_model(Kind::kDense, true, 1, dense_image);
  ASSERT_NE(moe, nullptr);
  ASSERT_NE(dense, nullptr);
  EXPECT_EQ(moe->hp.n_ff_shexp, kShared);
  for (const bool whole : {true, false}) {
    const std::vector<float> got = run(moe, kTokens, whole), want = run(dense, kTokens, whole);
    ASSERT_EQ(got.size(), want.size());
    double max_diff = 0;
    for (size_t i = 0; i < got.size(); ++i) max_diff = std::max(max_diff, static_cast<double>(std::fabs(got[i] - want[i])));
    EXPECT_LE(max_diff, 1e-4) << (whole ? "batched" : "one token at a time");
  }
}

TEST(SharedExpert, BatchedAndOneTokenGiveTheSameBitsAndTheGateMatters) {
  std::string image, other_image;
  const auto m = make_model(Kind::kMoe, false, 1, image);
  const auto other_gate = make_model(Kind::kMoe, false, 2, other_image);
  ASSERT_NE(m, nullptr);
  ASSERT_NE(other_gate, nullptr);
  const std::vector<float> whole = run(m, kTokens, true), single = run(m, kTokens, false);
  ASSERT_EQ(whole, single);
  const std::vector<float> regated = run(other_gate, kTokens, true);
  ASSERT_EQ(regated.size(), whole.size());
  double max_diff = 0;
  for (size_t i = 0; i < whole.size(); ++i) max_diff = std::max(max_diff, static_cast<double>(std::fabs(whole[i] - regated[i])));
  EXPECT_GT(max_diff, 1e-2) << "the shared expert's gate changed nothing";
}

TEST(SharedExpert, AFileWithoutTheSharedExpertsGateIsRefused) {
  // The reference engine requires the shared expert and its gate in qwen35moe files; so does corral.
  std::string image, error;
  const auto m = make_model(Kind::kMoe, false, 1, image, &error);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(error.find("ffn_gate_inp_shexp"), std::string::npos) << error;
}

}  // namespace
}  // namespace corral
