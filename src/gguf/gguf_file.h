// GGUF v2/v3 files: metadata key/values and zero-copy tensor views over an mmap.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"
#include "gguf/ggml_type.h"

namespace corral {

enum class GgufValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

const char* gguf_value_type_name(GgufValueType t);

// An array value. Integers (any width, signedness and bool) go to `ints`, floats to `floats`,
// strings to `strings`; only the vector matching elem_type is filled. Nested arrays are refused.
struct GgufArray {
  GgufValueType elem_type = GgufValueType::kU8;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  size_t size() const;
};

struct GgufValue {
  GgufValueType type = GgufValueType::kU8;
  // int64 holds every integer type (u64 values above INT64_MAX wrap; none occur in practice),
  // and bool (0/1).
  std::variant<int64_t, double, std::string, GgufArray> data;

  bool is_int() const;
  bool is_float() const { return type == GgufValueType::kF32 || type == GgufValueType::kF64; }
  bool is_string() const { return type == GgufValueType::kString; }
  bool is_array() const { return type == GgufValueType::kArray; }
};

struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<int64_t> ne;  // ne[0] is the row length (contiguous), as in ggml
  uint64_t offset = 0;      // relative to the data section
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;

  int64_t n_elements() const;
  int64_t n_rows() const { return ne.empty() || ne[0] == 0 ? 0 : n_elements() / ne[0]; }
  std::string shape_string() const;  // "[256, 512]"
};

class GgufFile {
 public:
  // Opens and validates a file; every count, length, offset and extent is checked.
  static Result<std::shared_ptr<GgufFile>> open(const std::string& path);
  // Parses an in-memory image (for tests and fuzzing). `bytes` must outlive the result.
  static Result<std::shared_ptr<GgufFile>> parse(const uint8_t* bytes, size_t size,
                                                 const std::string& label);

  uint32_t version() const { return version_; }
  const std::string& path() const { return path_; }
  uint64_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }
  size_t file_size() const { return size_; }

  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<std::string>& key_order() const { return key_order_; }
  const GgufValue* find(const std::string& key) const;

  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;  // accepts ints too
  std::optional<bool> get_bool(const std::string& key) const;
  const GgufArray* get_array(const std::string& key) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;

 private:
  GgufFile() = default;
  Status parse_all();

  std::shared_ptr<MappedFile> mapping_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<std::string> key_order_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace corral
