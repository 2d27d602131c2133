// When CORRAL_CPU forces a kernel path this CPU cannot run, the dispatcher falls back to the best
// path it can, so the run would only repeat the default one. Skip the whole suite instead and
// say so: a skipped golden_avx512 tells plainly that the path was not checked on this machine.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "kernels/dispatch.h"

namespace {

class ForcedPathEnvironment : public testing::Environment {
 public:
  void SetUp() override {
    const char* forced = std::getenv("CORRAL_CPU");
    if (forced == nullptr || *forced == '\0') return;
    if (corral::kernel_table_by_name(forced) != nullptr) return;
    // ctest marks the test Skipped on this line (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt).
    std::printf("CORRAL_KERNEL_PATH_UNAVAILABLE: %s\n", forced);
    GTEST_SKIP() << "kernel path " << forced << " is not runnable on this CPU";
  }
};

testing::Environment* const kForcedPathEnvironment =
    testing::AddGlobalTestEnvironment(new ForcedPathEnvironment);

}  // namespace
