// GGUF v3 serialisation: header, key/values in insertion order, tensor infos, aligned data.
#include "gguf/gguf_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

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

Result<size_t> GgufWriter::check_tensor(const std::string& name, GgmlType type,
                                        const std::vector<int64_t>& ne) const {
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (ne.empty() || ne.size() > 4) return make_error("tensor '{}': 1 to 4 dimensions required", name);
  int64_t n = 1;
  for (int64_t d : ne) {
    if (d <= 0 || n > std::numeric_limits<int64_t>::max() / d)
      return make_error("tensor '{}': bad shape (dimension {})", name, d);
    n *= d;
  }
  if (ne[0] % info.block_elems != 0)
    return make_error("tensor '{}': row length {} is not a multiple of {}", name, ne[0], info.block_elems);
  for (const auto& t : tensors_)
    if (t.name == name) return make_error("tensor '{}' added twice", name);
  return static_cast<size_t>(n / info.block_elems) * info.block_bytes;
}

Status GgufWriter::add_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& ne,
                              std::vector<uint8_t> data) {
  auto expect = check_tensor(name, type, ne);
  if (!expect) return expect.error();
  if (data.size() != *expect)
    return make_error("tensor '{}': {} bytes given, {} expected", name, data.size(), *expect);
  tensors_.push_back({name, type, ne, *expect, true, std::move(data)});
  return {};
}

Status GgufWriter::add_tensor_info(const std::string& name, GgmlType type,
                                   const std::vector<int64_t>& ne) {
  auto expect = check_tensor(name, type, ne);
  if (!expect) return expect.error();
  tensors_.push_back({name, type, ne, *expect, false, {}});
  return {};
}

std::string GgufWriter::serialize_header() const {
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
    offset += (t.n_bytes + alignment_ - 1) / alignment_ * alignment_;
  }
  pad_to(out, alignment_);
  return out;
}

std::string GgufWriter::serialize() const {
  std::string out = serialize_header();
  for (const auto& t : tensors_) {
    if (t.has_data) out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
    else out.append(t.n_bytes, '\0');
    pad_to(out, alignment_);
  }
  return out;
}

Status GgufWriter::write(const std::string& path) const { return atomic_write_file(path, serialize()); }

namespace {

// Buffered writes to a file descriptor; counts the bytes of the tensor being written.
class FdSink final : public GgufByteSink {
 public:
  FdSink(int fd, const std::string& path) : fd_(fd), path_(path) { buf_.reserve(kBufferBytes); }

  Status write(const void* data, size_t n_bytes) override {
    const char* p = static_cast<const char*>(data);
    counted_ += n_bytes;
    if (buf_.size() + n_bytes > kBufferBytes) CORRAL_TRY(flush());
    if (n_bytes >= kBufferBytes) return write_all(p, n_bytes);
    buf_.append(p, n_bytes);
    return {};
  }

  Status flush() {
    if (buf_.empty()) return {};
    CORRAL_TRY(write_all(buf_.data(), buf_.size()));
    buf_.clear();
    return {};
  }

  uint64_t take_count() {
    const uint64_t n = counted_;
    counted_ = 0;
    return n;
  }

 private:
  // Large enough that write(2) calls are rare next to the cost of producing the bytes.
  static constexpr size_t kBufferBytes = 4u << 20;

  Status write_all(const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return make_error("{}: write failed: {}", path_, std::strerror(errno));
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return {};
  }

  int fd_;
  const std::string& path_;
  std::string buf_;
  uint64_t counted_ = 0;
};

}  // namespace

Status GgufWriter::write_streaming(const std::string& path, const GgufTensorFiller& fill) const {
  std::random_device rd;
  const std::string tmp = path + ".tmp-" + std::to_string(rd());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return make_error("{}: cannot create: {}", tmp, std::strerror(errno));
  auto body = [&]() -> Status {
    FdSink sink(fd, path);
    const std::string header = serialize_header();
    CORRAL_TRY(sink.write(header.data(), header.size()));
    const std::string padding(alignment_, '\0');
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const Tensor& t = tensors_[i];
      sink.take_count();
      if (t.has_data) {
        CORRAL_TRY(sink.write(t.data.data(), t.data.size()));
      } else {
        if (!fill) return make_error("{}: tensor '{}' has no data and no filler", path, t.name);
        CORRAL_TRY(fill(i, sink));
      }
      const uint64_t got = sink.take_count();
      if (got != t.n_bytes)
        return make_error("{}: tensor '{}': {} bytes produced, {} expected", path, t.name, got, t.n_bytes);
      const size_t pad = (alignment_ - t.n_bytes % alignment_) % alignment_;
      CORRAL_TRY(sink.write(padding.data(), pad));
    }
    CORRAL_TRY(sink.flush());
    if (::fsync(fd) != 0) return make_error("{}: fsync failed: {}", path, std::strerror(errno));
    return {};
  };
  Status st = body();
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return make_error("{}: rename failed: {}", path, std::strerror(err));
  }
  return fsync_directory(std::filesystem::path(path).parent_path().string());
}

}  // namespace corral
