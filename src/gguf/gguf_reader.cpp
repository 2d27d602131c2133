// GGUF parsing. Nothing read from the file is trusted: each length is checked against the bytes
// that remain before it is used, so a corrupt file yields an Error, never an out-of-range read.
#include <algorithm>
#include <cstring>
#include <limits>

#include "gguf/gguf_file.h"

namespace corral {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
constexpr size_t kMaxDims = 4;
// A bound on any single string: GGUF keys and token pieces are short; chat templates are the
// longest strings in real files (tens of KiB).
constexpr uint64_t kMaxStringBytes = 64ull << 20;

class Cursor {
 public:
  Cursor(const uint8_t* base, size_t size, const std::string& label)
      : base_(base), size_(size), label_(label) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <class T>
  Result<T> read(const char* what) {
    if (remaining() < sizeof(T))
      return make_error("{}: truncated file: cannot read {} at byte {}", label_, what, pos_);
    T v;
    std::memcpy(&v, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  Result<std::string> read_string(const char* what) {
    auto len = read<uint64_t>(what);
    if (!len) return len.error();
    if (*len > kMaxStringBytes)
      return make_error("{}: {} has absurd length {} at byte {}", label_, what, *len, pos_ - 8);
    if (*len > remaining())
      return make_error("{}: truncated file: {} of length {} at byte {} runs past the end", label_,
                        what, *len, pos_ - 8);
    std::string s(reinterpret_cast<const char*>(base_ + pos_), static_cast<size_t>(*len));
    pos_ += static_cast<size_t>(*len);
    return s;
  }

  const std::string& label() const { return label_; }

 private:
  const uint8_t* base_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& label_;
};

size_t scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kBool: return 1;
    case GgufValueType::kU16: case GgufValueType::kI16: return 2;
    case GgufValueType::kU32: case GgufValueType::kI32: case GgufValueType::kF32: return 4;
    case GgufValueType::kU64: case GgufValueType::kI64: case GgufValueType::kF64: return 8;
    default: return 0;
  }
}

bool valid_value_type(uint32_t t) { return t <= 12; }

template <class T, class Out>
Result<std::variant<int64_t, double>> read_as(Cursor& c) {
  auto v = c.read<T>("metadata value");
  if (!v) return v.error();
  return std::variant<int64_t, double>(static_cast<Out>(*v));
}

// Reads one scalar of type t into an int64 or a double.
Result<std::variant<int64_t, double>> read_scalar(Cursor& c, GgufValueType t, const std::string& key) {
  switch (t) {
    case GgufValueType::kU8: return read_as<uint8_t, int64_t>(c);
    case GgufValueType::kI8: return read_as<int8_t, int64_t>(c);
    case GgufValueType::kU16: return read_as<uint16_t, int64_t>(c);
    case GgufValueType::kI16: return read_as<int16_t, int64_t>(c);
    case GgufValueType::kU32: return read_as<uint32_t, int64_t>(c);
    case GgufValueType::kI32: return read_as<int32_t, int64_t>(c);
    case GgufValueType::kU64: return read_as<uint64_t, int64_t>(c);
    case GgufValueType::kI64: return read_as<int64_t, int64_t>(c);
    case GgufValueType::kF32: return read_as<float, double>(c);
    case GgufValueType::kF64: return read_as<double, double>(c);
    case GgufValueType::kBool: {
      auto v = c.read<uint8_t>("metadata value");
      if (!v) return v.error();
      if (*v > 1) return make_error("{}: key '{}': bool value {} is not 0 or 1", c.label(), key, *v);
      return std::variant<int64_t, double>(int64_t{*v});
    }
    default: break;
  }
  return make_error("{}: key '{}': not a scalar type", c.label(), key);
}

Result<GgufValue> read_value(Cursor& c, GgufValueType t, const std::string& key) {
  GgufValue v;
  v.type = t;
  if (t == GgufValueType::kString) {
    auto s = c.read_string("string value");
    if (!s) return s.error();
    v.data = std::move(*s);
    return v;
  }
  if (t == GgufValueType::kArray) {
    auto et = c.read<uint32_t>("array element type");
    if (!et) return et.error();
    if (!valid_value_type(*et))
      return make_error("{}: key '{}': unknown array element type {}", c.label(), key, *et);
    const auto elem = static_cast<GgufValueType>(*et);
    if (elem == GgufValueType::kArray)
      return make_error("{}: key '{}': nested arrays are not supported", c.label(), key);
    auto n = c.read<uint64_t>("array length");
    if (!n) return n.error();
    // Every element takes at least one byte (strings at least 8), so a count larger than the
    // remaining bytes is corrupt; this also bounds the allocation below.
    const size_t min_elem = elem == GgufValueType::kString ? 8 : scalar_size(elem);
    if (*n > c.remaining() / min_elem)
      return make_error("{}: key '{}': array of {} {} elements runs past the end of the file "
                        "(corrupt or truncated)", c.label(), key, *n, gguf_value_type_name(elem));
    GgufArray arr;
    arr.elem_type = elem;
    const size_t count = static_cast<size_t>(*n);
    if (elem == GgufValueType::kString) {
      arr.strings.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        auto s = c.read_string("array string");
        if (!s) return s.error();
        arr.strings.push_back(std::move(*s));
      }
    } else if (elem == GgufValueType::kF32 || elem == GgufValueType::kF64) {
      arr.floats.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        auto s = read_scalar(c, elem, key);
        if (!s) return s.error();
        arr.floats.push_back(std::get<double>(*s));
      }
    } else {
      arr.ints.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        auto s = read_scalar(c, elem, key);
        if (!s) return s.error();
        arr.ints.push_back(std::get<int64_t>(*s));
      }
    }
    v.data = std::move(arr);
    return v;
  }
  auto s = read_scalar(c, t, key);
  if (!s) return s.error();
  if (std::holds_alternative<double>(*s)) v.data = std::get<double>(*s);
  else v.data = std::get<int64_t>(*s);
  return v;
}

}  // namespace

const char* gguf_value_type_name(GgufValueType t) {
  static const char* kNames[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                 "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < 13 ? kNames[i] : "unknown";
}

size_t GgufArray::size() const { return ints.size() + floats.size() + strings.size(); }

bool GgufValue::is_int() const {
  return std::holds_alternative<int64_t>(data) && type != GgufValueType::kArray;
}

int64_t GgufTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

std::string GgufTensor::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

Result<std::shared_ptr<GgufFile>> GgufFile::open(const std::string& path) {
  auto mapping = MappedFile::open(path);
  if (!mapping) return mapping.error();
  std::shared_ptr<GgufFile> f(new GgufFile());
  f->mapping_ = *mapping;
  f->base_ = f->mapping_->data();
  f->size_ = f->mapping_->size();
  f->path_ = path;
  CORRAL_TRY(f->parse_all());
  return f;
}

Result<std::shared_ptr<GgufFile>> GgufFile::parse(const uint8_t* bytes, size_t size,
                                                  const std::string& label) {
  std::shared_ptr<GgufFile> f(new GgufFile());
  f->base_ = bytes;
  f->size_ = size;
  f->path_ = label;
  CORRAL_TRY(f->parse_all());
  return f;
}

Status GgufFile::parse_all() {
  Cursor c(base_, size_, path_);
  auto magic = c.read<uint32_t>("magic");
  if (!magic || *magic != kGgufMagic)
    return make_error("{}: not a GGUF file (bad magic)", path_);
  auto version = c.read<uint32_t>("version");
  if (!version) return version.error();
  version_ = *version;
  if (version_ == 1)
    return make_error("{}: GGUF version 1 is obsolete and not supported; re-convert the model "
                      "with a current converter (versions 2 and 3 are supported)", path_);
  if (version_ == 0x02000000u || version_ == 0x03000000u)
    return make_error("{}: big-endian GGUF files are not supported (version field {:#010x})", path_,
                      version_);
  if (version_ != 2 && version_ != 3)
    return make_error("{}: unsupported GGUF version {} (supported: 2, 3)", path_, version_);

  auto n_tensors = c.read<uint64_t>("tensor count");
  if (!n_tensors) return n_tensors.error();
  auto n_kv = c.read<uint64_t>("metadata count");
  if (!n_kv) return n_kv.error();
  // Minimum encoded sizes: a KV is key length (8) + type (4) + 1 byte; a tensor info is name
  // length (8) + n_dims (4) + one dim (8) + type (4) + offset (8).
  if (*n_kv > c.remaining() / 13)
    return make_error("{}: absurd metadata count {}: cannot fit in the {} bytes that follow "
                      "(corrupt or truncated file)", path_, *n_kv, c.remaining());
  if (*n_tensors > c.remaining() / 32)
    return make_error("{}: absurd tensor count {}: cannot fit in the {} bytes that follow "
                      "(corrupt or truncated file)", path_, *n_tensors, c.remaining());

  for (uint64_t i = 0; i < *n_kv; ++i) {
    auto key = c.read_string("metadata key");
    if (!key) return key.error();
    auto type = c.read<uint32_t>("metadata value type");
    if (!type) return type.error();
    if (!valid_value_type(*type))
      return make_error("{}: key '{}' has unknown value type {}", path_, *key, *type);
    auto value = read_value(c, static_cast<GgufValueType>(*type), *key);
    if (!value) return value.error();
    if (kv_.count(*key)) return make_error("{}: duplicate metadata key '{}'", path_, *key);
    key_order_.push_back(*key);
    kv_.emplace(std::move(*key), std::move(*value));
  }

  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != GgufValueType::kU32)
      return make_error("{}: general.alignment must be u32, not {}", path_, gguf_value_type_name(a->type));
    const int64_t al = std::get<int64_t>(a->data);
    if (al <= 0 || (al & (al - 1)) != 0)
      return make_error("{}: general.alignment {} is not a power of two", path_, al);
    alignment_ = static_cast<uint64_t>(al);
  }

  // Checked again now that the key/values are behind us: the reservation below must stay
  // proportional to the bytes actually present.
  if (*n_tensors > c.remaining() / 32)
    return make_error("{}: absurd tensor count {}: cannot fit in the {} bytes after the metadata "
                      "(corrupt or truncated file)", path_, *n_tensors, c.remaining());
  tensors_.reserve(static_cast<size_t>(*n_tensors));
  for (uint64_t i = 0; i < *n_tensors; ++i) {
    GgufTensor t;
    auto name = c.read_string("tensor name");
    if (!name) return name.error();
    t.name = std::move(*name);
    auto n_dims = c.read<uint32_t>("tensor dimension count");
    if (!n_dims) return n_dims.error();
    if (*n_dims == 0 || *n_dims > kMaxDims)
      return make_error("{}: tensor '{}' has {} dimensions (1 to {} allowed)", path_, t.name, *n_dims, kMaxDims);
    int64_t n_elem = 1;
    for (uint32_t d = 0; d < *n_dims; ++d) {
      auto dim = c.read<uint64_t>("tensor dimension");
      if (!dim) return dim.error();
      if (*dim == 0)
        return make_error("{}: tensor '{}' has an empty dimension (dimension {} is 0)", path_, t.name, d);
      if (*dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (*dim != 0 && static_cast<uint64_t>(n_elem) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / *dim))
        return make_error("{}: tensor '{}' has an absurd shape (element count overflows)", path_, t.name);
      t.ne.push_back(static_cast<int64_t>(*dim));
      n_elem *= static_cast<int64_t>(*dim);
    }
    auto type = c.read<uint32_t>("tensor type");
    if (!type) return type.error();
    const GgmlTypeInfo* info = ggml_type_info(*type);
    if (info == nullptr)
      return make_error("{}: tensor '{}' has unknown type id {}", path_, t.name, *type);
    t.type = info->type;
    if (t.ne[0] % info->block_elems != 0)
      return make_error("{}: tensor '{}' of type {}: row length {} is not a multiple of the block size {}",
                        path_, t.name, info->name, t.ne[0], info->block_elems);
    auto offset = c.read<uint64_t>("tensor offset");
    if (!offset) return offset.error();
    t.offset = *offset;
    if (t.offset % alignment_ != 0)
      return make_error("{}: tensor '{}' offset {} is not a multiple of the alignment {}", path_,
                        t.name, t.offset, alignment_);
    const uint64_t blocks = static_cast<uint64_t>(n_elem / info->block_elems);
    if (blocks > std::numeric_limits<uint64_t>::max() / info->block_bytes)
      return make_error("{}: tensor '{}' is absurdly large", path_, t.name);
    t.n_bytes = static_cast<size_t>(blocks * info->block_bytes);
    if (tensor_index_.count(t.name)) return make_error("{}: duplicate tensor name '{}'", path_, t.name);
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  const size_t header_end = c.pos();
  data_offset_ = static_cast<size_t>((header_end + alignment_ - 1) / alignment_ * alignment_);
  if (!tensors_.empty() && data_offset_ > size_)
    return make_error("{}: truncated file: tensor data section starts at byte {} past the end ({} bytes)",
                      path_, data_offset_, size_);
  const uint64_t data_bytes = size_ >= data_offset_ ? size_ - data_offset_ : 0;

  // Extents: inside the file, and no two tensors overlap.
  std::vector<const GgufTensor*> by_offset;
  for (auto& t : tensors_) {
    if (t.offset > data_bytes || t.n_bytes > data_bytes - t.offset)
      return make_error("{}: tensor '{}' ({} bytes at data offset {}) runs past the end of the file "
                        "(truncated or bad offset)", path_, t.name, t.n_bytes, t.offset);
    t.data = base_ + data_offset_ + t.offset;
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensor* prev = by_offset[i - 1];
    if (by_offset[i]->offset < prev->offset + prev->n_bytes)
      return make_error("{}: tensors '{}' and '{}' overlap", path_, prev->name, by_offset[i]->name);
  }
  return {};
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::get<std::string>(v->data);
}

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || !v->is_int()) return std::nullopt;
  return std::get<int64_t>(v->data);
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_float()) return std::get<double>(v->data);
  if (v->is_int()) return static_cast<double>(std::get<int64_t>(v->data));
  return std::nullopt;
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || !v->is_int()) return std::nullopt;
  return std::get<int64_t>(v->data) != 0;
}

const GgufArray* GgufFile::get_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || !v->is_array()) return nullptr;
  return &std::get<GgufArray>(v->data);
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace corral
