// The kernel tables compiled in x86/<isa>/ (each unit with its own -m flags). Calling one is safe
// only on a CPU with that ISA: dispatch.cpp checks base/cpu_features.h first.
#pragma once

#include "kernels/kernel_abi.h"

namespace corral {

const KernelTable* avx2_kernel_table();    // AVX2 + FMA + F16C
const KernelTable* avx512_kernel_table();  // + AVX-512 F/BW/VL and VNNI (256-bit VNNI dot products)

}  // namespace corral
