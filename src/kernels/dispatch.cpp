// Kernel table selection: CPUID once, CORRAL_CPU override, fall back to what the CPU can run.
#include "kernels/dispatch.h"

#include <cstdlib>
#include <iterator>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "base/cpu_features.h"
#include "base/log.h"
#include "kernels/table_check.h"
#include "kernels/x86/x86_tables.h"

namespace corral {
namespace {

bool can_avx2(const CpuFeatures& f) { return f.avx2 && f.fma && f.f16c; }
bool can_avx512(const CpuFeatures& f) {
  return can_avx2(f) && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni;
}

// The tables built into this binary (none of the x86 ones on other architectures). Each is
// built on first use by code compiled for its ISA: call one only after the CPU check.
#if defined(CORRAL_X86_KERNELS)
const KernelTable* compiled_avx2() { return avx2_kernel_table(); }
const KernelTable* compiled_avx512() { return avx512_kernel_table(); }
const KernelTable* compiled_amx() { return amx_kernel_table(); }
const KernelTable* compiled_amx_emulated() { return amx_emulated_kernel_table(); }
#else
const KernelTable* compiled_avx2() { return nullptr; }
const KernelTable* compiled_avx512() { return nullptr; }
const KernelTable* compiled_amx() { return nullptr; }
const KernelTable* compiled_amx_emulated() { return nullptr; }
#endif

// Linux keeps the 8 KiB of tile state off until a process asks for it (the first tile
// instruction without permission faults).
bool os_grants_tiles() {
#if defined(__linux__) && defined(__x86_64__)
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

// Palette 1 as the tile kernels configure it (CPUID leaf 0x1D: 8 tiles of 16 rows × 64 bytes;
// leaf 0x1E: the multiplier takes K up to 64 bytes and N up to 16 columns), as every AMX CPU so
// far has it; a CPU or hypervisor that reports less is not used.
bool palette_fits() {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(0x1D, 1, &a, &b, &c, &d)) return false;
  const unsigned bytes_per_row = b & 0xFFFF, max_names = b >> 16, max_rows = c & 0xFFFF;
  if (bytes_per_row < 64 || max_names < 8 || max_rows < 16) return false;
  if (!__get_cpuid_count(0x1E, 0, &a, &b, &c, &d)) return false;
  const unsigned tmul_maxk = b & 0xFF, tmul_maxn = (b >> 8) & 0xFFFF;
  return tmul_maxk >= 16 && tmul_maxn >= 64;
#else
  return false;
#endif
}

const GgmlType kTileTypes[] = {GgmlType::kQ4_0, GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ6_K};

// In the child: every tile kernel against avx512, then the tile peak loop once. 0 when all agree,
// 1 + the index of the first type that does not.
int probe_tiles(const void* tables) {
  const auto* t = static_cast<const KernelTable* const*>(tables);
  for (size_t i = 0; i < std::size(kTileTypes); ++i)
    if (!rows8_kernels_agree(*t[0], *t[1], kTileTypes[i])) return 1 + static_cast<int>(i);
  t[0]->int8_peak(3);
  return 0;
}

// The AMX table, once the CPU has the tiles, the OS grants them, and the tile kernels give the
// AVX-512 kernels' bits on a product of each type they replace. The tile code is checked against
// a model of the tiles on every CI machine (amx-emulated), but CI may never run on a CPU with
// AMX, so the first run of the tile code here happens in a child process: a table that faults
// or disagrees is not used, and the log says why.
const KernelTable* ready_amx() {
  static const KernelTable* const table = []() -> const KernelTable* {
    const CpuFeatures& f = cpu_features();
    // The CPU first: building the amx table runs code compiled for AVX-512.
    if (!can_avx512(f) || !f.amx_tile || !f.amx_int8 || compiled_amx() == nullptr) return nullptr;
    if (!palette_fits()) {
      CORRAL_LOG_WARN("kernels: this CPU's AMX palette is smaller than the tile kernels need; using avx512");
      return nullptr;
    }
    if (!os_grants_tiles()) {  // before the fork: the child inherits the permission
      CORRAL_LOG_WARN("kernels: the OS did not grant the AMX tile state; using avx512");
      return nullptr;
    }
    const KernelTable* tables[2] = {compiled_amx(), compiled_avx512()};
    const ChildOutcome probe = run_in_child(probe_tiles, tables);
    if (!probe.started) {
      CORRAL_LOG_WARN("kernels: could not start the AMX check (fork failed); using avx512");
      return nullptr;
    }
    if (probe.signal != 0) {
      CORRAL_LOG_WARN("kernels: the AMX tile kernels faulted on this CPU (signal {}); using avx512", probe.signal);
      return nullptr;
    }
    if (probe.exit_code != 0) {
      const int i = probe.exit_code - 1;
      CORRAL_LOG_WARN("kernels: the AMX {} kernel disagrees with avx512 on this CPU; using avx512",
                      i >= 0 && i < static_cast<int>(std::size(kTileTypes)) ? ggml_type_name(kTileTypes[i]) : std::string_view("tile"));
      return nullptr;
    }
    return tables[0];
  }();
  return table;
}

const KernelTable& best_table() {
  const CpuFeatures& f = cpu_features();
  if (const KernelTable* amx = ready_amx()) return *amx;
  if (can_avx512(f) && compiled_avx512() != nullptr) return *compiled_avx512();
  if (can_avx2(f) && compiled_avx2() != nullptr) return *compiled_avx2();
  return reference_kernel_table();
}

const KernelTable& choose() {
  const char* env = std::getenv("CORRAL_CPU");
  if (env == nullptr || *env == '\0' || std::string_view(env) == "auto") return best_table();
  if (const KernelTable* t = kernel_table_by_name(env)) {
    CORRAL_LOG_DEBUG("kernels: CORRAL_CPU={} selects the {} table", env, t->name);
    return *t;
  }
  const KernelTable& best = best_table();
  CORRAL_LOG_WARN("kernels: CORRAL_CPU={} is unknown or not supported by this CPU; using {}", env, best.name);
  return best;
}

}  // namespace

const KernelTable& kernel_table() {
  static const KernelTable& table = choose();
  return table;
}

const KernelTable* kernel_table_by_name(std::string_view name) {
  const CpuFeatures& f = cpu_features();
  if (name == "scalar" || name == "ref") return &reference_kernel_table();
  if (name == "avx2") return can_avx2(f) ? compiled_avx2() : nullptr;
  if (name == "avx512") return can_avx512(f) ? compiled_avx512() : nullptr;
  if (name == "amx") return ready_amx();
  if (name == "amx-emulated") return can_avx2(f) ? compiled_amx_emulated() : nullptr;
  return nullptr;
}

std::vector<std::string> runnable_kernel_paths() {
  std::vector<std::string> out;
  for (const char* name : {"scalar", "avx2", "avx512", "amx"})
    if (kernel_table_by_name(name) != nullptr) out.emplace_back(name);
  return out;
}

}  // namespace corral
