// A tiny byte-level GGUF builder for hand-made (often deliberately corrupt) test files: each
// call appends exactly the bytes it names, with no validation, so any field can be wrong.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"

namespace corral::testing {

class GgufBytes {
 public:
  template <class T>
  GgufBytes& raw(T v) {
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof(T));
    out_.append(buf, sizeof(T));
    return *this;
  }
  GgufBytes& u8(uint8_t v) { return raw(v); }
  GgufBytes& u32(uint32_t v) { return raw(v); }
  GgufBytes& u64(uint64_t v) { return raw(v); }
  GgufBytes& f32(float v) { return raw(v); }
  GgufBytes& str(const std::string& s) {
    u64(s.size());
    out_ += s;
    return *this;
  }
  GgufBytes& zeros(size_t n) {
    out_.append(n, '\0');
    return *this;
  }
  GgufBytes& pad(size_t alignment) {
    while (out_.size() % alignment != 0) out_.push_back('\0');
    return *this;
  }

  // magic, version, tensor count, key/value count
  GgufBytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    out_ += "GGUF";
    return u32(version).u64(n_tensors).u64(n_kv);
  }
  GgufBytes& kv_u32(const std::string& key, uint32_t v) {
    return str(key).u32(static_cast<uint32_t>(GgufValueType::kU32)).u32(v);
  }
  GgufBytes& kv_string(const std::string& key, const std::string& v) {
    return str(key).u32(static_cast<uint32_t>(GgufValueType::kString)).str(v);
  }
  // name, dims (ne[0] first), ggml type id, offset into the data section
  GgufBytes& tensor_info(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type,
                         uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    return u32(type).u64(offset);
  }

  size_t size() const { return out_.size(); }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

inline Result<std::shared_ptr<GgufFile>> parse_bytes(const std::string& bytes,
                                                     const std::string& label) {
  return GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), label);
}

}  // namespace corral::testing
