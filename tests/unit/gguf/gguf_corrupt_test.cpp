// Hand-made corrupt GGUF files: each must be refused with an error that names the file and the
// problem, and none may crash (the ASan+UBSan build runs these too).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "gguf_bytes.h"

namespace corral {
namespace {

using testing::GgufBytes;
using testing::parse_bytes;

constexpr const char* kLabel = "corrupt.gguf";
constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ8_0 = 8;
constexpr uint64_t kHuge = uint64_t{1} << 63;

// Parses `bytes` and returns the error message; fails the test if the file was accepted.
std::string refusal(const std::string& bytes) {
  auto f = parse_bytes(bytes, kLabel);
  if (f.ok()) {
    ADD_FAILURE() << "corrupt file was accepted";
    return "";
  }
  return f.error().message;
}

#define EXPECT_REFUSED(file, problem)                                              \
  do {                                                                              \
    const std::string msg_ = refusal((file).bytes());                              \
    EXPECT_NE(msg_.find(kLabel), std::string::npos) << "no file name in: " << msg_; \
    EXPECT_NE(msg_.find(problem), std::string::npos) << "got: " << msg_;            \
  } while (0)

// A header with one f32 tensor of `ne` and enough zero data for it at offset 0.
GgufBytes one_tensor_file(const std::vector<uint64_t>& ne, uint32_t type = kF32,
                          uint64_t offset = 0) {
  GgufBytes b;
  b.header(3, 1, 0).tensor_info("w", ne, type, offset).pad(32).zeros(256);
  return b;
}

// ---- magic and version ----

TEST(GgufCorrupt, BadMagic) {
  GgufBytes b;
  b.raw<uint32_t>(0x4c4d4747).u32(3).u64(0).u64(0);  // "GGML"
  EXPECT_REFUSED(b, "not a GGUF file (bad magic)");
  EXPECT_REFUSED(GgufBytes().zeros(64), "not a GGUF file");
}

TEST(GgufCorrupt, EmptyAndTinyFilesAreNotGguf) {
  EXPECT_REFUSED(GgufBytes(), "not a GGUF file");
  GgufBytes three;
  three.u8('G').u8('G').u8('U');
  EXPECT_REFUSED(three, "not a GGUF file");
  auto f = GgufFile::parse(nullptr, 0, kLabel);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("bad magic"), std::string::npos);
}

TEST(GgufCorrupt, VersionOneIsObsolete) {
  GgufBytes b;
  b.header(1, 0, 0);
  EXPECT_REFUSED(b, "GGUF version 1 is obsolete");
}

TEST(GgufCorrupt, VersionFourAndZeroAreUnsupported) {
  GgufBytes v4;
  v4.header(4, 0, 0);
  EXPECT_REFUSED(v4, "unsupported GGUF version 4");
  GgufBytes v0;
  v0.header(0, 0, 0);
  EXPECT_REFUSED(v0, "unsupported GGUF version 0");
}

TEST(GgufCorrupt, BigEndianIsNamed) {
  GgufBytes b;
  b.header(0x03000000u, 0, 0);
  EXPECT_REFUSED(b, "big-endian");
}

TEST(GgufCorrupt, VersionTwoIsAccepted) {
  GgufBytes b;
  b.header(2, 1, 1).kv_u32("a.b", 7).tensor_info("w", {4}, kF32, 0).pad(32).zeros(16);
  auto f = parse_bytes(b.bytes(), kLabel);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ((*f)->version(), 2u);
  EXPECT_EQ((*f)->get_int("a.b"), 7);
  ASSERT_EQ((*f)->tensors().size(), 1u);
  EXPECT_EQ((*f)->tensors()[0].n_bytes, 16u);
}

// ---- truncation at every offset ----

std::string sample_file() {
  GgufWriter w(64);
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set_u64("big", 1ull << 40);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_bool("flag", true);
  w.set_string_array("tokenizer.ggml.tokens", {"<s>", "a", "", "bc"});
  w.set_f32_array("tokenizer.ggml.scores", {0.5f, -1.0f, 2.0f, 0.0f});
  w.set_i32_array("tokenizer.ggml.token_type", {3, 1, 1, 1});
  std::vector<uint8_t> a(8 * 2 * 4), h(16 * 2 * 2), q(2 * 34);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(i * 7 + 1);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 3 + 2);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<uint8_t>(i * 5 + 3);
  EXPECT_TRUE(w.add_tensor("a", GgmlType::kF32, {8, 2}, a).ok());
  EXPECT_TRUE(w.add_tensor("h", GgmlType::kF16, {16, 2}, h).ok());
  EXPECT_TRUE(w.add_tensor("q", GgmlType::kQ8_0, {32, 2}, q).ok());
  return w.serialize();
}

TEST(GgufCorrupt, EveryPrefixIsRefusedOrParsesConsistently) {
  const std::string full = sample_file();
  auto whole = parse_bytes(full, kLabel);
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  const GgufFile& ref = **whole;
  ASSERT_EQ(ref.tensors().size(), 3u);
  EXPECT_EQ(ref.alignment(), 64u);
  size_t data_end = 0;  // end of the last tensor's bytes; only padding follows
  for (const auto& t : ref.tensors())
    data_end = std::max(data_end, ref.data_offset() + t.offset + t.n_bytes);

  size_t n_refused = 0;
  for (size_t len = 0; len < full.size(); ++len) {
    const std::string prefix = full.substr(0, len);
    auto f = parse_bytes(prefix, kLabel);
    if (len < data_end) {
      ASSERT_FALSE(f.ok()) << "prefix of " << len << " bytes accepted";
      const std::string& msg = f.error().message;
      EXPECT_NE(msg.find(kLabel), std::string::npos) << msg;
      const bool names_it = msg.find("truncated") != std::string::npos ||
                            (len < 4 && msg.find("bad magic") != std::string::npos);
      EXPECT_TRUE(names_it) << "prefix of " << len << " bytes: " << msg;
      ++n_refused;
      continue;
    }
    // Only trailing padding is missing: the file is complete and must read the same.
    ASSERT_TRUE(f.ok()) << "prefix of " << len << ": " << f.error().message;
    EXPECT_EQ((*f)->key_order(), ref.key_order());
    ASSERT_EQ((*f)->tensors().size(), ref.tensors().size());
    for (size_t i = 0; i < ref.tensors().size(); ++i) {
      const GgufTensor& t = (*f)->tensors()[i];
      EXPECT_EQ(t.name, ref.tensors()[i].name);
      EXPECT_EQ(t.ne, ref.tensors()[i].ne);
      EXPECT_EQ(std::memcmp(t.data, ref.tensors()[i].data, t.n_bytes), 0);
    }
  }
  EXPECT_EQ(n_refused, data_end);
}

TEST(GgufCorrupt, TruncatedTensorData) {
  GgufBytes b;
  b.header(3, 1, 0).tensor_info("blk.0.w", {64}, kF32, 0).pad(32).zeros(255);
  EXPECT_REFUSED(b, "tensor 'blk.0.w' (256 bytes at data offset 0) runs past the end");
}

TEST(GgufCorrupt, DataSectionPastTheEnd) {
  GgufBytes b;
  b.header(3, 1, 0).tensor_info("w", {1}, kF32, 0);  // no padding, no data
  ASSERT_NE(b.size() % 32, 0u);
  EXPECT_REFUSED(b, "tensor data section starts at byte");
}

// ---- counts and lengths ----

TEST(GgufCorrupt, AbsurdMetadataCount) {
  GgufBytes b;
  b.header(3, 0, kHuge).kv_u32("a", 1);
  EXPECT_REFUSED(b, "absurd metadata count 9223372036854775808");
  GgufBytes all_ones;
  all_ones.header(3, 0, std::numeric_limits<uint64_t>::max());
  EXPECT_REFUSED(all_ones, "absurd metadata count");
}

TEST(GgufCorrupt, AbsurdTensorCount) {
  GgufBytes b;
  b.header(3, kHuge, 0).tensor_info("w", {4}, kF32, 0).pad(32).zeros(16);
  EXPECT_REFUSED(b, "absurd tensor count 9223372036854775808");
  // Plausible against the whole file, impossible once the metadata has been read.
  GgufBytes late;
  late.header(3, 8, 1).str("k").u32(static_cast<uint32_t>(GgufValueType::kString)).str(std::string(300, 'x'));
  EXPECT_REFUSED(late, "absurd tensor count 8");
}

TEST(GgufCorrupt, AbsurdKeyLength) {
  GgufBytes b;
  b.header(3, 0, 1).u64(kHuge).zeros(32);
  EXPECT_REFUSED(b, "metadata key has absurd length 9223372036854775808");
}

TEST(GgufCorrupt, StringLongerThanTheFile) {
  GgufBytes b;
  b.header(3, 0, 1).str("general.name").u32(static_cast<uint32_t>(GgufValueType::kString)).u64(1000).zeros(10);
  EXPECT_REFUSED(b, "string value of length 1000");
  EXPECT_REFUSED(b, "runs past the end");
}

TEST(GgufCorrupt, AbsurdStringValueLength) {
  GgufBytes b;
  b.header(3, 0, 1).str("general.name").u32(static_cast<uint32_t>(GgufValueType::kString))
      .u64(std::numeric_limits<uint64_t>::max()).zeros(10);
  EXPECT_REFUSED(b, "string value has absurd length 18446744073709551615");
}

TEST(GgufCorrupt, AbsurdArrayLength) {
  GgufBytes b;
  b.header(3, 0, 1).str("arr").u32(static_cast<uint32_t>(GgufValueType::kArray))
      .u32(static_cast<uint32_t>(GgufValueType::kU32)).u64(uint64_t{1} << 62).zeros(64);
  EXPECT_REFUSED(b, "key 'arr': array of 4611686018427387904 u32 elements runs past the end");
  GgufBytes strings;
  strings.header(3, 0, 1).str("tokenizer.ggml.tokens").u32(static_cast<uint32_t>(GgufValueType::kArray))
      .u32(static_cast<uint32_t>(GgufValueType::kString)).u64(kHuge).zeros(64);
  EXPECT_REFUSED(strings, "key 'tokenizer.ggml.tokens': array of 9223372036854775808 string elements");
  // A count that fits the bytes as u8 but whose strings do not.
  GgufBytes short_strings;
  short_strings.header(3, 0, 1).str("t").u32(static_cast<uint32_t>(GgufValueType::kArray))
      .u32(static_cast<uint32_t>(GgufValueType::kString)).u64(3).str("ab").u64(50).zeros(8);
  EXPECT_REFUSED(short_strings, "array string of length 50");
}

// ---- types ----

TEST(GgufCorrupt, UnknownValueType) {
  GgufBytes b;
  b.header(3, 0, 1).str("general.x").u32(13).u32(0);
  EXPECT_REFUSED(b, "key 'general.x' has unknown value type 13");
  GgufBytes max;
  max.header(3, 0, 1).str("general.x").u32(0xffffffffu).u32(0);
  EXPECT_REFUSED(max, "unknown value type 4294967295");
}

TEST(GgufCorrupt, UnknownArrayElementTypeAndNestedArrays) {
  GgufBytes b;
  b.header(3, 0, 1).str("a").u32(static_cast<uint32_t>(GgufValueType::kArray)).u32(99).u64(0);
  EXPECT_REFUSED(b, "key 'a': unknown array element type 99");
  GgufBytes nested;
  nested.header(3, 0, 1).str("a").u32(static_cast<uint32_t>(GgufValueType::kArray))
      .u32(static_cast<uint32_t>(GgufValueType::kArray)).u64(0);
  EXPECT_REFUSED(nested, "key 'a': nested arrays are not supported");
}

TEST(GgufCorrupt, BoolOutOfRange) {
  GgufBytes b;
  b.header(3, 0, 1).str("tokenizer.ggml.add_bos_token").u32(static_cast<uint32_t>(GgufValueType::kBool)).u8(2);
  EXPECT_REFUSED(b, "bool value 2 is not 0 or 1");
}

TEST(GgufCorrupt, UnknownTensorType) {
  for (uint32_t id : {4u, 5u, 31u, 40u, 0xffffffffu}) {
    SCOPED_TRACE(id);
    EXPECT_REFUSED(one_tensor_file({32}, id), "tensor 'w' has unknown type id " + std::to_string(id));
  }
}

TEST(GgufCorrupt, KnownTypeWithoutKernelsStillParses) {
  // TQ1_0 is a real ggml type: the reader describes it; refusing it is the model loader's job.
  auto f = parse_bytes(one_tensor_file({256}, 34).bytes(), kLabel);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ((*f)->tensors()[0].type, GgmlType::kTQ1_0);
  EXPECT_EQ((*f)->tensors()[0].n_bytes, 54u);
}

// ---- duplicates ----

TEST(GgufCorrupt, DuplicateKeys) {
  GgufBytes b;
  b.header(3, 0, 2).kv_u32("llama.block_count", 2).kv_u32("llama.block_count", 3);
  EXPECT_REFUSED(b, "duplicate metadata key 'llama.block_count'");
}

TEST(GgufCorrupt, DuplicateTensorNames) {
  GgufBytes b;
  b.header(3, 2, 0).tensor_info("w", {8}, kF32, 0).tensor_info("w", {8}, kF32, 32).pad(32).zeros(64);
  EXPECT_REFUSED(b, "duplicate tensor name 'w'");
}

// ---- offsets and alignment ----

TEST(GgufCorrupt, OffsetOutOfRange) {
  EXPECT_REFUSED(one_tensor_file({8}, kF32, 1024), "tensor 'w' (32 bytes at data offset 1024) runs past the end");
  // Large enough that offset + size would wrap around in 64 bits.
  EXPECT_REFUSED(one_tensor_file({8}, kF32, 0xffffffffffffffe0ull), "runs past the end");
}

TEST(GgufCorrupt, OverlappingTensors) {
  GgufBytes b;
  b.header(3, 2, 0).tensor_info("a", {16}, kF32, 0).tensor_info("b", {16}, kF32, 32).pad(32).zeros(128);
  EXPECT_REFUSED(b, "tensors 'a' and 'b' overlap");
  // The same, listed in the other order.
  GgufBytes c;
  c.header(3, 2, 0).tensor_info("b", {16}, kF32, 32).tensor_info("a", {16}, kF32, 0).pad(32).zeros(128);
  EXPECT_REFUSED(c, "tensors 'a' and 'b' overlap");
}

TEST(GgufCorrupt, AdjacentTensorsDoNotOverlap) {
  GgufBytes b;
  b.header(3, 2, 0).tensor_info("a", {16}, kF32, 0).tensor_info("b", {16}, kF32, 64).pad(32).zeros(128);
  auto f = parse_bytes(b.bytes(), kLabel);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ((*f)->find_tensor("b")->data, (*f)->find_tensor("a")->data + 64);
}

TEST(GgufCorrupt, UnalignedOffset) {
  EXPECT_REFUSED(one_tensor_file({8}, kF32, 4), "tensor 'w' offset 4 is not a multiple of the alignment 32");
  GgufBytes b;
  b.header(3, 1, 1).kv_u32("general.alignment", 64).tensor_info("w", {8}, kF32, 32).pad(64).zeros(128);
  EXPECT_REFUSED(b, "offset 32 is not a multiple of the alignment 64");
}

TEST(GgufCorrupt, BadAlignmentValue) {
  for (uint32_t al : {0u, 3u, 48u}) {
    SCOPED_TRACE(al);
    GgufBytes b;
    b.header(3, 0, 1).kv_u32("general.alignment", al);
    EXPECT_REFUSED(b, "general.alignment " + std::to_string(al) + " is not a power of two");
  }
  GgufBytes wide;
  wide.header(3, 0, 1).str("general.alignment").u32(static_cast<uint32_t>(GgufValueType::kU64)).u64(32);
  EXPECT_REFUSED(wide, "general.alignment must be u32, not u64");
  GgufBytes text;
  text.header(3, 0, 1).kv_string("general.alignment", "32");
  EXPECT_REFUSED(text, "general.alignment must be u32, not string");
}

TEST(GgufCorrupt, CustomAlignmentIsHonoured) {
  GgufBytes b;
  b.header(3, 1, 1).kv_u32("general.alignment", 128).tensor_info("w", {8}, kF32, 128).pad(128).zeros(256);
  auto f = parse_bytes(b.bytes(), kLabel);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ((*f)->alignment(), 128u);
  EXPECT_EQ((*f)->data_offset() % 128, 0u);
}

// ---- shapes ----

TEST(GgufCorrupt, DimensionCount) {
  EXPECT_REFUSED(one_tensor_file({}), "tensor 'w' has 0 dimensions (1 to 4 allowed)");
  EXPECT_REFUSED(one_tensor_file({1, 1, 1, 1, 1}), "tensor 'w' has 5 dimensions (1 to 4 allowed)");
  GgufBytes b;  // n_dims = 2^32-1 with no dims after it
  b.header(3, 1, 0).str("w").u32(0xffffffffu).zeros(64);
  EXPECT_REFUSED(b, "has 4294967295 dimensions");
}

TEST(GgufCorrupt, ShapeOverflow) {
  EXPECT_REFUSED(one_tensor_file({uint64_t{1} << 32, uint64_t{1} << 32}), "tensor 'w' has an absurd shape");
  EXPECT_REFUSED(one_tensor_file({kHuge}), "has an absurd shape");
  EXPECT_REFUSED(one_tensor_file({2, 2, 2, uint64_t{1} << 61}), "has an absurd shape");
  // The element count fits in int64 but its byte size does not.
  EXPECT_REFUSED(one_tensor_file({uint64_t{1} << 61, 2}), "tensor 'w' is absurdly large");
  // Representable but far larger than the file.
  EXPECT_REFUSED(one_tensor_file({uint64_t{1} << 20, uint64_t{1} << 20}), "runs past the end");
}

TEST(GgufCorrupt, EmptyDimension) {
  EXPECT_REFUSED(one_tensor_file({0}), "tensor 'w' has an empty dimension (dimension 0 is 0)");
  EXPECT_REFUSED(one_tensor_file({4, 0}), "dimension 1 is 0");
}

TEST(GgufCorrupt, RowNotAMultipleOfTheBlock) {
  EXPECT_REFUSED(one_tensor_file({48, 2}, kQ8_0),
                 "tensor 'w' of type q8_0: row length 48 is not a multiple of the block size 32");
}

// ---- on disk: the error names the path ----

TEST(GgufCorrupt, OpenNamesThePath) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("corral_gguf_corrupt_" + std::to_string(::getpid()) + ".gguf")).string();
  GgufBytes b;
  b.header(3, 2, 0).tensor_info("a", {16}, kF32, 0).tensor_info("b", {16}, kF32, 32).pad(32).zeros(128);
  ASSERT_TRUE(atomic_write_file(path, b.bytes()).ok());
  auto f = GgufFile::open(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find(path), std::string::npos) << f.error().message;
  EXPECT_NE(f.error().message.find("overlap"), std::string::npos) << f.error().message;

  auto missing = GgufFile::open(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(path), std::string::npos);
}

}  // namespace
}  // namespace corral
