// Embeddings of the encoder families (bert with mean and CLS pooling, nomic-bert) on the
// random-weight models make_test_model writes at build time, against a reference engine's pooled
// embeddings of the same files (testdata/embeddings/README.md): the same token ids from the
// model's WordPiece tokenizer, and cosine >= 0.99999 per text. The texts are run packed into
// shared passes and again one at a time, and the two must agree bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "model/context.h"
#include "model/encoder.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace corral {
namespace {

double cosine(const std::vector<float>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

class Embeddings : public testing::TestWithParam<std::string> {};

TEST_P(Embeddings, MatchReferenceEngine) {
  const std::string name = GetParam();
  const std::string path = std::string(CORRAL_ENCODER_MODEL_DIR) + "/" + name + ".gguf";
  std::ifstream in(std::string(CORRAL_SOURCE_DIR) + "/tests/golden/testdata/embeddings/" + name + ".json");
  ASSERT_TRUE(in.good());
  const auto data = nlohmann::json::parse(in);
  auto digest = sha256_file_hex(path);
  ASSERT_TRUE(digest.ok());
  ASSERT_EQ(*digest, data["model_sha256"].get<std::string>())
      << path << " is not the file the references were made on: make them again (README.md)";
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto model = Model::from_gguf(*file);
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto tok = Tokenizer::from_gguf(**file);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_TRUE((*model)->hp.encoder);

  std::vector<std::vector<int32_t>> seqs;
  size_t total = 0;
  for (const auto& c : data["cases"]) {
    seqs.push_back((*tok)->encode(c["text"].get<std::string>(), true, false));
    EXPECT_EQ(seqs.back(), c["ids"].get<std::vector<int32_t>>()) << c["text"];
    total += seqs.back().size();
  }
  Encoder packed(*model);
  auto all = packed.embed(seqs, (*model)->hp.pooling);
  ASSERT_TRUE(all.ok()) << all.error().message;
  // Packed: as few passes as kPassTokens allows, far fewer than one per text.
  EXPECT_EQ(packed.passes(), static_cast<int64_t>((total + Encoder::kPassTokens - 1) / Encoder::kPassTokens));
  Encoder single(*model);
  double worst = 1.0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto ref = data["cases"][i]["embedding"].get<std::vector<double>>();
    ASSERT_EQ((*all)[i].size(), ref.size());
    const double cos = cosine((*all)[i], ref);
    worst = std::min(worst, cos);
    EXPECT_GE(cos, 0.99999) << name << " case " << i << " (" << seqs[i].size() << " tokens)";
    auto one = single.embed(std::span(&seqs[i], 1), (*model)->hp.pooling);
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(0, std::memcmp((*one)[0].data(), (*all)[i].data(), ref.size() * sizeof(float)))
        << name << " case " << i << ": packed and alone differ";
  }
  std::printf("[ embed    ] %-12s %zu texts, worst cosine %.9f, %lld packed passes\n", name.c_str(), seqs.size(),
              worst, static_cast<long long>(packed.passes()));
}

INSTANTIATE_TEST_SUITE_P(Encoders, Embeddings, testing::Values("bert", "bert-cls", "nomic-bert"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

TEST(EncoderModel, RefusesDecodingContextAndLongInput) {
  const std::string path = std::string(CORRAL_ENCODER_MODEL_DIR) + "/bert.gguf";
  auto model = Model::load(path);
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto ctx = Context::create(*model, ContextParams{});
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.error().message.find("embedding-only"), std::string::npos);
  Encoder enc(*model);
  EXPECT_EQ(enc.max_tokens(), 512);
  std::vector<std::vector<int32_t>> too_long{std::vector<int32_t>(513, 1000)};
  auto r = enc.embed(too_long, Pooling::kMean);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("512"), std::string::npos);
  std::vector<std::vector<int32_t>> ok{std::vector<int32_t>(512, 1000)};
  EXPECT_TRUE(enc.embed(ok, Pooling::kMean).ok());
  EXPECT_FALSE(enc.embed(ok, Pooling::kNone).ok());
}

}  // namespace
}  // namespace corral
