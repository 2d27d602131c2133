// Picks one kernel table per process from the CPU's features (base/cpu_features.h), or from
// CORRAL_CPU=scalar|avx2|avx512|amx|amx-emulated. A forced path this CPU cannot run falls back to the best
// one it can (with a warning) instead of faulting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kernels/kernel_abi.h"

namespace corral {

// The table in use; chosen on first call.
const KernelTable& kernel_table();

// The scalar reference: dequantise a row exactly, float dot (the ground truth for tests).
const KernelTable& reference_kernel_table();

// The table for a path name ("scalar", "avx2", "avx512", "amx", "amx-emulated"), or nullptr
// when the name is unknown or this CPU cannot run it. "amx" (avx512 with the interleaved
// Q4_0/Q8_0/Q4_K/Q6_K prompt kernels on tiles) needs the OS to grant the tile state and the tile
// kernels to agree with avx512 on a first product. "amx-emulated" runs the same tile kernels
// over a scalar model of the tiles on any AVX2 CPU: for tests, never chosen by itself.
const KernelTable* kernel_table_by_name(std::string_view name);

// Path names this CPU can run, scalar first (not amx-emulated: it is a test model, not a path).
std::vector<std::string> runnable_kernel_paths();

}  // namespace corral
