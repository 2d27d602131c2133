// The AMX tile kernels (tile_kernels.inc) on the hardware tiles, for CPUs with AMX-TILE and
// AMX-INT8 (Sapphire Rapids and later); tokens that do not fill a tile use the AVX-512 table.
// dispatch.cpp checks the CPU's palette, asks Linux for the tile state (arch_prctl), and runs
// this table against the AVX-512 one in a child process (where a fault cannot take the server
// down) before it lets anything call in here.
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "gguf/ggml_type.h"
#include "kernels/kernel_abi.h"
#include "kernels/x86/x86_tables.h"
#include "tensor/quant_blocks.h"

namespace corral::amx {

struct TileConfig;

// The tile intrinsics take the tile number as a literal (it is pasted into the instruction), so
// each template picks its literal. GCC's tileloadd and ldtilecfg statements name no memory
// operand beyond a pointer: the compiler barrier makes sure the bytes staged by ordinary stores
// are in memory before the tile reads them.
// The tile number is pasted into the instruction: each template case names its literal.
#define CORRAL_EACH_TILE(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7)

struct Tiles {
  static void configure(const TileConfig& cfg) {
    __asm__ volatile("" ::: "memory");
    _tile_loadconfig(&cfg);
    __asm__ volatile("" ::: "memory");
  }
  static void release() { _tile_release(); }
  template <int T>
  static void load(const void* p, size_t stride) {
    static_assert(T >= 0 && T < 8);
    __asm__ volatile("" ::: "memory");
#define CORRAL_TILE_LOAD(n) \
  if constexpr (T == n) _tile_loadd(n, p, stride);
    CORRAL_EACH_TILE(CORRAL_TILE_LOAD)
#undef CORRAL_TILE_LOAD
    // And after it: stores that restage the buffer must not move above the load.
    __asm__ volatile("" ::: "memory");
  }
  template <int T>
  static void zero() {
    static_assert(T >= 0 && T < 8);
#define CORRAL_TILE_ZERO(n) \
  if constexpr (T == n) _tile_zero(n);
    CORRAL_EACH_TILE(CORRAL_TILE_ZERO)
#undef CORRAL_TILE_ZERO
  }
  template <int T>
  static void store(void* p, size_t stride) {
    static_assert(T >= 0 && T < 8);
#define CORRAL_TILE_STORE(n) \
  if constexpr (T == n) _tile_stored(n, p, stride);
    CORRAL_EACH_TILE(CORRAL_TILE_STORE)
#undef CORRAL_TILE_STORE
    __asm__ volatile("" ::: "memory");
  }
  // The products tile_kernels.inc issues (C, A, B).
  template <int C, int A, int B>
  static void dot_s8s8() {
    if constexpr (C == 3 && A == 1 && B == 0) _tile_dpbssd(3, 1, 0);
    else if constexpr (C == 4 && A == 2 && B == 0) _tile_dpbssd(4, 2, 0);
    else if constexpr (C == 0 && A == 4 && B == 6) _tile_dpbssd(0, 4, 6);
    else if constexpr (C == 1 && A == 4 && B == 7) _tile_dpbssd(1, 4, 7);
    else if constexpr (C == 2 && A == 5 && B == 6) _tile_dpbssd(2, 5, 6);
    else if constexpr (C == 3 && A == 5 && B == 7) _tile_dpbssd(3, 5, 7);
    else static_assert(C < 0, "add the tile combination here");
  }
};

#undef CORRAL_EACH_TILE

const KernelTable* vector_table() { return avx512_kernel_table(); }

#include "kernels/x86/layouts_x86.inc"
#include "kernels/x86/amx/tile_kernels.inc"

}  // namespace corral::amx

namespace corral {

const KernelTable* amx_kernel_table() {
  static const KernelTable table = amx::make_tile_table("amx", true);
  return &table;
}

}  // namespace corral
