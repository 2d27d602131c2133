// ModelHost::load_spec's memory estimate, before any load: the file's size, plus for a
// recurrent model (qwen35, qwen35moe) the Gated DeltaNet states and their checkpoints of every
// slot, read from the file's header. The header-only files here have no tensors: the estimate
// must not need them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gguf/gguf_writer.h"
#include "server/model_host.h"

namespace corral::server {
namespace {

// A qwen35-style header: 8 layers, a full-attention layer every 4th (so 6 recurrent ones),
// 4-tap convolution, 2 q/k heads and 4 value heads of 32.
std::string write_header(const std::string& arch, int64_t n_expert) {
  GgufWriter w;
  const std::string a = arch + ".";
  w.set_string("general.architecture", arch);
  w.set_u32(a + "embedding_length", 128);
  w.set_u32(a + "block_count", 8);
  w.set_u32(a + "feed_forward_length", 256);
  w.set_u32(a + "attention.head_count", 4);
  w.set_u32(a + "attention.head_count_kv", 2);
  w.set_u32(a + "attention.key_length", 32);
  w.set_u32(a + "attention.value_length", 32);
  w.set_u32(a + "ssm.conv_kernel", 4);
  w.set_u32(a + "ssm.state_size", 32);
  w.set_u32(a + "ssm.group_count", 2);
  w.set_u32(a + "ssm.time_step_rank", 4);
  w.set_u32(a + "ssm.inner_size", 128);
  w.set_u32(a + "full_attention_interval", 4);
  if (n_expert > 0) {
    w.set_u32(a + "expert_count", static_cast<uint32_t>(n_expert));
    w.set_u32(a + "expert_used_count", 2);
    w.set_u32(a + "expert_feed_forward_length", 64);
  }
  const std::string path = ::testing::TempDir() + "/load_spec_" + arch + "_" + std::to_string(getpid()) + ".gguf";
  std::ofstream(path, std::ios::binary) << w.serialize();
  return path;
}

// Per recurrent layer and slot: (taps - 1) x (2 x 2 x 32 + 128) convolution inputs, 4 value
// heads' 32 x 32 states and their unfinished chunk (64 x (32 + 32 + 1) floats each), F32; live
// and one copy per prompt-cache checkpoint (4 by default, CORRAL_CHECKPOINTS).
constexpr int64_t kStatePerCopy = 6 * (3 * (2 * 2 * 32 + 128) + 4 * 32 * 32 + 4 * 64 * 65) * 4;
constexpr int64_t kStateBytesPerSlot = kStatePerCopy * (1 + 4);

// The conformance llama (2 layers, 2 KV heads of 64, f32), charged `size_bytes` for its file.
ModelRef conformance_llama(int64_t size_bytes) {
  ModelRef ref;
  ref.name = "llama";
  ref.path = std::string(CORRAL_SHARED_DIR) + "/conformance/models/llama-tok512-f32.gguf";
  ref.size_bytes = size_bytes;
  return ref;
}

TEST(LoadSpec, RecurrentModelsAreChargedTheirStatesBeforeLoading) {
  setenv("OLLAMA_NUM_PARALLEL", "3", 1);
  ModelHost host(nullptr, SchedulerConfig{});
  unsetenv("OLLAMA_NUM_PARALLEL");
  for (const auto& [arch, experts] : {std::pair<std::string, int64_t>{"qwen35", 0}, {"qwen35moe", 8}}) {
    ModelRef ref;
    ref.name = arch;
    ref.path = write_header(arch, experts);
    ref.size_bytes = 1000000;
    const LoadSpec s = host.load_spec(ref, api::Options{});
    EXPECT_EQ(s.params.n_parallel, 3);
    EXPECT_EQ(s.estimated_state_bytes, 3 * kStateBytesPerSlot) << arch;
    EXPECT_EQ(s.estimated_bytes, 1000000 + 3 * kStateBytesPerSlot + s.estimated_kv_bytes) << arch;
    std::remove(ref.path.c_str());
    // Cached per file: the same answer without reading the header again.
    EXPECT_EQ(host.load_spec(ref, api::Options{}).estimated_bytes, s.estimated_bytes) << arch;
  }
}

// CORRAL_CHECKPOINTS sets the checkpoints each slot keeps (and the estimate counts them);
// CORRAL_CHECKPOINT_INTERVAL where a prompt's interval checkpoints are taken.
TEST(LoadSpec, CheckpointSettingsComeFromTheEnvironment) {
  setenv("CORRAL_CHECKPOINTS", "2", 1);
  setenv("CORRAL_CHECKPOINT_INTERVAL", "256", 1);
  ModelHost host(nullptr, SchedulerConfig{});
  unsetenv("CORRAL_CHECKPOINTS");
  unsetenv("CORRAL_CHECKPOINT_INTERVAL");
  ModelRef ref;
  ref.name = "qwen35";
  ref.path = write_header("qwen35", 0);
  ref.size_bytes = 1000;
  const LoadSpec s = host.load_spec(ref, api::Options{});
  std::remove(ref.path.c_str());
  EXPECT_EQ(s.params.n_checkpoints, 2);
  EXPECT_EQ(s.params.checkpoint_interval, 256);
  EXPECT_EQ(s.estimated_state_bytes, kStatePerCopy * (1 + 2));  // one slot
  ModelHost defaults(nullptr, SchedulerConfig{});
  EXPECT_EQ(defaults.load_spec(ref, api::Options{}).params.n_checkpoints, 4);
  EXPECT_EQ(defaults.load_spec(ref, api::Options{}).params.checkpoint_interval, 1024);
}

TEST(LoadSpec, OtherModelsAreChargedTheirFileSize) {
  ModelHost host(nullptr, SchedulerConfig{});
  const ModelRef ref = conformance_llama(12345);
  const LoadSpec s = host.load_spec(ref, api::Options{});
  EXPECT_EQ(s.estimated_state_bytes, 0);
  EXPECT_EQ(s.estimated_bytes, 12345 + s.estimated_kv_bytes);
}

// num_ctx past the model's training context is clamped to it before the load, as the load
// does (and Ollama): /api/ps reports that context, and every request asking for more shares
// one loaded instance (one scheduler key); a smaller num_ctx stays as asked.
TEST(LoadSpec, ContextIsClampedToTheTrainingContext) {
  ModelHost host(nullptr, SchedulerConfig{});
  const ModelRef ref = conformance_llama(1000);
  api::Options small, big, bigger;
  small.num_ctx = 64;
  big.num_ctx = 1 << 20;
  bigger.num_ctx = 1 << 21;
  const LoadSpec a = host.load_spec(ref, big);
  const LoadSpec b = host.load_spec(ref, bigger);
  EXPECT_LT(a.params.n_ctx, 1 << 20);
  EXPECT_GT(a.params.n_ctx, 64);
  EXPECT_EQ(a.params.n_ctx, b.params.n_ctx);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.estimated_kv_bytes, b.estimated_kv_bytes);
  const LoadSpec c = host.load_spec(ref, small);
  EXPECT_EQ(c.params.n_ctx, 64);
  EXPECT_NE(c.key, a.key);
  EXPECT_EQ(c.estimated_kv_bytes * a.params.n_ctx, a.estimated_kv_bytes * 64);  // KV grows with the context
}

// The KV cache is charged in the type OLLAMA_KV_CACHE_TYPE asks for: the conformance llama (2
// layers, 2 KV heads of 64) at 256 positions holds 2 x 2 x 256 x 128 elements: 2 bytes each
// in f16, 34/32 in q8_0, 18/32 in q4_0; an unknown type is f16. stories260K's heads of 8 take
// no quantized cache: f16 whatever is asked.
TEST(LoadSpec, KvCacheIsChargedInItsType) {
  setenv("OLLAMA_CONTEXT_LENGTH", "256", 1);
  const std::pair<const char*, int64_t> cases[] = {
      {"f16", 131072 * 2}, {"q8_0", 131072 / 32 * 34}, {"Q4_0", 131072 / 32 * 18}, {"q5_7", 131072 * 2}, {"", 131072 * 2}};
  int64_t stories_f16 = 0;
  for (const auto& [type, bytes] : cases) {
    setenv("OLLAMA_KV_CACHE_TYPE", type, 1);
    ModelHost host(nullptr, SchedulerConfig{});
    ModelRef ref = conformance_llama(1000);
    const LoadSpec s = host.load_spec(ref, api::Options{});
    EXPECT_EQ(s.estimated_kv_bytes, bytes) << type;
    EXPECT_EQ(s.estimated_bytes, 1000 + bytes) << type;
    ref.path = std::string(CORRAL_SHARED_DIR) + "/models/stories260K.gguf";
    const int64_t stories = host.load_spec(ref, api::Options{}).estimated_kv_bytes;
    EXPECT_GT(stories, 0);
    if (stories_f16 == 0) stories_f16 = stories;
    EXPECT_EQ(stories, stories_f16) << type;
  }
  unsetenv("OLLAMA_KV_CACHE_TYPE");
  unsetenv("OLLAMA_CONTEXT_LENGTH");
}

}  // namespace
}  // namespace corral::server
