// The scheduler's memory estimate before loading counts the recurrent states: for qwen35 and
// qwen35moe, Runner::estimate_recurrent_state_bytes (the file's header alone) equals what a
// loaded runner holds (states and checkpoints of every slot), scales with the slots, and is
// 0 for a model without recurrent layers.
#include <gtest/gtest.h>

#include <string>

#include "engine/loaded_model.h"
#include "engine/runner.h"

namespace corral {
namespace {

#ifdef CORRAL_FAMILY_MODEL_DIR
const char* kModelDir = CORRAL_FAMILY_MODEL_DIR;
#else
const char* kModelDir = nullptr;  // the unit-only (sanitizer) build writes no family models
#endif

size_t loaded_state_bytes(const std::string& path, const RunnerParams& p) {
  auto m = load_model(path);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  if (!m.ok()) return 0;
  auto r = Runner::create(m->model, m->tokenizer, p);
  EXPECT_TRUE(r.ok());
  return r.ok() ? (*r)->recurrent_state_bytes() : 0;
}

TEST(StateEstimate, RecurrentFamiliesAreEstimatedBeforeLoadingAsLoaded) {
  if (kModelDir == nullptr) GTEST_SKIP() << "no family models in a unit-only build";
  for (const char* family : {"qwen35", "qwen35moe"}) {
    const std::string path = std::string(kModelDir) + "/" + family + "-f32.gguf";
    RunnerParams p;
    p.n_ctx = 256;
    p.n_parallel = 3;
    auto est = Runner::estimate_recurrent_state_bytes(path, p);
    ASSERT_TRUE(est.ok()) << est.error().message;
    EXPECT_GT(*est, 0u) << family;
    EXPECT_EQ(*est, loaded_state_bytes(path, p)) << family;
    // Constant in the context, proportional to the slots.
    RunnerParams longer = p;
    longer.n_ctx = 2048;
    longer.n_parallel = 1;
    auto one = Runner::estimate_recurrent_state_bytes(path, longer);
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(*one * 3, *est) << family;
  }
}

TEST(StateEstimate, ModelsWithoutRecurrentLayersHaveNone) {
  const std::string path = std::string(CORRAL_SHARED_DIR) + "/conformance/models/llama-tok512-f32.gguf";
  RunnerParams p;
  p.n_ctx = 128;
  p.n_parallel = 2;
  auto est = Runner::estimate_recurrent_state_bytes(path, p);
  ASSERT_TRUE(est.ok()) << est.error().message;
  EXPECT_EQ(*est, 0u);
  EXPECT_EQ(loaded_state_bytes(path, p), 0u);
}

TEST(StateEstimate, AnUnreadableFileIsAnError) {
  RunnerParams p;
  EXPECT_FALSE(Runner::estimate_recurrent_state_bytes("/nonexistent/model.gguf", p).ok());
}

}  // namespace
}  // namespace corral
