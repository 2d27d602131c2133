// Conformance of the quantized KV cache (model/kv_type.h): the conformance models and the
// family models (sliding windows, soft-capping, sinks, Gemma 4's shared KV, recurrent layers)
// run with q8_0 and q4_0 K/V, batched and one token at a time, within stated bounds of mean
// KL(float64 reference ‖ corral) per prompt (docs/kv-cache.md); a cache read with the wrong
// element order fails those bounds. Also: results independent of what else is in the batch,
// prompt-prefix copies, the f16 fallback for head sizes that are not multiples of 32, and
// the memory a quantized cache takes.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "compare.h"
#include "f64_reference.h"
#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

using golden::kl_divergence;

std::vector<std::vector<int32_t>> prompts() {
  std::ifstream in(CORRAL_SHARED_DIR "/conformance/prompts-tok512.txt");
  std::vector<std::vector<int32_t>> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::vector<int32_t> p;
    int32_t t = 0;
    while (ss >> t) p.push_back(t);
    if (!p.empty()) out.push_back(std::move(p));
  }
  return out;
}

// The stated bounds (docs/kv-cache.md): mean KL per prompt against the float64 reference. With
// an f16 cache these models land at <= 6.4e-7 (f32 weights) and 1.6e-3 (Q4_0 weights). Measured
// worst cases with a quantized cache (x86 and scalar tables alike: the kernels dequantize
// exactly): q8_0 3.6e-4 (f32 weights), 1.75e-3 (Q4_0 weights); q4_0 0.100. Random-weight models
// attend sharply, so a cache's rounding shows more than on trained ones.
double kl_bound(KvType t, bool quantized_weights = false) {
  if (t == KvType::kQ8_0) return quantized_weights ? 5e-3 : 1e-3;  // 5e-3: the quantized-weights budget
  return 0.2;
}

std::string model_path(const std::string& name) {
  if (name.rfind("family:", 0) == 0) return std::string(CORRAL_FAMILY_MODEL_DIR) + "/" + name.substr(7) + ".gguf";
  return CORRAL_SHARED_DIR "/conformance/models/" + name + ".gguf";
}

struct Paths {
  std::vector<float> batched, single;
};

// The prompt batched (one forward call) and one token at a time, each in a fresh context.
Paths run(const std::shared_ptr<const Model>& m, const std::vector<int32_t>& prompt, const ContextParams& cp) {
  Paths out;
  auto b = Context::create(m, cp);
  auto s = Context::create(m, cp);
  EXPECT_TRUE(b.ok() && s.ok());
  if (!b.ok() || !s.ok()) return out;
  Batch batch;
  for (size_t i = 0; i < prompt.size(); ++i) batch.add(prompt[i], static_cast<int32_t>(i), 0, true);
  auto o = (*b)->forward(batch);
  EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.error().message);
  if (o.ok()) out.batched.assign(o->begin(), o->end());
  for (size_t i = 0; i < prompt.size(); ++i) {
    Batch one;
    one.add(prompt[i], static_cast<int32_t>(i), 0, true);
    auto r = (*s)->forward(one);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (r.ok()) out.single.insert(out.single.end(), r->begin(), r->end());
  }
  return out;
}

double mean_kl(const std::vector<f64ref::Vec>& ref, const std::vector<float>& got, size_t n_vocab) {
  if (got.size() != ref.size() * n_vocab) return 1e9;
  double sum = 0;
  for (size_t i = 0; i < ref.size(); ++i) sum += kl_divergence(ref[i], &got[i * n_vocab], n_vocab);
  return sum / static_cast<double>(ref.size());
}

// The float64 reference per model and prompt, computed once for both cache types.
const std::vector<f64ref::Vec>& reference(const std::string& name, const std::vector<int32_t>& prompt) {
  static std::map<std::pair<std::string, std::vector<int32_t>>, std::vector<f64ref::Vec>> refs;
  auto key = std::make_pair(name, prompt);
  if (auto it = refs.find(key); it != refs.end()) return it->second;
  auto m = Model::load(model_path(name));  // read as the file has it (never repacked)
  EXPECT_TRUE(m.ok());
  return refs[key] = m.ok() ? f64ref::forward(**m, prompt) : std::vector<f64ref::Vec>{};
}

struct Param {
  std::string model;
  KvType type;
};

void PrintTo(const Param& p, std::ostream* os) { *os << p.model << "-" << kv_type_name(p.type); }

class KvQuantConformance : public testing::TestWithParam<Param> {};

TEST_P(KvQuantConformance, StaysWithinTheStatedBoundOfTheFloat64Reference) {
  const Param& p = GetParam();
  auto model = Model::load(model_path(p.model));
  ASSERT_TRUE(model.ok()) << model.error().message;
  const auto n_vocab = static_cast<size_t>((*model)->hp.n_vocab);
  ContextParams cp;
  cp.n_ctx = 256;
  cp.kv_type = p.type;
  for (const auto& prompt : prompts()) {
    const auto& ref = reference(p.model, prompt);
    const Paths q = run(*model, prompt, cp);
    const double kl_b = mean_kl(ref, q.batched, n_vocab), kl_s = mean_kl(ref, q.single, n_vocab);
    const bool qw = p.model.find("Q4_0") != std::string::npos;
    EXPECT_LE(kl_b, kl_bound(p.type, qw)) << "batched, prompt of " << prompt.size();
    EXPECT_LE(kl_s, kl_bound(p.type, qw)) << "one token at a time, prompt of " << prompt.size();
    char text[64];
    std::snprintf(text, sizeof text, "%.2e batched %.2e one-token", kl_b, kl_s);
    RecordProperty("mean_kl_prompt" + std::to_string(prompt.size()), text);
    std::printf("kv %s %s prompt %zu: mean KL %s\n", std::string(kv_type_name(p.type)).c_str(), p.model.c_str(),
                prompt.size(), text);
  }
}

std::vector<Param> params() {
  std::vector<Param> ps;
  for (KvType t : {KvType::kQ8_0, KvType::kQ4_0})
    for (const char* m : {"llama-tok512-f32", "llama-tok512-Q4_0", "llama3-tok512-f32", "qwen2-tok512-f32",
                          "qwen3-tok512-f32", "family:gemma3-f32", "family:gemma2-f32", "family:gptoss-f32",
                          "family:gemma4-f32", "family:qwen35-f32", "family:phi3-f32"})
      ps.push_back({m, t});
  return ps;
}

std::string param_name(const testing::TestParamInfo<Param>& info) {
  std::string s = info.param.model + "_" + std::string(kv_type_name(info.param.type));
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Models, KvQuantConformance, testing::ValuesIn(params()), param_name);

// The check has teeth: the same model with a cache read in the wrong element order (each
// block's halves swapped; ContextParams::kv_test_misread) is far outside the bounds.
TEST(KvQuant, AMisreadCacheFailsTheBounds) {
  auto model = Model::load(model_path("llama-tok512-f32"));
  ASSERT_TRUE(model.ok());
  const auto n_vocab = static_cast<size_t>((*model)->hp.n_vocab);
  const auto prompt = prompts().back();
  const auto& ref = reference("llama-tok512-f32", prompt);
  for (KvType t : {KvType::kQ8_0, KvType::kQ4_0}) {
    ContextParams cp;
    cp.n_ctx = 256;
    cp.kv_type = t;
    cp.kv_test_misread = true;
    const Paths q = run(*model, prompt, cp);
    const double kl = mean_kl(ref, q.single, n_vocab);
    std::printf("misread %s: mean KL %.3e\n", std::string(kv_type_name(t)).c_str(), kl);
    EXPECT_GT(kl, 10 * kl_bound(t)) << kv_type_name(t);
  }
}

// Each token's result depends only on its own sequence: a prompt alone and beside another
// sequence in the same batch, and a continuation after copy_sequence (prompt-prefix sharing),
// give the same bits; sliding windows included (gemma3's window of 16 slides over 100 tokens).
TEST(KvQuant, BatchCompositionAndPrefixCopiesGiveTheSameBits) {
  const auto ps = prompts();
  const auto& a = ps.back();
  const auto& other = ps[1];
  for (const char* name : {"llama-tok512-f32", "family:gemma3-f32"}) {
    auto model = Model::load(model_path(name));
    ASSERT_TRUE(model.ok());
    const auto n_vocab = static_cast<size_t>((*model)->hp.n_vocab);
    for (KvType t : {KvType::kQ8_0, KvType::kQ4_0}) {
      ContextParams cp;
      cp.n_ctx = 256;
      cp.n_seq = 2;
      cp.kv_type = t;
      auto alone = Context::create(*model, cp);
      auto mixed = Context::create(*model, cp);
      ASSERT_TRUE(alone.ok() && mixed.ok());
      // In slices of 10 tokens, the mixed context also carrying `other` in sequence 1.
      std::vector<float> x, y;
      for (size_t s = 0; s < a.size(); s += 10) {
        Batch b1, b2;
        for (size_t i = s; i < std::min(a.size(), s + 10); ++i) {
          b1.add(a[i], static_cast<int32_t>(i), 0, true);
          b2.add(a[i], static_cast<int32_t>(i), 0, true);
          if (i < other.size()) b2.add(other[i], static_cast<int32_t>(i), 1, false);
        }
        auto o1 = (*alone)->forward(b1);
        ASSERT_TRUE(o1.ok()) << o1.error().message;
        x.insert(x.end(), o1->begin(), o1->end());
        auto o2 = (*mixed)->forward(b2);
        ASSERT_TRUE(o2.ok()) << o2.error().message;
        y.insert(y.end(), o2->begin(), o2->end());
      }
      ASSERT_EQ(x.size(), y.size());
      EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0) << name << " " << kv_type_name(t);
      // Sequence 0 of `alone` holds a; copy all but its last token to sequence 1 and evaluate
      // that token there: the same logits as the last row above.
      (*alone)->copy_sequence(0, 1, static_cast<int64_t>(a.size() - 1));
      ASSERT_EQ((*alone)->reusable_prefix(1, static_cast<int64_t>(a.size() - 1)), static_cast<int64_t>(a.size() - 1));
      Batch last;
      last.add(a.back(), static_cast<int32_t>(a.size() - 1), 1, true);
      auto o = (*alone)->forward(last);
      ASSERT_TRUE(o.ok()) << o.error().message;
      EXPECT_EQ(std::memcmp(o->data(), &x[(a.size() - 1) * n_vocab], n_vocab * sizeof(float)), 0)
          << name << " " << kv_type_name(t) << ": continuation after copy_sequence";
    }
  }
}

// stories260K's heads are 8 wide: no whole block of 32, so a quantized cache falls back to f16
// (as Ollama does) and gives the f16 cache's bits.
TEST(KvQuant, HeadSizesNotAMultipleOf32FallBackToF16) {
  auto model = Model::load(CORRAL_SHARED_DIR "/models/stories260K.gguf");
  ASSERT_TRUE(model.ok());
  ASSERT_NE((*model)->hp.head_dim_of(0) % 32, 0);
  const auto prompt = prompts()[0];
  ContextParams f16;
  f16.n_ctx = 64;
  const Paths h = run(*model, prompt, f16);
  for (KvType t : {KvType::kQ8_0, KvType::kQ4_0}) {
    ContextParams cp = f16;
    cp.kv_type = t;
    EXPECT_EQ(Context::kv_type_for((*model)->hp, t), KvType::kF16);
    auto c = Context::create(*model, cp);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ((*c)->params().kv_type, KvType::kF16);
    const Paths q = run(*model, prompt, cp);
    EXPECT_EQ(q.single, h.single);
  }
}

// A q8_0 cache takes 34/64 of an f16 one's bytes, q4_0 18/64; the count the scheduler estimates
// before loading equals what a context holds (windows, shared-KV and recurrent layers included).
TEST(KvQuant, MemoryFollowsTheType) {
  for (const char* name : {"llama-tok512-f32", "family:gemma3-f32", "family:gemma4-f32", "family:qwen35-f32"}) {
    auto model = Model::load(model_path(name));
    ASSERT_TRUE(model.ok());
    ContextParams cp;
    cp.n_ctx = 512;
    cp.n_seq = 3;
    auto h = Context::create(*model, cp);
    cp.kv_type = KvType::kQ8_0;
    auto q8 = Context::create(*model, cp);
    cp.kv_type = KvType::kQ4_0;
    auto q4 = Context::create(*model, cp);
    ASSERT_TRUE(h.ok() && q8.ok() && q4.ok());
    const size_t f16_bytes = (*h)->kv_bytes();
    ASSERT_GT(f16_bytes, 0u);
    EXPECT_EQ(f16_bytes, 2 * (*h)->kv_elements());
    EXPECT_EQ((*q8)->kv_bytes() * 64, f16_bytes * 34) << name;
    EXPECT_EQ((*q4)->kv_bytes() * 64, f16_bytes * 18) << name;
    EXPECT_EQ(Context::kv_elements_for((*model)->hp, 512, 3), (*h)->kv_elements()) << name;
  }
}

}  // namespace
}  // namespace corral
