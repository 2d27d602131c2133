#include "base/meminfo.h"

#include <cstdio>

namespace corral {

int64_t mem_available_from_meminfo(std::string_view meminfo) {
  // "MemAvailable:   12345678 kB"
  constexpr std::string_view kKey = "MemAvailable:";
  const size_t at = meminfo.find(kKey);
  if (at == std::string_view::npos) return 0;
  std::string_view rest = meminfo.substr(at + kKey.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  int64_t kb = 0;
  size_t digits = 0;
  for (; digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9' && digits < 15; ++digits)
    kb = kb * 10 + (rest[digits] - '0');
  return digits == 0 ? 0 : kb * 1024;
}

int64_t mem_available_bytes() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (f == nullptr) return 0;
  char buf[4096];
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  return mem_available_from_meminfo(std::string_view(buf, n));
}

}  // namespace corral
