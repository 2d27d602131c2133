// The kernel tables compiled in x86/<isa>/ (each unit with its own -m flags). Calling one is safe
// only on a CPU with that ISA: dispatch.cpp checks base/cpu_features.h first.
#pragma once

#include "kernels/kernel_abi.h"

namespace corral {

const KernelTable* avx2_kernel_table();    // AVX2 + FMA + F16C
const KernelTable* avx512_kernel_table();  // + AVX-512 F/BW/VL and VNNI (256-bit VNNI dot products)

// The avx512 table with the interleaved Q4_0, Q8_0, Q4_K and Q6_K prompt kernels on AMX tiles. Needs
// AMX-TILE and AMX-INT8, and the tile state granted by the OS first (dispatch.cpp).
const KernelTable* amx_kernel_table();

// The same tile kernels over a scalar model of the tiles, on the avx2 table: runs on any AVX2
// CPU, for tests (CORRAL_CPU=amx-emulated). Faults the model counted (shapes hardware would
// refuse), and a check that the model does count them (returns the faults it provoked).
const KernelTable* amx_emulated_kernel_table();
int64_t amx_emulated_faults();
int64_t amx_emulated_misuse_check();
// The tile int8 peak loop (the amx table's int8_peak) over the model: its checksum.
int64_t amx_emulated_tile_peak(int64_t iters);

}  // namespace corral
