// Writer -> reader round trips (in memory and streamed to disk) and the real files in
// ../shared/models.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <utility>

#include "base/file_util.h"

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

namespace corral {
namespace {

std::string temp_path(const std::string& stem) {
  return (std::filesystem::temp_directory_path() /
          (stem + "_" + std::to_string(::getpid()) + ".gguf")).string();
}

bool leftovers_of(const std::string& path) {
  const std::filesystem::path p(path);
  for (const auto& e : std::filesystem::directory_iterator(p.parent_path()))
    if (e.path().filename().string().rfind(p.filename().string(), 0) == 0) return true;
  return false;
}

// The bytes of tensor i in the streaming tests: a pattern that differs per tensor.
std::vector<uint8_t> pattern(size_t i, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t k = 0; k < n; ++k) v[k] = static_cast<uint8_t>(k * 31 + i * 7 + 1);
  return v;
}

TEST(GgufStreamingWriter, SameBytesAsSerialize) {
  GgufWriter in_memory(64), streamed(64);
  for (GgufWriter* w : {&in_memory, &streamed}) {
    w->set_string("general.architecture", "llama");
    w->set_string_array("tokenizer.ggml.tokens", {"a", "b"});
  }
  const std::vector<std::pair<GgmlType, std::vector<int64_t>>> shapes = {
      {GgmlType::kF32, {5, 3}}, {GgmlType::kQ8_0, {64, 2}}, {GgmlType::kF16, {7}}};
  for (size_t i = 0; i < shapes.size(); ++i) {
    const size_t n = ggml_row_bytes(shapes[i].first, shapes[i].second[0]) *
                     static_cast<size_t>(shapes[i].second.size() > 1 ? shapes[i].second[1] : 1);
    const std::string name = "t" + std::to_string(i);
    ASSERT_TRUE(in_memory.add_tensor(name, shapes[i].first, shapes[i].second, pattern(i, n)).ok());
    if (i == 1) {  // stored tensors and declared ones mix
      ASSERT_TRUE(streamed.add_tensor(name, shapes[i].first, shapes[i].second, pattern(i, n)).ok());
    } else {
      ASSERT_TRUE(streamed.add_tensor_info(name, shapes[i].first, shapes[i].second).ok());
    }
  }
  const std::string path = temp_path("corral_stream");
  size_t calls = 0;
  auto st = streamed.write_streaming(path, [&](size_t i, GgufByteSink& out) -> Status {
    ++calls;
    const auto& sh = shapes[i];
    const size_t row = ggml_row_bytes(sh.first, sh.second[0]);
    const auto bytes = pattern(i, row * static_cast<size_t>(sh.second.size() > 1 ? sh.second[1] : 1));
    for (size_t k = 0; k < bytes.size(); k += row) CORRAL_TRY(out.write(bytes.data() + k, row));
    return {};
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(calls, 2u);
  auto on_disk = read_file(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(on_disk.ok());
  EXPECT_EQ(*on_disk, in_memory.serialize());
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(on_disk->data()), on_disk->size(), path);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ((*f)->tensors().size(), 3u);
}

TEST(GgufStreamingWriter, WrongByteCountLeavesNoFile) {
  GgufWriter w;
  ASSERT_TRUE(w.add_tensor_info("blk.0.w", GgmlType::kF32, {8}).ok());
  const std::string path = temp_path("corral_stream_bad");
  auto st = w.write_streaming(path, [](size_t, GgufByteSink& out) -> Status {
    const float x[4] = {1, 2, 3, 4};
    return out.write(x, sizeof x);  // 16 of 32 bytes
  });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("tensor 'blk.0.w': 16 bytes produced, 32 expected"), std::string::npos)
      << st.error().message;
  EXPECT_FALSE(leftovers_of(path));
}

TEST(GgufStreamingWriter, FillerErrorPropagates) {
  GgufWriter w;
  ASSERT_TRUE(w.add_tensor_info("w", GgmlType::kF32, {8}).ok());
  const std::string path = temp_path("corral_stream_err");
  auto st = w.write_streaming(path, [](size_t, GgufByteSink&) -> Status {
    return make_error("generator broke");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "generator broke");
  EXPECT_FALSE(leftovers_of(path));
}

TEST(GgufStreamingWriter, DeclaredTensorsSerializeAsZeros) {
  GgufWriter w;
  ASSERT_TRUE(w.add_tensor_info("w", GgmlType::kF32, {4}).ok());
  EXPECT_FALSE(w.add_tensor_info("w", GgmlType::kF32, {4}).ok());
  EXPECT_FALSE(w.add_tensor_info("q", GgmlType::kQ8_0, {48}).ok());
  EXPECT_FALSE(w.add_tensor_info("z", GgmlType::kF32, {0}).ok());
  const std::string bytes = w.serialize();
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
  ASSERT_TRUE(f.ok()) << f.error().message;
  const GgufTensor* t = (*f)->find_tensor("w");
  ASSERT_NE(t, nullptr);
  for (size_t i = 0; i < t->n_bytes; ++i) EXPECT_EQ(t->data[i], 0);
}

}  // namespace
}  // namespace corral
