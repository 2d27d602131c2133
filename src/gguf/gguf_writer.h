// Builds a GGUF v3 file in memory and writes it atomically (test models, `corral create`).
// Large files stream: tensors declared with add_tensor_info() get their bytes from a callback
// while write_streaming() writes, so no more than one piece of one tensor is held in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_file.h"

namespace corral {

// Receives the bytes of one tensor, in as many pieces as the producer likes.
class GgufByteSink {
 public:
  virtual ~GgufByteSink() = default;
  virtual Status write(const void* data, size_t n_bytes) = 0;
};

// Produces the bytes of the tensor at `index` (in the order tensors were added) into `out`:
// exactly that tensor's byte size, in its type's block layout.
using GgufTensorFiller = std::function<Status(size_t index, GgufByteSink& out)>;

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32) : alignment_(alignment) {}

  void set_string(const std::string& key, const std::string& value);
  void set_u32(const std::string& key, uint32_t value);
  void set_i32(const std::string& key, int32_t value);
  void set_u64(const std::string& key, uint64_t value);
  void set_f32(const std::string& key, float value);
  void set_bool(const std::string& key, bool value);
  void set_value(const std::string& key, const GgufValue& value);  // any type, e.g. copied
  void set_string_array(const std::string& key, const std::vector<std::string>& values);
  void set_f32_array(const std::string& key, const std::vector<float>& values);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& values);

  // `data` must hold exactly the bytes of the tensor in `type`'s block layout.
  Status add_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& ne,
                    std::vector<uint8_t> data);

  // Declares a tensor whose bytes write_streaming() will ask `fill` for.
  Status add_tensor_info(const std::string& name, GgmlType type, const std::vector<int64_t>& ne);

  // The whole file in memory. Tensors declared with add_tensor_info() are written as zeros.
  std::string serialize() const;
  Status write(const std::string& path) const;  // atomic; declared-only tensors are zeros
  // Writes atomically without building the file in memory: the header (offsets follow from the
  // declared shapes), then each tensor in order, from its stored bytes or from `fill` for
  // tensors declared with add_tensor_info(). A filler error, or a byte count that differs from
  // the tensor's size, aborts the write and leaves no file behind.
  Status write_streaming(const std::string& path, const GgufTensorFiller& fill) const;

 private:
  struct Entry {
    std::string key;
    GgufValue value;
  };
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    size_t n_bytes;
    bool has_data;  // false: declared with add_tensor_info(), bytes come from a filler
    std::vector<uint8_t> data;
  };
  void put(const std::string& key, GgufValue value);
  Result<size_t> check_tensor(const std::string& name, GgmlType type,
                              const std::vector<int64_t>& ne) const;
  std::string serialize_header() const;  // through the padding before the data section

  uint32_t alignment_;
  std::vector<Entry> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace corral
