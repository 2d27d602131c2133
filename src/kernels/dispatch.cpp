// Kernel table selection: CPUID once, CORRAL_CPU override, fall back to what the CPU can run.
#include "kernels/dispatch.h"

#include <cstdlib>

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

const KernelTable* compiled_avx2() {
#if defined(CORRAL_X86_KERNELS)
  return avx2_kernel_table();
#else
  return nullptr;
#endif
}

const KernelTable* compiled_avx512() {
#if defined(CORRAL_X86_KERNELS)
  return avx512_kernel_table();
#else
  return nullptr;
#endif
}

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

// The AMX table, once the CPU has the tiles, the OS grants them, and the tile kernels give the
// AVX-512 kernels' bits on a small product of each type they replace. The tile code is checked
// against a model of the tiles on every CI machine (amx-emulated), but CI may never run on a
// CPU with AMX: a table that disagrees here is not used, and says so.
const KernelTable* ready_amx() {
  static const KernelTable* const table = []() -> const KernelTable* {
#if defined(CORRAL_X86_KERNELS)
    const CpuFeatures& f = cpu_features();
    if (!can_avx512(f) || !f.amx_tile || !f.amx_int8) return nullptr;
    if (!os_grants_tiles()) {
      CORRAL_LOG_WARN("kernels: the OS did not grant the AMX tile state; using avx512");
      return nullptr;
    }
    const KernelTable* amx = amx_kernel_table();
    for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ6_K}) {
      if (!rows8_kernels_agree(*amx, *compiled_avx512(), type)) {
        CORRAL_LOG_WARN("kernels: the AMX {} kernel disagrees with avx512 on this CPU; using avx512", ggml_type_name(type));
        return nullptr;
      }
    }
    return amx;
#else
    return nullptr;
#endif
  }();
  return table;
}

const KernelTable* compiled_amx_emulated() {
#if defined(CORRAL_X86_KERNELS)
  return amx_emulated_kernel_table();
#else
  return nullptr;
#endif
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
