// Numerical conformance against ../shared/conformance: float64 reference logits for every
// architecture and tensor type, for the batched prompt path and the one-token path alike.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "compare.h"
#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

using golden::argmax;
using golden::kl_divergence;

struct RefCase {
  std::vector<int32_t> prompt;
  std::vector<std::vector<double>> logits;  // per position
  std::vector<int32_t> greedy;
};

std::vector<RefCase> load_ref(const std::string& path) {
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in);
  std::vector<RefCase> cases;
  for (const auto& c : j["cases"]) {
    RefCase rc;
    rc.prompt = c["prompt"].get<std::vector<int32_t>>();
    for (const auto& p : c["positions"]) rc.logits.push_back(p["logits"].get<std::vector<double>>());
    rc.greedy = c["greedy"].get<std::vector<int32_t>>();
    cases.push_back(std::move(rc));
  }
  return cases;
}


struct Bounds {
  double max_kl;
  double margin;
};

Bounds bounds_for(const std::string& type) {
  if (type == "f32" || type == "F16") return {1e-5, 0.1};
  if (type == "BF16") return {5e-4, 0.1};
  return {5e-3, 0.25};
}

struct Param {
  std::string model;  // file name without .gguf under conformance/models (or ../models)
  std::string type;
};

std::string param_name(const testing::TestParamInfo<Param>& info) {
  std::string s = info.param.model;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

class Conformance : public testing::TestWithParam<Param> {};

TEST_P(Conformance, MatchesFloat64Reference) {
  const Param& p = GetParam();
  const bool stories = p.model == "stories260K";
  const std::string model_path = stories ? CORRAL_SHARED_DIR "/models/stories260K.gguf"
                                         : CORRAL_SHARED_DIR "/conformance/models/" + p.model + ".gguf";
  const std::string ref_path = CORRAL_SHARED_DIR "/conformance/ref/" + p.model + ".json";
  auto model = Model::load(model_path);
  ASSERT_TRUE(model.ok()) << model.error().message;
  const auto cases = load_ref(ref_path);
  const Bounds bounds = bounds_for(p.type);
  const size_t n_vocab = static_cast<size_t>((*model)->hp.n_vocab);

  ContextParams cp;
  cp.n_ctx = 256;
  auto batched_ctx = Context::create(*model, cp);
  auto single_ctx = Context::create(*model, cp);
  ASSERT_TRUE(batched_ctx.ok() && single_ctx.ok());

  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const RefCase& rc = cases[ci];
    const size_t n = rc.prompt.size();
    // Batched: the whole prompt in one call, logits at every position.
    Batch batch;
    for (size_t i = 0; i < n; ++i) batch.add(rc.prompt[i], static_cast<int32_t>(i), 0, true);
    auto out = (*batched_ctx)->forward(batch);
    ASSERT_TRUE(out.ok()) << out.error().message;
    std::vector<float> batched(out->begin(), out->end());
    // One token at a time.
    std::vector<float> single;
    for (size_t i = 0; i < n; ++i) {
      Batch one;
      one.add(rc.prompt[i], static_cast<int32_t>(i), 0, true);
      auto o = (*single_ctx)->forward(one);
      ASSERT_TRUE(o.ok()) << o.error().message;
      single.insert(single.end(), o->begin(), o->end());
    }
    for (const auto* path : {&batched, &single}) {
      double kl_sum = 0;
      for (size_t i = 0; i < n; ++i) {
        const float* row = path->data() + i * n_vocab;
        kl_sum += kl_divergence(rc.logits[i], row, n_vocab);
        std::vector<double> sorted = rc.logits[i];
        std::sort(sorted.begin(), sorted.end(), std::greater<>());
        if (sorted[0] - sorted[1] >= bounds.margin) {
          size_t ref_top = 0;
          for (size_t v = 1; v < n_vocab; ++v)
            if (rc.logits[i][v] > rc.logits[i][ref_top]) ref_top = v;
          EXPECT_EQ(argmax(row, n_vocab), ref_top) << "case " << ci << " position " << i
                                                   << (path == &batched ? " (batched)" : " (one-token)");
        }
      }
      const double mean_kl = kl_sum / static_cast<double>(n);
      EXPECT_LE(mean_kl, bounds.max_kl) << "case " << ci << (path == &batched ? " batched" : " one-token");
      char kl_text[32];
      std::snprintf(kl_text, sizeof kl_text, "%.3e", mean_kl);
      RecordProperty(std::string(path == &batched ? "mean_kl_batched_case" : "mean_kl_single_case") +
                         std::to_string(ci), kl_text);
    }
    // The two paths must agree with each other (same per-token arithmetic).
    double max_diff = 0;
    for (size_t i = 0; i < batched.size(); ++i)
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(batched[i] - single[i])));
    EXPECT_LE(max_diff, 1e-4) << "batched and one-token logits differ, case " << ci;

    // Greedy continuation must be identical for F32 files and stories260K.
    if (p.type == "f32") {
      int32_t pos = static_cast<int32_t>(n);
      std::vector<int32_t> got;
      size_t tok = argmax(single.data() + (n - 1) * n_vocab, n_vocab);
      while (got.size() < rc.greedy.size()) {
        got.push_back(static_cast<int32_t>(tok));
        Batch one;
        one.add(static_cast<int32_t>(tok), pos++, 0, true);
        auto o = (*single_ctx)->forward(one);
        ASSERT_TRUE(o.ok());
        tok = argmax(o->data(), n_vocab);
      }
      EXPECT_EQ(got, rc.greedy) << "greedy continuation differs, case " << ci;
    }
  }
}

std::vector<Param> all_params() {
  std::vector<Param> ps;
  for (const char* t : {"f32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K",
                        "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"})
    ps.push_back({std::string("llama-tok512-") + t, t});
  for (const char* arch : {"llama3", "qwen2", "qwen3"})
    for (const char* t : {"f32", "Q8_0", "Q4_K_M"}) ps.push_back({std::string(arch) + "-tok512-" + t, t});
  ps.push_back({"stories260K", "f32"});
  return ps;
}

INSTANTIATE_TEST_SUITE_P(AllFiles, Conformance, testing::ValuesIn(all_params()), param_name);

}  // namespace
}  // namespace corral
