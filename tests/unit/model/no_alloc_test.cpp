// Issue 9, threads: "no per-token allocation". Once a context has run its first pass, further
// one-token passes (the generation loop) must not touch the heap, on any thread: every global
// operator new of this test binary is counted while a pass runs.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "model/context.h"
#include "model/model.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

void* counted_alloc(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* counted_aligned_alloc(std::size_t n, std::align_val_t al) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace corral {
namespace {

class NoAllocation : public testing::TestWithParam<std::string> {};

std::string test_name(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  name = name.substr(0, name.find('.'));
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

TEST_P(NoAllocation, GenerationPassesDoNotTouchTheHeap) {
  // A bare file name is a conformance model; a family model is named by its full path.
  const std::string path = GetParam().find('/') != std::string::npos
                               ? GetParam()
                               : std::string(CORRAL_SHARED_DIR) + "/conformance/models/" + GetParam();
  auto m = Model::load(path);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ContextParams params;
  params.n_ctx = 64;
  auto ctx = Context::create(*m, params);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;

  Batch prompt;
  for (int32_t p = 0; p < 5; ++p) prompt.add(p + 1, p, 0, p == 4);
  ASSERT_TRUE((*ctx)->forward(prompt).ok());
  Batch steps[6];
  for (int32_t i = 0; i < 6; ++i) steps[i].add(10 + i, 5 + i, 0, true);
  ASSERT_TRUE((*ctx)->forward(steps[0]).ok());  // the first one-token pass may size its buffers

  g_allocations = 0;
  g_counting = true;
  bool all_ok = true;
  float sum = 0.0f;
  for (int i = 1; i < 6; ++i) {
    auto out = (*ctx)->forward(steps[i]);
    all_ok = all_ok && out.ok() && !out->empty();
    if (out.ok() && !out->empty()) sum += (*out)[0];
  }
  g_counting = false;
  EXPECT_TRUE(all_ok);
  EXPECT_TRUE(sum == sum);  // the logits were read (and are not NaN)
  EXPECT_EQ(g_allocations.load(), 0) << "heap allocations during 5 one-token passes";
}

INSTANTIATE_TEST_SUITE_P(Models, NoAllocation,
                         testing::Values("llama-tok512-Q4_K_M.gguf", "llama-tok512-Q8_0.gguf", "qwen3-tok512-Q4_K_M.gguf",
                                         "qwen2-tok512-Q8_0.gguf", "llama-tok512-f32.gguf"),
                         [](const testing::TestParamInfo<std::string>& p) { return test_name(p.param); });

#ifdef CORRAL_FAMILY_MODEL_DIR
// Mixture of experts (routed experts' jobs; gpt-oss's MXFP4 experts with biases and sinks; a
// shared expert) and Gated DeltaNet layers.
INSTANTIATE_TEST_SUITE_P(Families, NoAllocation,
                         testing::Values(CORRAL_FAMILY_MODEL_DIR "/qwen3moe-q4_K_M.gguf",
                                         CORRAL_FAMILY_MODEL_DIR "/gptoss-mxfp4.gguf",
                                         CORRAL_FAMILY_MODEL_DIR "/qwen35moe-q8_0.gguf", CORRAL_FAMILY_MODEL_DIR "/qwen35-q8_0.gguf", CORRAL_FAMILY_MODEL_DIR "/gemma4-q8_0.gguf"),
                         [](const testing::TestParamInfo<std::string>& p) { return test_name(p.param); });
#endif

}  // namespace
}  // namespace corral
