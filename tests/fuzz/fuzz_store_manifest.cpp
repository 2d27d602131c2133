// libFuzzer target: manifest parsing of untrusted bytes never crashes; accepted manifests
// serialise to text that parses back to the same manifest.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto m = corral::Manifest::parse(s);
  if (!m.ok()) return 0;
  const std::string text = m->serialize();
  auto again = corral::Manifest::parse(text);
  if (!again.ok() || again->serialize() != text) std::abort();
  if (m->total_size() < 0) std::abort();
  return 0;
}
