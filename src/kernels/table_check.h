// A run-time comparison of two kernel tables' interleaved kernels on the same small product:
// the dispatcher's guard before it trusts a table it cannot have been tested on (the AMX tiles
// on a machine CI never ran), and the tests' way to check that guard.
#pragma once

#include "gguf/ggml_type.h"
#include "kernels/kernel_abi.h"

namespace corral {

// Quantises fixed pseudo-random weights (136 rows × 512 columns: two blocks of 16 groups) and
// 85 tokens' activations (two passes of two 16-token tiles, a pass of one, and a tail of 5),
// runs `type`'s interleaved kernel of both tables on them, and says whether every result has
// the same bits. False when either table lacks the kernel.
bool rows8_kernels_agree(const KernelTable& a, const KernelTable& b, GgmlType type);

// How a probe run in a child process ended.
struct ChildOutcome {
  bool started = false;  // fork() worked
  int exit_code = -1;    // the probe's return value, when it returned
  int signal = 0;        // the signal that ended the child (an illegal instruction: SIGILL)
  bool ok() const { return started && signal == 0 && exit_code == 0; }
};

// Runs probe(arg) in a forked child and reports how it ended: code the machine may refuse (an
// instruction CI never ran on real hardware) faults there, not in the calling process. The
// child runs only the probe, on the calling thread, and leaves with _exit.
ChildOutcome run_in_child(int (*probe)(const void* arg), const void* arg);

}  // namespace corral
