// A 32,768-position context with TinyLlama-1.1B's KV-cache shape (22 layers, 4 KV heads of 64,
// F16: 704 MiB per sequence): it is allocated, the last position of each sequence is usable,
// the sequences' regions do not overlap, the first positions give bit-identical logits to a
// small context, and position 32,768 is refused.
#include <gtest/gtest.h>

#include <cstdio>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gguf/gguf_writer.h"
#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

constexpr int64_t kEmbd = 256, kFf = 256, kVocab = 40, kHead = 4, kHeadKv = 4, kLayers = 22;
constexpr int64_t kCtx = 32768;

std::string write_model() {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.embedding_length", kEmbd);
  w.set_u32("llama.block_count", kLayers);
  w.set_u32("llama.feed_forward_length", kFf);
  w.set_u32("llama.attention.head_count", kHead);
  w.set_u32("llama.attention.head_count_kv", kHeadKv);
  w.set_u32("llama.context_length", static_cast<uint32_t>(kCtx));
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 0.06f);
  auto add = [&](const std::string& name, std::vector<int64_t> ne, bool ones = false) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    std::vector<uint8_t> bytes(static_cast<size_t>(n) * 4);
    for (int64_t i = 0; i < n; ++i) {
      const float v = ones ? 1.0f : nd(rng);
      std::memcpy(&bytes[static_cast<size_t>(i) * 4], &v, 4);
    }
    ASSERT_TRUE(w.add_tensor(name, GgmlType::kF32, ne, bytes).ok());
  };
  add("token_embd.weight", {kEmbd, kVocab});
  add("output_norm.weight", {kEmbd}, true);
  add("output.weight", {kEmbd, kVocab});
  const int64_t kv = kEmbd / kHead * kHeadKv;
  for (int64_t il = 0; il < kLayers; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    add(b + "attn_norm.weight", {kEmbd}, true);
    add(b + "attn_q.weight", {kEmbd, kEmbd});
    add(b + "attn_k.weight", {kEmbd, kv});
    add(b + "attn_v.weight", {kEmbd, kv});
    add(b + "attn_output.weight", {kEmbd, kEmbd});
    add(b + "ffn_norm.weight", {kEmbd}, true);
    add(b + "ffn_gate.weight", {kEmbd, kFf});
    add(b + "ffn_up.weight", {kEmbd, kFf});
    add(b + "ffn_down.weight", {kFf, kEmbd});
  }
  const std::string path = testing::TempDir() + "/long_context_tinyllama_kv.gguf";
  EXPECT_TRUE(w.write(path).ok());
  return path;
}

std::vector<float> logits_of(Context& ctx, const Batch& b) {
  auto out = ctx.forward(b);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
  if (!out.ok()) return {};
  return std::vector<float>(out->begin(), out->end());
}

Batch prefix(int32_t seq) {
  Batch b;
  for (int32_t p = 0; p < 8; ++p) b.add((p * 7 + 3) % static_cast<int32_t>(kVocab), p, seq, true);
  return b;
}

TEST(LongContext, ContextOf32kPositionsWithTinyLlamaKvShape) {
  const std::string path = write_model();
  auto m = Model::load(path);
  std::remove(path.c_str());  // the mapping keeps the 40 MB; /tmp does not
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)->hp.kv_dim(), 256);  // TinyLlama-1.1B: 4 KV heads x 64

  ContextParams small;
  small.n_ctx = 16;
  auto ref = Context::create(*m, small);
  ASSERT_TRUE(ref.ok());
  const std::vector<float> want = logits_of(**ref, prefix(0));
  Batch next;
  next.add(5, 8, 0, true);
  const std::vector<float> want_next = logits_of(**ref, next);

  ContextParams big;
  big.n_ctx = kCtx;
  big.n_seq = 2;  // 2 x 704 MiB of F16 K/V
  auto ctx = Context::create(*m, big);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;

  // The first positions: bit-identical to the small context (the context size changes nothing).
  EXPECT_EQ(logits_of(**ctx, prefix(0)), want);
  // The last position of the second sequence (its K/V row ends the whole cache): the attention
  // reads all 32,768 rows; the logits are finite.
  Batch last;
  last.add(7, static_cast<int32_t>(kCtx - 1), 1, true);
  const std::vector<float> far = logits_of(**ctx, last);
  ASSERT_EQ(far.size(), static_cast<size_t>(kVocab));
  for (float v : far) ASSERT_TRUE(std::isfinite(v));
  // Writing there did not touch sequence 0: its next token matches the small context exactly.
  EXPECT_EQ(logits_of(**ctx, next), want_next);

  Batch beyond;
  beyond.add(7, static_cast<int32_t>(kCtx), 0, true);
  auto r = (*ctx)->forward(beyond);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("outside the context of 32768"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace corral
