// Cross-encoder reranking (bert with a classification head, pooling_type rank) on the
// random-weight models make_test_model writes at build time, against mainline llama.cpp's scores
// of the same files (testdata/rerank/README.md): the same pair framing and token ids
// (frame_rerank_pair), scores within 1e-4 of the reference (relative to the largest score's
// magnitude) and the same order of the documents for every query. All pairs are packed into
// shared passes, and each pair alone must give the same bits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "engine/rerank.h"
#include "model/context.h"
#include "model/encoder.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace corral {
namespace {

std::vector<size_t> order_of(const std::vector<double>& scores, size_t first, size_t n) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[first + a] > scores[first + b]; });
  return idx;
}

class Rerank : public testing::TestWithParam<std::string> {};

TEST_P(Rerank, MatchesReferenceEngine) {
  const std::string name = GetParam();
  const std::string path = std::string(CORRAL_ENCODER_MODEL_DIR) + "/" + name + ".gguf";
  std::ifstream in(std::string(CORRAL_SOURCE_DIR) + "/tests/golden/testdata/rerank/" + name + ".json");
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
  ASSERT_EQ((*model)->hp.pooling, Pooling::kRank);

  std::vector<std::vector<int32_t>> seqs;
  std::vector<size_t> second;
  std::vector<double> ref;
  for (const auto& c : data["cases"]) {
    auto p = frame_rerank_pair(**tok, c["query"].get<std::string>(), c["document"].get<std::string>(), 512);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->ids, c["ids"].get<std::vector<int32_t>>()) << c["query"] << " / " << c["document"];
    EXPECT_EQ(p->second_from, c["second_from"].get<size_t>());
    seqs.push_back(p->ids);
    second.push_back(p->second_from);
    ref.push_back(c["score"].get<double>());
  }
  Encoder packed(*model);
  auto all = packed.rank(seqs, second);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_LT(packed.passes(), static_cast<int64_t>(seqs.size()) / 4);
  double scale = 0.0;
  for (double r : ref) scale = std::max(scale, std::abs(r));
  ASSERT_GT(scale, 0.0);
  double worst = 0.0;
  Encoder single(*model);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const double d = std::abs((*all)[i] - ref[i]) / scale;
    worst = std::max(worst, d);
    EXPECT_LE(d, 1e-4) << name << " pair " << i << ": " << (*all)[i] << " vs " << ref[i];
    auto one = single.rank(std::span(&seqs[i], 1), std::span(&second[i], 1));
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(0, std::memcmp(&(*one)[0], &(*all)[i], sizeof(float))) << name << " pair " << i << ": packed and alone differ";
  }
  // The same order of the documents for every query (the references' scores are far enough
  // apart: the smallest gap between neighbours is checked to exceed the tolerance).
  const size_t n_docs = 8;
  ASSERT_EQ(seqs.size() % n_docs, 0u);
  std::vector<double> ours((*all).begin(), (*all).end());
  for (size_t q = 0; q < seqs.size(); q += n_docs) {
    const auto want = order_of(ref, q, n_docs);
    for (size_t k = 0; k + 1 < n_docs; ++k) ASSERT_GT(ref[q + want[k]] - ref[q + want[k + 1]], 2e-4 * scale);
    EXPECT_EQ(order_of(ours, q, n_docs), want) << name << " query " << q / n_docs;
  }
  std::printf("[ rerank   ] %-14s %zu pairs, worst |d|/max|score| %.2e, %lld packed passes\n", name.c_str(), seqs.size(),
              worst, static_cast<long long>(packed.passes()));
}

INSTANTIATE_TEST_SUITE_P(CrossEncoders, Rerank, testing::Values("bert-rank", "bert-rank-pair"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

TEST(RerankModel, RefusesWithoutHeadAndFramesLongPairs) {
  auto model = Model::load(std::string(CORRAL_ENCODER_MODEL_DIR) + "/bert.gguf");  // mean pooling, no head
  ASSERT_TRUE(model.ok()) << model.error().message;
  Encoder enc(*model);
  std::vector<std::vector<int32_t>> seqs{{101, 2054, 102}};
  std::vector<size_t> second{2};
  auto r = enc.rank(seqs, second);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a reranker"), std::string::npos);

  auto file = GgufFile::open(std::string(CORRAL_ENCODER_MODEL_DIR) + "/bert-rank.gguf");
  ASSERT_TRUE(file.ok());
  auto tok = Tokenizer::from_gguf(**file);
  ASSERT_TRUE(tok.ok());
  std::string doc;
  for (int i = 0; i < 300; ++i) doc += "word ";
  auto p = frame_rerank_pair(**tok, "a short query", doc, 64);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->ids.size(), 64u);                  // the document's tail is cut ...
  EXPECT_EQ(p->ids.back(), (*tok)->sep_id());     // ... and it still ends with [SEP]
  EXPECT_EQ(p->ids.front(), (*tok)->bos_id());
  auto too_long = frame_rerank_pair(**tok, doc, "doc", 64);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("64"), std::string::npos);

  // A vocabulary other than WordPiece gets llama.cpp's framing, BOS query EOS SEP document EOS,
  // each special token only where the vocabulary has it (Llama's SentencePiece: no SEP).
  auto spm_file = GgufFile::open(CORRAL_SHARED_DIR "/testdata/tokenizer/ggml-vocab-llama-spm.gguf");
  ASSERT_TRUE(spm_file.ok());
  auto spm = Tokenizer::from_gguf(**spm_file);
  ASSERT_TRUE(spm.ok());
  ASSERT_GE((*spm)->bos_id(), 0);
  ASSERT_GE((*spm)->eos_id(), 0);
  ASSERT_LT((*spm)->sep_id(), 0);
  auto sp = frame_rerank_pair(**spm, "what is it", "a document", 512);
  ASSERT_TRUE(sp.ok());
  std::vector<int32_t> want{(*spm)->bos_id()};
  for (int32_t t : (*spm)->encode("what is it", false, false)) want.push_back(t);
  want.push_back((*spm)->eos_id());
  const size_t second_from = want.size();
  for (int32_t t : (*spm)->encode("a document", false, false)) want.push_back(t);
  want.push_back((*spm)->eos_id());
  EXPECT_EQ(sp->ids, want);
  EXPECT_EQ(sp->second_from, second_from);
}

// Qwen3-Reranker's layout (a qwen3 decoder named "...reranker"; GPT-2's vocabulary): the model
// card's prompt gives the reference's token ids, and sigmoid(logit_yes - logit_no) at its last
// token agrees with the score from ik_llama.cpp's logits (mainline c392e50 predates qwen3).
TEST(DecoderRerank, Qwen3MatchesReferenceLogits) {
  const std::string path = std::string(CORRAL_ENCODER_MODEL_DIR) + "/qwen3-rerank.gguf";
  std::ifstream in(std::string(CORRAL_SOURCE_DIR) + "/tests/golden/testdata/rerank/qwen3-rerank.json");
  ASSERT_TRUE(in.good());
  const auto data = nlohmann::json::parse(in);
  auto digest = sha256_file_hex(path);
  ASSERT_TRUE(digest.ok());
  ASSERT_EQ(*digest, data["model_sha256"].get<std::string>()) << path << ": make the references again (README.md)";
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto model = Model::from_gguf(*file);
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto tok = Tokenizer::from_gguf(**file);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  ASSERT_TRUE(is_decoder_reranker(**model));
  auto yn = yes_no_tokens(**tok);
  ASSERT_TRUE(yn.has_value());
  ContextParams cp;
  cp.n_ctx = 512;
  cp.n_seq = 1;
  auto ctx = Context::create(*model, cp);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  double worst = 0.0;
  for (const auto& c : data["cases"]) {
    EXPECT_EQ(yn->yes, c["yes"].get<int32_t>());
    EXPECT_EQ(yn->no, c["no"].get<int32_t>());
    const auto ids = (*tok)->encode(
        qwen3_rerank_prompt(c["query"].get<std::string>(), c["document"].get<std::string>(), kQwen3RerankInstruction),
        false, true);
    EXPECT_EQ(ids, c["ids"].get<std::vector<int32_t>>()) << c["document"];
    auto score = decoder_rerank_score(**ctx, ids, *yn);
    ASSERT_TRUE(score.ok()) << score.error().message;
    const double ref = c["score"].get<double>();
    const double d = std::abs(*score - ref) / ref;
    worst = std::max(worst, d);
    // 1e-3, not 1e-4: the reference rounds V and the softmax weights to F16 (ik_llama.cpp takes
    // an F32 V cache only with flash attention, whose product rounds Q to F16 as well). With
    // corral's default F16 cache, as the server runs, the worst seen is 2.5e-4.
    EXPECT_LE(d, 1e-3) << c["document"] << ": " << *score << " vs " << ref;
  }
  std::printf("[ rerank   ] qwen3-rerank   %zu pairs, worst relative |d| %.2e\n", data["cases"].size(), worst);

  // A plain decoder (no pooling_type rank, no "reranker" in its name) is not one.
  auto plain = Model::load(std::string(CORRAL_ENCODER_MODEL_DIR) + "/qwen3-embed.gguf");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(is_decoder_reranker(**plain));
}

}  // namespace
}  // namespace corral
