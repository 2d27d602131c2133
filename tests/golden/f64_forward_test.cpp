// The check that corral's F32 path agrees with the independent float64 forward pass
// (f64_reference.h) on every F32 conformance file.
#include "f64_reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

class Float64Agreement : public testing::TestWithParam<std::string> {};

TEST_P(Float64Agreement, F32PathAgreesWithFloat64) {
  auto m = Model::load(GetParam());
  ASSERT_TRUE(m.ok()) << m.error().message;
  // 40 tokens: longer than the generated families' windows of 16.
  std::vector<int32_t> tokens = {1, 330, 60, 15, 382, 143, 128, 117, 42, 7, 300, 200};
  for (int32_t i = 0; tokens.size() < 40; ++i) tokens.push_back((i * 37 + 11) % 500 + 3);
  const auto ref = f64ref::forward(**m, tokens);
  ContextParams cp;
  cp.n_ctx = 256;  // phi3long/phi4mini: beyond LongRoPE's original 128, the long factors
  cp.kv_type = KvType::kF32;
  auto ctx = Context::create(*m, cp);
  ASSERT_TRUE(ctx.ok());
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], static_cast<int32_t>(i), 0, true);
  auto out = (*ctx)->forward(b);
  ASSERT_TRUE(out.ok());
  const auto n_vocab = static_cast<size_t>((*m)->hp.n_vocab);
  double max_diff = 0, max_mag = 0;
  for (size_t p = 0; p < tokens.size(); ++p)
    for (size_t v = 0; v < n_vocab; ++v) {
      max_diff = std::max(max_diff, std::fabs(ref[p][v] - static_cast<double>((*out)[p * n_vocab + v])));
      max_mag = std::max(max_mag, std::fabs(ref[p][v]));
    }
  // float32 arithmetic over a few hundred terms: relative error well below 1e-4 of the range.
  EXPECT_LE(max_diff, 1e-4 * std::max(1.0, max_mag)) << "max |logit diff| " << max_diff;
}

std::string file_label(const testing::TestParamInfo<std::string>& param) {
  static const char* kNames[] = {"llama",  "llama3", "qwen2",   "qwen3", "stories260K", "gemma3",
                                 "gemma2", "smollm3", "phi3", "phi3long", "phi4mini", "qwen3moe", "mixtral",
                                 "gemma4moe", "gemma4moesplit"};
  return kNames[param.index];
}

INSTANTIATE_TEST_SUITE_P(
    F32Files, Float64Agreement,
    testing::Values(CORRAL_SHARED_DIR "/conformance/models/llama-tok512-f32.gguf",
                    CORRAL_SHARED_DIR "/conformance/models/llama3-tok512-f32.gguf",
                    CORRAL_SHARED_DIR "/conformance/models/qwen2-tok512-f32.gguf",
                    CORRAL_SHARED_DIR "/conformance/models/qwen3-tok512-f32.gguf",
                    CORRAL_SHARED_DIR "/models/stories260K.gguf",
                    CORRAL_FAMILY_MODEL_DIR "/gemma3-f32.gguf", CORRAL_FAMILY_MODEL_DIR "/gemma2-f32.gguf",
                    CORRAL_FAMILY_MODEL_DIR "/smollm3-f32.gguf", CORRAL_FAMILY_MODEL_DIR "/phi3-f32.gguf",
                    CORRAL_FAMILY_MODEL_DIR "/phi3long-f32.gguf", CORRAL_FAMILY_MODEL_DIR "/phi4mini-f32.gguf",
                    CORRAL_FAMILY_MODEL_DIR "/qwen3moe-f32.gguf", CORRAL_FAMILY_MODEL_DIR "/mixtral-f32.gguf",
                    CORRAL_FAMILY_MODEL_DIR "/gemma4moe-f32.gguf", CORRAL_FAMILY_MODEL_DIR "/gemma4moesplit-f32.gguf"),
    file_label);

}  // namespace
}  // namespace corral
