// libFuzzer target for the GGUF reader: parse arbitrary bytes, then touch every metadata value
// and every byte range a tensor view claims, so ASan catches any extent the reader let through.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "gguf/gguf_file.h"

namespace {

volatile uint64_t g_sink;  // keeps the reads below from being optimised away

void touch(const corral::GgufValue& v) {
  uint64_t acc = static_cast<uint64_t>(v.type);
  if (const auto* i = std::get_if<int64_t>(&v.data)) acc += static_cast<uint64_t>(*i);
  if (const auto* d = std::get_if<double>(&v.data)) acc += static_cast<uint64_t>(*d != 0.0);
  if (const auto* s = std::get_if<std::string>(&v.data)) {
    for (char c : *s) acc += static_cast<unsigned char>(c);
  }
  if (const auto* a = std::get_if<corral::GgufArray>(&v.data)) {
    acc += a->size();
    for (int64_t x : a->ints) acc += static_cast<uint64_t>(x);
    for (double x : a->floats) acc += static_cast<uint64_t>(x != 0.0);
    for (const auto& s : a->strings) acc += s.size() + (s.empty() ? 0 : static_cast<unsigned char>(s.back()));
  }
  g_sink = g_sink + acc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = corral::GgufFile::parse(data, size, "fuzz.gguf");
  if (!f.ok()) {
    g_sink = g_sink + f.error().message.size();
    return 0;
  }
  const corral::GgufFile& file = **f;
  for (const auto& key : file.key_order()) {
    const corral::GgufValue* v = file.find(key);
    if (v == nullptr) __builtin_trap();  // key_order and metadata disagree
    touch(*v);
    (void)file.get_string(key);
    (void)file.get_int(key);
    (void)file.get_float(key);
    (void)file.get_bool(key);
    (void)file.get_array(key);
  }
  uint64_t acc = 0;
  for (const auto& t : file.tensors()) {
    if (file.find_tensor(t.name) != &t) __builtin_trap();
    acc += static_cast<uint64_t>(t.n_elements()) + static_cast<uint64_t>(t.n_rows()) + t.shape_string().size();
    if (t.n_bytes > 0) {
      if (t.data < data || t.data + t.n_bytes > data + size) __builtin_trap();
      acc += t.data[0] + t.data[t.n_bytes - 1] + t.data[t.n_bytes / 2];
    }
  }
  g_sink = g_sink + acc;
  return 0;
}
