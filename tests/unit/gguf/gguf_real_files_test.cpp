// Every real GGUF in ../shared that corral must read does read, with sane contents; the files it
// must refuse are refused with a message that names the file and the problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"

namespace corral {
namespace {

std::vector<std::string> gguf_files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".gguf") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Tensor views lie inside the mapping, in the data section, without overlap.
void expect_tensors_sane(const GgufFile& f) {
  for (const auto& t : f.tensors()) {
    SCOPED_TRACE(t.name);
    EXPECT_GE(t.offset + f.data_offset(), f.data_offset());
    EXPECT_LE(f.data_offset() + t.offset + t.n_bytes, f.file_size());
    EXPECT_EQ(t.offset % f.alignment(), 0u);
    EXPECT_NE(t.data, nullptr);
    EXPECT_GT(t.n_elements(), 0);
  }
}

TEST(GgufRealFiles, EveryTokenizerVocabLoads) {
  const auto files = gguf_files_in(CORRAL_SHARED_DIR "/testdata/tokenizer");
  ASSERT_GE(files.size(), 10u);
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    auto f = GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_TRUE((*f)->get_string("tokenizer.ggml.model").has_value());
    const GgufArray* tokens = (*f)->get_array("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(tokens->elem_type, GgufValueType::kString);
    EXPECT_GT(tokens->size(), 100u);
    expect_tensors_sane(**f);
  }
}

TEST(GgufRealFiles, EveryConformanceModelLoads) {
  const auto files = gguf_files_in(CORRAL_SHARED_DIR "/conformance/models");
  ASSERT_GE(files.size(), 20u);
  const std::set<std::string> archs = {"llama", "qwen2", "qwen3"};
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    auto f = GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.error().message;
    const auto arch = (*f)->get_string("general.architecture");
    ASSERT_TRUE(arch.has_value());
    EXPECT_TRUE(archs.count(*arch)) << *arch;
    EXPECT_EQ((*f)->get_int(*arch + ".block_count"), 2);
    EXPECT_EQ((*f)->get_int(*arch + ".embedding_length"), 256);
    const GgufTensor* embd = (*f)->find_tensor("token_embd.weight");
    ASSERT_NE(embd, nullptr);
    EXPECT_EQ(embd->ne, (std::vector<int64_t>{256, 512}));
    EXPECT_NE((*f)->find_tensor("blk.1.ffn_down.weight"), nullptr);
    expect_tensors_sane(**f);
  }
}

TEST(GgufRealFiles, SharedModelsLoad) {
  for (const char* name : {"stories260K.gguf", "llama-2-tiny-random.gguf"}) {
    SCOPED_TRACE(name);
    auto f = GgufFile::open(std::string(CORRAL_SHARED_DIR "/models/") + name);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ((*f)->get_string("general.architecture"), "llama");
    expect_tensors_sane(**f);
  }
}

TEST(GgufRealFiles, NonGgufFileIsRefused) {
  const std::string path = CORRAL_SHARED_DIR "/models/stories260K.bin";
  auto f = GgufFile::open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find(path), std::string::npos) << f.error().message;
  EXPECT_NE(f.error().message.find("not a GGUF file"), std::string::npos) << f.error().message;
}

TEST(GgufRealFiles, VersionOneNamesFileAndVersion) {
  const std::string path = CORRAL_SHARED_DIR "/models/tinyllamas-stories-260k-f32.gguf";
  auto f = GgufFile::open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find(path), std::string::npos) << f.error().message;
  EXPECT_NE(f.error().message.find("GGUF version 1"), std::string::npos) << f.error().message;
}

TEST(GgufRealFiles, Q8RowOf172IsRefused) {
  const std::string path = CORRAL_SHARED_DIR "/models/tinyllamas-stories-260k-q8_0.gguf";
  auto f = GgufFile::open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find(path), std::string::npos) << f.error().message;
  EXPECT_NE(f.error().message.find("row length 172 is not a multiple of the block size 32"),
            std::string::npos) << f.error().message;
}

}  // namespace
}  // namespace corral
