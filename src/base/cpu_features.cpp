// cpuid-based feature detection; AVX/AVX-512 also require the OS to save the wide registers.
#include "base/cpu_features.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace corral {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1u;
  f.fma = (c >> 12) & 1u;
  f.f16c = (c >> 29) & 1u;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  if (osxsave) __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool os_avx = (xcr0_lo & 0x6u) == 0x6u;
  const bool os_avx512 = (xcr0_lo & 0xe6u) == 0xe6u;
  const bool os_amx = (xcr0_lo & 0x60000u) == 0x60000u;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = os_avx && ((b >> 5) & 1u);
    f.avx512f = os_avx512 && ((b >> 16) & 1u);
    f.avx512bw = os_avx512 && ((b >> 30) & 1u);
    f.avx512vl = os_avx512 && ((b >> 31) & 1u);
    f.avx512vnni = os_avx512 && ((c >> 11) & 1u);
    f.amx_bf16 = os_amx && ((d >> 22) & 1u);
    f.amx_tile = os_amx && ((d >> 24) & 1u);
    f.amx_int8 = os_amx && ((d >> 25) & 1u);
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512bf16 = os_avx512 && ((a >> 5) & 1u);
  f.fma = f.fma && os_avx;
  f.f16c = f.f16c && os_avx;
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace corral
