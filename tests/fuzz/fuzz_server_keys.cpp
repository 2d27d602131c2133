// libFuzzer target: the API-keys file parser never crashes, never echoes input in its errors
// beyond the line number, and every key it accepts is found again (and only it).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/api_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto ring = corral::server::KeyRing::parse(text);
  if (!ring.ok()) return 0;
  auto& r = **ring;
  if (r.size() == 0) std::abort();
  // Invariant: the first field of each non-comment line is a key that find() returns.
  size_t line_start = 0, n = 0;
  while (line_start <= text.size() && n < r.size()) {
    size_t end = text.find('\n', line_start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(line_start, end - line_start);
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    const size_t b = line.find_first_not_of(" \t\r");
    if (b != std::string::npos) {
      const size_t e = line.find_first_of(" \t\r", b);
      const std::string key = line.substr(b, e == std::string::npos ? std::string::npos : e - b);
      if (r.find(key) != static_cast<int>(n)) std::abort();
      r.take(n, static_cast<int64_t>(n));
      ++n;
    }
    line_start = end + 1;
  }
  if (n != r.size()) std::abort();
  if (r.find("") != -1) std::abort();
  return 0;
}
