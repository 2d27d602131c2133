// Writer -> reader round trip and the real files in ../shared/models.
#include <gtest/gtest.h>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

namespace corral {
namespace {

TEST(GgufRoundTrip, MetadataAndTensorsSurvive) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
  std::vector<uint8_t> data(4 * 8);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(w.add_tensor("t", GgmlType::kF32, {4, 2}, data).ok());
  const std::string bytes = w.serialize();
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ((*f)->version(), 3u);
  EXPECT_EQ((*f)->get_string("general.architecture"), "llama");
  EXPECT_EQ((*f)->get_int("llama.block_count"), 2);
  EXPECT_EQ((*f)->get_float("llama.rope.freq_base"), 10000.0);
  EXPECT_EQ((*f)->get_bool("tokenizer.ggml.add_bos_token"), true);
  ASSERT_NE((*f)->get_array("tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ((*f)->get_array("tokenizer.ggml.tokens")->strings[2], "c");
  const GgufTensor* t = (*f)->find_tensor("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->ne, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(t->n_bytes, 32u);
  EXPECT_EQ(std::memcmp(t->data, data.data(), 32), 0);
}

TEST(GgufRealFiles, Stories260KLoads) {
  auto f = GgufFile::open(CORRAL_SHARED_DIR "/models/stories260K.gguf");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ((*f)->get_string("general.architecture"), "llama");
  EXPECT_EQ((*f)->tensors().size(), 3u + 5u * 9u);
}

TEST(GgufRealFiles, VersionOneIsRefusedClearly) {
  auto f = GgufFile::open(CORRAL_SHARED_DIR "/models/tinyllamas-stories-260k-f32.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("version 1"), std::string::npos) << f.error().message;
  EXPECT_NE(f.error().message.find("tinyllamas-stories-260k-f32.gguf"), std::string::npos);
}

TEST(GgufRealFiles, RowNotMultipleOfBlockIsRefused) {
  auto f = GgufFile::open(CORRAL_SHARED_DIR "/models/tinyllamas-stories-260k-q8_0.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("ffn_down"), std::string::npos) << f.error().message;
  EXPECT_NE(f.error().message.find("not a multiple of the block size 32"), std::string::npos);
}

}  // namespace
}  // namespace corral
