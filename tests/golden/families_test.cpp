// Conformance of the families beyond ../shared/conformance (gemma3, gemma2, smollm3, phi3 with
// LongRoPE short and long, the mixtures of experts qwen3moe, Mixtral-style llama and gpt-oss, the
// hybrid qwen35 with Gated DeltaNet layers and its MoE variant qwen35moe, gemma4 with its mixed
// head sizes, shared-KV layers and per-layer embeddings, and with experts) on the random-weight models
// make_test_model writes at build time (testdata/families/README.md), against two references:
// - the float64 forward pass of these tests (f64_reference.h), with the conformance bounds of
//   ../shared/conformance/README.md, batched and one token at a time;
// - a reference engine's logits on the same files (testdata/families/*.json: top-10 logits and
//   log-sum-exp per position, batched and one token at a time, and a greedy continuation),
//   which must agree with the float64 pass too, so each reference checks the other.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "f64_reference.h"
#include "compare.h"
#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

using golden::argmax;
using golden::kl_divergence;
using golden::log_sum_exp;

struct EnginePos {
  double lse = 0;
  std::vector<std::pair<int32_t, double>> top;  // largest first
};

struct EngineCase {
  std::vector<int32_t> prompt;
  std::vector<EnginePos> batched, one_token;
  std::vector<int32_t> greedy;
};

std::vector<EnginePos> parse_positions(const nlohmann::json& j) {
  std::vector<EnginePos> out;
  for (const auto& p : j) {
    EnginePos e;
    e.lse = p["lse"].get<double>();
    for (const auto& t : p["top"]) e.top.emplace_back(t[0].get<int32_t>(), t[1].get<double>());
    out.push_back(std::move(e));
  }
  return out;
}


std::string kl_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}


struct Bounds {
  double max_kl;      // mean KL per case against the float64 pass
  double margin;      // same top-1 wherever the reference's margin is at least this
  double engine_lp;   // |log-probability| difference of the engine's top tokens from float64
  double engine_margin;  // corral's top-1 is the engine's wherever the engine's margin is at least this
};

Bounds bounds_for(const std::string& family, const std::string& type) {
  if (type == "f32") return {1e-5, 0.1, 0.02, 0.1};
  // qwen35: the per-head RMS norms of the DeltaNet outputs (small vectors in the first tokens
  // of a sequence) magnify the rounding of an engine that quantizes activations to 8 bits; the
  // reference engine lands up to 0.28 from float64 on Q4_K_M (corral: mean KL <= 3.8e-3, inside
  // the bound). Its top-1 is compared only where its margin exceeds its own error twice over.
  if (family == "qwen35") return {5e-3, 0.25, 0.35, 0.7};
  // gemma4arr: one KV head on the global layers concentrates the rounding of the engine's F16
  // flash attention and 8-bit activations (dense gemma4 lands up to 0.19 from float64 on Q8_0,
  // gemma4arr 0.29; on F32 within 0.009), so the same allowance as qwen35 for the engine.
  if (family == "gemma4arr") return {5e-3, 0.25, 0.35, 0.7};
  return {5e-3, 0.25, 0.25, 0.25};
}

struct Param {
  std::string family;
  std::string type;
};

void PrintTo(const Param& p, std::ostream* os) { *os << p.family << "-" << p.type; }

class Families : public testing::TestWithParam<Param> {};

TEST_P(Families, MatchFloat64AndReferenceEngine) {
  const Param& p = GetParam();
  const std::string name = p.family + "-" + p.type;
  const std::string model_path = std::string(CORRAL_FAMILY_MODEL_DIR) + "/" + name + ".gguf";
  const std::string data_path = std::string(CORRAL_SOURCE_DIR) + "/tests/golden/testdata/families/" + name + ".json";
  std::ifstream in(data_path);
  ASSERT_TRUE(in) << "missing " << data_path;
  const nlohmann::json data = nlohmann::json::parse(in);
  auto digest = sha256_file_hex(model_path);
  ASSERT_TRUE(digest.ok()) << digest.error().message;
  ASSERT_EQ(*digest, data["model_sha256"].get<std::string>())
      << model_path << " is not the file the references were made on: make_test_model changed; "
      << "regenerate testdata/families (see its README)";
  auto model = Model::load(model_path);
  ASSERT_TRUE(model.ok()) << model.error().message;
  // The float64 pass reads the weights as the file has them: its own instance, which corral's
  // first forward pass never repacks.
  auto f64_model = Model::load(model_path);
  ASSERT_TRUE(f64_model.ok()) << f64_model.error().message;
  const auto n_vocab = static_cast<size_t>((*model)->hp.n_vocab);
  const Bounds bounds = bounds_for(p.family, p.type);

  ContextParams cp;
  cp.n_ctx = 256;
  for (size_t ci = 0; ci < data["cases"].size(); ++ci) {
    const auto& jc = data["cases"][ci];
    EngineCase ec;
    ec.prompt = jc["prompt"].get<std::vector<int32_t>>();
    ec.batched = parse_positions(jc["batched"]);
    ec.one_token = parse_positions(jc["one_token"]);
    ec.greedy = jc["greedy"].get<std::vector<int32_t>>();
    const size_t n = ec.prompt.size();
    ASSERT_EQ(ec.batched.size(), n);
    ASSERT_EQ(ec.one_token.size(), n);
    const size_t n_greedy = p.type == "f32" ? ec.greedy.size() : 0;
    std::vector<int32_t> f64_greedy;
    const auto ref = f64ref::forward(**f64_model, ec.prompt, n_greedy, &f64_greedy);

    // corral, batched and one token at a time, each in a fresh context.
    auto batched_ctx = Context::create(*model, cp);
    auto single_ctx = Context::create(*model, cp);
    ASSERT_TRUE(batched_ctx.ok() && single_ctx.ok());
    Batch batch;
    for (size_t i = 0; i < n; ++i) batch.add(ec.prompt[i], static_cast<int32_t>(i), 0, true);
    auto out = (*batched_ctx)->forward(batch);
    ASSERT_TRUE(out.ok()) << out.error().message;
    const std::vector<float> batched(out->begin(), out->end());
    std::vector<float> single;
    for (size_t i = 0; i < n; ++i) {
      Batch one;
      one.add(ec.prompt[i], static_cast<int32_t>(i), 0, true);
      auto o = (*single_ctx)->forward(one);
      ASSERT_TRUE(o.ok()) << o.error().message;
      single.insert(single.end(), o->begin(), o->end());
    }

    for (const std::vector<float>* path : {&batched, static_cast<const std::vector<float>*>(&single)}) {
      const char* label = path == &batched ? "batched" : "one-token";
      double kl_sum = 0;
      for (size_t i = 0; i < n; ++i) {
        const float* row = path->data() + i * n_vocab;
        kl_sum += kl_divergence(ref[i], row, n_vocab);
        std::vector<double> sorted = ref[i];
        std::sort(sorted.begin(), sorted.end(), std::greater<>());
        const size_t ref_top = static_cast<size_t>(std::max_element(ref[i].begin(), ref[i].end()) - ref[i].begin());
        if (sorted[0] - sorted[1] >= bounds.margin) {
          EXPECT_EQ(argmax(row, n_vocab), ref_top) << name << " case " << ci << " position " << i << " " << label;
        }
        // The reference engine's top-1, where its own margin is clear.
        for (const auto* eng : {&ec.batched, &ec.one_token}) {
          const EnginePos& e = (*eng)[i];
          if (e.top[0].second - e.top[1].second >= bounds.engine_margin) {
            EXPECT_EQ(argmax(row, n_vocab), static_cast<size_t>(e.top[0].first))
                << name << " case " << ci << " position " << i << " " << label << " vs reference engine";
          }
        }
      }
      const double mean_kl = kl_sum / static_cast<double>(n);
      EXPECT_LE(mean_kl, bounds.max_kl) << name << " case " << ci << " " << label;
      RecordProperty(std::string("mean_kl_") + label + "_case" + std::to_string(ci), kl_text(mean_kl));
    }
    double max_diff = 0;
    for (size_t i = 0; i < batched.size(); ++i)
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(batched[i] - single[i])));
    EXPECT_LE(max_diff, 1e-4) << name << ": batched and one-token logits differ, case " << ci;

    // The reference engine against the float64 pass: the log-probabilities of its top tokens.
    double worst = 0;
    for (size_t i = 0; i < n; ++i) {
      const double lse = log_sum_exp(ref[i]);
      for (const auto* eng : {&ec.batched, &ec.one_token})
        for (const auto& [id, logit] : (*eng)[i].top)
          worst = std::max(worst, std::fabs((logit - (*eng)[i].lse) - (ref[i][static_cast<size_t>(id)] - lse)));
    }
    EXPECT_LE(worst, bounds.engine_lp) << name << " case " << ci << ": the reference engine disagrees with float64";
    RecordProperty("engine_max_logprob_diff_case" + std::to_string(ci), kl_text(worst));

    // Greedy continuations of the F32 files: corral, the float64 pass and the engine agree.
    if (p.type == "f32") {
      std::vector<int32_t> got;
      int32_t pos = static_cast<int32_t>(n);
      auto tok = static_cast<int32_t>(argmax(single.data() + (n - 1) * n_vocab, n_vocab));
      while (got.size() < ec.greedy.size()) {
        got.push_back(tok);
        Batch one;
        one.add(tok, pos++, 0, true);
        auto o = (*single_ctx)->forward(one);
        ASSERT_TRUE(o.ok()) << o.error().message;
        tok = static_cast<int32_t>(argmax(o->data(), n_vocab));
      }
      EXPECT_EQ(got, f64_greedy) << name << " case " << ci << ": greedy differs from float64";
      EXPECT_EQ(ec.greedy, f64_greedy) << name << " case " << ci << ": the engine's greedy differs from float64";
    }
  }
}

std::vector<Param> all_params() {
  std::vector<Param> ps;
  for (const char* f : {"gemma3", "gemma2", "smollm3", "phi3", "phi3long", "qwen3moe", "mixtral", "qwen35", "gemma4", "qwen35moe",
                        "gemma4moe", "gemma4arr"})
    for (const char* t : {"f32", "q8_0", "q4_K_M"}) ps.push_back({f, t});
  // gpt-oss as its files are quantized: MXFP4 experts with the rest Q8_0 (and all Q8_0).
  for (const char* t : {"f32", "q8_0", "mxfp4"}) ps.push_back({"gptoss", t});
  return ps;
}

std::string param_name(const testing::TestParamInfo<Param>& info) {
  return info.param.family + "_" + info.param.type;
}

INSTANTIATE_TEST_SUITE_P(Generated, Families, testing::ValuesIn(all_params()), param_name);

}  // namespace
}  // namespace corral
