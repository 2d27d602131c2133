// The scheduler's memory estimate before loading: Runner::estimate_memory (the file's header
// alone) gives the context, KV cache and recurrent states that a loaded runner then holds.
// States scale with the slots and not with the context (qwen35, qwen35moe) and are 0 for a
// model without recurrent layers; the context is clamped to the training context.
#include <gtest/gtest.h>

#include <string>

#include "engine/loaded_model.h"
#include "engine/runner.h"
#include "gguf/gguf_file.h"
#include "model/hparams.h"

namespace corral {
namespace {

#ifdef CORRAL_FAMILY_MODEL_DIR
const char* kModelDir = CORRAL_FAMILY_MODEL_DIR;
#else
const char* kModelDir = nullptr;  // the unit-only (sanitizer) build writes no family models
#endif

// Loads the file as the server's loader does (context clamped) and compares with the estimate.
void expect_estimate_matches_load(const std::string& path, const RunnerParams& asked) {
  auto est = Runner::estimate_memory(path, asked);
  ASSERT_TRUE(est.ok()) << est.error().message;
  auto m = load_model(path);
  ASSERT_TRUE(m.ok()) << m.error().message;
  RunnerParams p = asked;
  p.n_ctx = Runner::clamp_n_ctx(m->model->hp, p.n_ctx);
  auto r = Runner::create(m->model, m->tokenizer, p);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(est->n_ctx, (*r)->params().n_ctx) << path;
  EXPECT_EQ(est->kv_bytes, (*r)->kv_bytes()) << path;
  EXPECT_EQ(est->recurrent_state_bytes, (*r)->recurrent_state_bytes()) << path;
}

TEST(MemoryEstimate, RecurrentFamiliesAreEstimatedBeforeLoadingAsLoaded) {
  if (kModelDir == nullptr) GTEST_SKIP() << "no family models in a unit-only build";
  for (const char* family : {"qwen35", "qwen35moe"}) {
    const std::string path = std::string(kModelDir) + "/" + family + "-f32.gguf";
    RunnerParams p;
    p.n_ctx = 256;
    p.n_parallel = 3;
    expect_estimate_matches_load(path, p);
    auto est = Runner::estimate_memory(path, p);
    ASSERT_TRUE(est.ok());
    EXPECT_GT(est->recurrent_state_bytes, 0u) << family;
    EXPECT_GT(est->kv_bytes, 0u) << family;  // the full-attention layers
    // States are constant in the context and proportional to the slots; the KV cache is not.
    RunnerParams longer = p;
    longer.n_ctx = 1024;
    longer.n_parallel = 1;
    auto one = Runner::estimate_memory(path, longer);
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(one->recurrent_state_bytes * 3, est->recurrent_state_bytes) << family;
    EXPECT_EQ(one->kv_bytes * 3, est->kv_bytes * 4) << family;  // 1024 x 1 slot vs 256 x 3 slots
    // A quantized KV cache is estimated in its type, as loaded.
    RunnerParams q8 = p;
    q8.kv_type = KvType::kQ8_0;
    expect_estimate_matches_load(path, q8);
  }
}

TEST(MemoryEstimate, ContextIsClampedToTheTrainingContext) {
  const std::string path = std::string(CORRAL_SHARED_DIR) + "/conformance/models/llama-tok512-f32.gguf";
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok());
  auto hp = read_hparams(**file);
  ASSERT_TRUE(hp.ok());
  ASSERT_GT(hp->n_ctx_train, 0);
  RunnerParams p;
  p.n_parallel = 2;
  p.n_ctx = hp->n_ctx_train * 4;
  auto est = Runner::estimate_memory(path, p);
  ASSERT_TRUE(est.ok()) << est.error().message;
  EXPECT_EQ(est->n_ctx, hp->n_ctx_train);
  EXPECT_EQ(est->recurrent_state_bytes, 0u);  // no recurrent layers
  expect_estimate_matches_load(path, p);
  p.n_ctx = hp->n_ctx_train / 2;  // below the training context: as asked
  est = Runner::estimate_memory(path, p);
  ASSERT_TRUE(est.ok());
  EXPECT_EQ(est->n_ctx, hp->n_ctx_train / 2);
  expect_estimate_matches_load(path, p);
}

TEST(MemoryEstimate, AnUnreadableFileIsAnError) {
  RunnerParams p;
  EXPECT_FALSE(Runner::estimate_memory("/nonexistent/model.gguf", p).ok());
}

}  // namespace
}  // namespace corral
