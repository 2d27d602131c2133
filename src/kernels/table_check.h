// A run-time comparison of two kernel tables' interleaved kernels on the same small product:
// the dispatcher's guard before it trusts a table it cannot have been tested on (the AMX tiles
// on a machine CI never ran), and the tests' way to check that guard.
#pragma once

#include "gguf/ggml_type.h"
#include "kernels/kernel_abi.h"

namespace corral {

// Quantises fixed pseudo-random weights (24 rows × 512 columns) and 37 tokens' activations
// (two 16-token tiles and a tail), runs `type`'s interleaved kernel of both tables on them, and
// says whether every result has the same bits. False when either table lacks the kernel.
bool rows8_kernels_agree(const KernelTable& a, const KernelTable& b, GgmlType type);

}  // namespace corral
