// GGUF v3 serialisation: header, key/values in insertion order, tensor infos, aligned data.
#include "gguf/gguf_writer.h"

#include <cstring>

#include "base/file_util.h"

namespace corral {
namespace {

template <class T>
void put_raw(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  put_raw<uint64_t>(out, s.size());
  out += s;
}

void put_scalar(std::string& out, GgufValueType t, int64_t i, double f) {
  switch (t) {
    case GgufValueType::kU8: put_raw<uint8_t>(out, static_cast<uint8_t>(i)); break;
    case GgufValueType::kI8: put_raw<int8_t>(out, static_cast<int8_t>(i)); break;
    case GgufValueType::kBool: put_raw<uint8_t>(out, static_cast<uint8_t>(i != 0)); break;
    case GgufValueType::kU16: put_raw<uint16_t>(out, static_cast<uint16_t>(i)); break;
    case GgufValueType::kI16: put_raw<int16_t>(out, static_cast<int16_t>(i)); break;
    case GgufValueType::kU32: put_raw<uint32_t>(out, static_cast<uint32_t>(i)); break;
    case GgufValueType::kI32: put_raw<int32_t>(out, static_cast<int32_t>(i)); break;
    case GgufValueType::kU64: put_raw<uint64_t>(out, static_cast<uint64_t>(i)); break;
    case GgufValueType::kI64: put_raw<int64_t>(out, i); break;
    case GgufValueType::kF32: put_raw<float>(out, static_cast<float>(f)); break;
    case GgufValueType::kF64: put_raw<double>(out, f); break;
    default: break;
  }
}

void put_value(std::string& out, const GgufValue& v) {
  put_raw<uint32_t>(out, static_cast<uint32_t>(v.type));
  if (v.type == GgufValueType::kString) {
    put_string(out, std::get<std::string>(v.data));
  } else if (v.type == GgufValueType::kArray) {
    const auto& a = std::get<GgufArray>(v.data);
    put_raw<uint32_t>(out, static_cast<uint32_t>(a.elem_type));
    put_raw<uint64_t>(out, a.size());
    for (const auto& s : a.strings) put_string(out, s);
    for (double f : a.floats) put_scalar(out, a.elem_type, 0, f);
    for (int64_t i : a.ints) put_scalar(out, a.elem_type, i, 0);
  } else if (v.is_float()) {
    put_scalar(out, v.type, 0, std::get<double>(v.data));
  } else {
    put_scalar(out, v.type, std::get<int64_t>(v.data), 0);
  }
}

void pad_to(std::string& out, size_t alignment) {
  while (out.size() % alignment != 0) out.push_back('\0');
}

}  // namespace

void GgufWriter::put(const std::string& key, GgufValue value) {
  for (auto& e : kv_) {
    if (e.key == key) {
      e.value = std::move(value);
      return;
    }
  }
  kv_.push_back({key, std::move(value)});
}

void GgufWriter::set_string(const std::string& key, const std::string& value) {
  put(key, GgufValue{GgufValueType::kString, value});
}
void GgufWriter::set_u32(const std::string& key, uint32_t value) {
  put(key, GgufValue{GgufValueType::kU32, int64_t{value}});
}
void GgufWriter::set_i32(const std::string& key, int32_t value) {
  put(key, GgufValue{GgufValueType::kI32, int64_t{value}});
}
void GgufWriter::set_u64(const std::string& key, uint64_t value) {
  put(key, GgufValue{GgufValueType::kU64, static_cast<int64_t>(value)});
}
void GgufWriter::set_f32(const std::string& key, float value) {
  put(key, GgufValue{GgufValueType::kF32, double{value}});
}
void GgufWriter::set_bool(const std::string& key, bool value) {
  put(key, GgufValue{GgufValueType::kBool, int64_t{value ? 1 : 0}});
}
void GgufWriter::set_value(const std::string& key, const GgufValue& value) { put(key, value); }

void GgufWriter::set_string_array(const std::string& key, const std::vector<std::string>& values) {
  GgufArray a;
  a.elem_type = GgufValueType::kString;
  a.strings = values;
  put(key, GgufValue{GgufValueType::kArray, std::move(a)});
}
void GgufWriter::set_f32_array(const std::string& key, const std::vector<float>& values) {
  GgufArray a;
  a.elem_type = GgufValueType::kF32;
  a.floats.assign(values.begin(), values.end());
  put(key, GgufValue{GgufValueType::kArray, std::move(a)});
}
void GgufWriter::set_i32_array(const std::string& key, const std::vector<int32_t>& values) {
  GgufArray a;
  a.elem_type = GgufValueType::kI32;
  a.ints.assign(values.begin(), values.end());
  put(key, GgufValue{GgufValueType::kArray, std::move(a)});
}

Status GgufWriter::add_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& ne,
                              std::vector<uint8_t> data) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (ne.empty() || ne.size() > 4) return make_error("tensor '{}': 1 to 4 dimensions required", name);
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  if (ne[0] % info.block_elems != 0)
    return make_error("tensor '{}': row length {} is not a multiple of {}", name, ne[0], info.block_elems);
  const size_t expect = static_cast<size_t>(n / info.block_elems) * info.block_bytes;
  if (data.size() != expect)
    return make_error("tensor '{}': {} bytes given, {} expected", name, data.size(), expect);
  for (const auto& t : tensors_)
    if (t.name == name) return make_error("tensor '{}' added twice", name);
  tensors_.push_back({name, type, ne, std::move(data)});
  return {};
}

std::string GgufWriter::serialize() const {
  std::string out;
  put_raw<uint32_t>(out, 0x46554747);
  put_raw<uint32_t>(out, 3);
  put_raw<uint64_t>(out, tensors_.size());
  const bool has_alignment_key = alignment_ != 32;
  put_raw<uint64_t>(out, kv_.size() + (has_alignment_key ? 1 : 0));
  if (has_alignment_key) {
    put_string(out, "general.alignment");
    put_value(out, GgufValue{GgufValueType::kU32, int64_t{alignment_}});
  }
  for (const auto& e : kv_) {
    put_string(out, e.key);
    put_value(out, e.value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(out, t.name);
    put_raw<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) put_raw<uint64_t>(out, static_cast<uint64_t>(d));
    put_raw<uint32_t>(out, static_cast<uint32_t>(t.type));
    put_raw<uint64_t>(out, offset);
    offset += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  pad_to(out, alignment_);
  for (const auto& t : tensors_) {
    out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
    pad_to(out, alignment_);
  }
  return out;
}

Status GgufWriter::write(const std::string& path) const { return atomic_write_file(path, serialize()); }

}  // namespace corral
