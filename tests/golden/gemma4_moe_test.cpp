// Gemma 4's experts: the conformance bound against the float64 pass (f64_gemma4.cpp) holds for
// the generated MoE model (families_test.cpp checks it fully), and it fails when one routing
// rule is wrong — k - 1 experts, no per-expert scale, the router reading the experts' input
// instead of its own norm of the residual, or every expert running its neighbour's gate and up
// rows — so the bound can tell the rules apart. (Renormalising the k weights, or a softmax over
// the k instead of over all experts, cannot matter here: either multiplies every weight of a
// token by one factor, which the post-norm of the experts' sum removes; the test checks that
// too, so a change that made it matter would be seen.)
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "compare.h"
#include "f64_reference.h"
#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

const std::string kModel = std::string(CORRAL_FAMILY_MODEL_DIR) + "/gemma4moe-f32.gguf";

std::vector<int32_t> prompt() {
  std::vector<int32_t> t{1};
  for (int32_t i = 0; t.size() < 40; ++i) t.push_back((i * 53 + 7) % 500 + 3);
  return t;
}

// Mean KL per position of corral (after `mutate` changes its model) against the float64 pass.
double mean_kl(const std::function<void(Model&)>& mutate) {
  auto f64_model = Model::load(kModel);
  auto model = Model::load(kModel);
  EXPECT_TRUE(f64_model.ok() && model.ok());
  if (!f64_model.ok() || !model.ok()) return 1e9;
  mutate(**model);
  const std::vector<int32_t> tokens = prompt();
  const auto ref = f64ref::forward(**f64_model, tokens);
  ContextParams cp;
  cp.n_ctx = 128;
  cp.kv_type = KvType::kF32;
  auto ctx = Context::create(*model, cp);
  EXPECT_TRUE(ctx.ok());
  if (!ctx.ok()) return 1e9;
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], static_cast<int32_t>(i), 0, true);
  auto out = (*ctx)->forward(b);
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return 1e9;
  const auto n_vocab = static_cast<size_t>((*model)->hp.n_vocab);
  double sum = 0;
  for (size_t p = 0; p < tokens.size(); ++p) sum += golden::kl_divergence(ref[p], out->data() + p * n_vocab, n_vocab);
  return sum / static_cast<double>(tokens.size());
}

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}

constexpr double kF32Bound = 1e-5;  // ../shared/conformance/README.md, F32

TEST(Gemma4Experts, RoutingRulesAreEachNeeded) {
  const double exact = mean_kl([](Model& m) {
    ASSERT_GT(m.hp.n_expert, 0);
    for (const LayerWeights& L : m.layers) {
      ASSERT_NE(L.ffn_gate_up_exps.data, nullptr);  // the merged form
      ASSERT_NE(L.ffn_down_exps_s.data, nullptr);
    }
  });
  EXPECT_LE(exact, kF32Bound);
  RecordProperty("mean_kl_exact", sci(exact));

  const double fewer = mean_kl([](Model& m) { --m.hp.n_expert_used; });
  EXPECT_GT(fewer, kF32Bound) << "k - 1 experts";
  const double unnormalised = mean_kl([](Model& m) { m.hp.expert_weights_norm = false; });
  EXPECT_LE(unnormalised, kF32Bound) << "a common factor on the weights should cancel in post_ffw_norm_2";
  const double unscaled = mean_kl([](Model& m) {
    for (LayerWeights& L : m.layers) L.ffn_down_exps_s = TensorView{};
  });
  EXPECT_GT(unscaled, kF32Bound) << "no per-expert scale";
  const double router_on_branch = mean_kl([](Model& m) {
    for (LayerWeights& L : m.layers) L.ffn_gate_inp_s = TensorView{};
  });
  EXPECT_GT(router_on_branch, kF32Bound) << "router reading the experts' input";

  // Every expert runs the next expert's gate and up rows (the last runs the first's): a copy of
  // each layer's merged tensor with its experts rotated by one (F32, so rows are plain floats).
  std::vector<std::vector<uint8_t>> rotated;
  const double shifted = mean_kl([&rotated](Model& m) {
    for (LayerWeights& L : m.layers) {
      TensorView& t = L.ffn_gate_up_exps;
      const size_t expert_bytes = t.row_bytes * static_cast<size_t>(t.ne[1]);
      const auto X = static_cast<size_t>(t.ne[2]);
      auto& buf = rotated.emplace_back(expert_bytes * X);
      const auto* src = static_cast<const uint8_t*>(t.data);
      for (size_t e = 0; e < X; ++e) std::memcpy(buf.data() + e * expert_bytes, src + ((e + 1) % X) * expert_bytes, expert_bytes);
      t.data = buf.data();
    }
  });
  EXPECT_GT(shifted, kF32Bound) << "expert index off by one";
  RecordProperty("mean_kl_mutations",
                 sci(fewer) + " " + sci(unnormalised) + " " + sci(unscaled) + " " + sci(router_on_branch) + " " + sci(shifted));
}

}  // namespace
}  // namespace corral
