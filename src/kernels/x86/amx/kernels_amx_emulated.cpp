// The AMX tile kernels (tile_kernels.inc) over a scalar model of the tile registers, built for
// AVX2: the same layouts, tile shapes and loops as the hardware unit, runnable on any AVX2 CPU
// (CORRAL_CPU=amx-emulated). Tests and the conformance suite check the tile kernels through it
// on machines without AMX; it is never chosen by itself and its speed means nothing.
//
// The model follows the instruction set reference: ldtilecfg gives each tile its rows and bytes
// per row; tileloadd reads that many rows of that many bytes `stride` apart and zeroes the rest;
// tdpbssd needs A's rows = C's rows, A's bytes per row = 4 × B's rows and B's bytes per row = C's
// bytes per row, and adds to C[m][n] the Σ over k of A[m][4k+i] · B[k][4n+i] (signed bytes).
// Where hardware would fault the model counts a fault and leaves the tiles alone; tests require
// the count to stay zero. Modelled: ldtilecfg with a palette other than 0 (release) or 1, a
// nonzero reserved byte or start_row, a tile with rows but no bytes per row (or the reverse),
// more than 16 rows or 64 bytes; any tile instruction before a configuration or on a tile the
// configuration left empty; tdpbssd on shapes that do not fit or on a tile used twice.
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "gguf/ggml_type.h"
#include "kernels/kernel_abi.h"
#include "kernels/x86/x86_tables.h"
#include "tensor/quant_blocks.h"

namespace corral::amx_emulated {

struct TileConfig;

struct TileState {
  int rows;
  int colsb;
  alignas(64) uint8_t data[16][64];
};

thread_local TileState t_tiles[8];
thread_local bool t_configured = false;
int64_t g_faults = 0;

void fault() { __atomic_fetch_add(&g_faults, 1, __ATOMIC_RELAXED); }

struct Tiles {
  static void configure(const TileConfig& cfg);
  static void release() {
    memset(t_tiles, 0, sizeof t_tiles);
    t_configured = false;
  }
  template <int T>
  static void load(const void* p, size_t stride) {
    static_assert(T >= 0 && T < 8);
    TileState& s = t_tiles[T];
    if (!t_configured || s.rows == 0) return fault();
    memset(s.data, 0, sizeof s.data);
    for (int r = 0; r < s.rows; ++r) memcpy(s.data[r], static_cast<const uint8_t*>(p) + static_cast<size_t>(r) * stride, static_cast<size_t>(s.colsb));
  }
  template <int T>
  static void zero() {
    if (!t_configured || t_tiles[T].rows == 0) return fault();
    memset(t_tiles[T].data, 0, sizeof t_tiles[T].data);
  }
  template <int T>
  static void store(void* p, size_t stride) {
    const TileState& s = t_tiles[T];
    if (!t_configured || s.rows == 0) return fault();
    for (int r = 0; r < s.rows; ++r) memcpy(static_cast<uint8_t*>(p) + static_cast<size_t>(r) * stride, s.data[r], static_cast<size_t>(s.colsb));
  }
  template <int C, int A, int B>
  static void dot_s8s8() {
    static_assert(C != A && C != B && A != B);
    TileState& c = t_tiles[C];
    const TileState& a = t_tiles[A];
    const TileState& b = t_tiles[B];
    if (!t_configured || c.rows == 0 || a.rows == 0 || b.rows == 0 || a.rows != c.rows || a.colsb != 4 * b.rows ||
        b.colsb != c.colsb || a.colsb % 4 != 0 || c.colsb % 4 != 0)
      return fault();
    for (int m = 0; m < c.rows; ++m)
      for (int n = 0; n < c.colsb / 4; ++n) {
        uint32_t sum;  // int32 that wraps, as the hardware's
        memcpy(&sum, &c.data[m][4 * n], 4);
        for (int k = 0; k < b.rows; ++k)
          for (int i = 0; i < 4; ++i)
            sum += static_cast<uint32_t>(static_cast<int8_t>(a.data[m][4 * k + i]) * static_cast<int8_t>(b.data[k][4 * n + i]));
        memcpy(&c.data[m][4 * n], &sum, 4);
      }
  }
};

const KernelTable* vector_table() { return avx2_kernel_table(); }

#include "kernels/x86/layouts_x86.inc"
#include "kernels/x86/amx/tile_kernels.inc"

void Tiles::configure(const TileConfig& cfg) {
  if (cfg.palette == 0) return release();  // palette 0 is the initial, unconfigured state
  bool bad = cfg.palette != 1 || cfg.start_row != 0;
  for (uint8_t r : cfg.reserved) bad = bad || r != 0;
  for (int i = 0; i < 16; ++i) {
    const bool used = cfg.rows[i] != 0 || cfg.colsb[i] != 0;
    if (i >= 8) bad = bad || used;  // palette 1 has 8 tiles; the rest of the bytes are reserved
    else bad = bad || (used && (cfg.rows[i] == 0 || cfg.colsb[i] == 0 || cfg.rows[i] > 16 || cfg.colsb[i] > 64));
  }
  if (bad) return fault();  // #GP: the old configuration stays
  for (int i = 0; i < 8; ++i) {
    t_tiles[i].rows = cfg.rows[i];
    t_tiles[i].colsb = cfg.colsb[i];
    memset(t_tiles[i].data, 0, sizeof t_tiles[i].data);
  }
  t_configured = true;
}

}  // namespace corral::amx_emulated

namespace corral {

const KernelTable* amx_emulated_kernel_table() {
  static const KernelTable table = amx_emulated::make_tile_table("amx-emulated", false);
  return &table;
}

int64_t amx_emulated_faults() { return __atomic_load_n(&amx_emulated::g_faults, __ATOMIC_RELAXED); }

int64_t amx_emulated_tile_peak(int64_t iters) { return amx_emulated::tile_int8_peak(iters); }

int64_t amx_emulated_misuse_check() {
  using namespace amx_emulated;
  const int64_t before = amx_emulated_faults();
  Tiles::release();
  Tiles::load<0>(t_tiles, 0);  // 1: before any configuration
  TileConfig cfg;
  tile_config(cfg, 32);
  cfg.reserved[3] = 1;  // 2: a reserved byte set
  Tiles::configure(cfg);
  tile_config(cfg, 32);
  cfg.rows[5] = 4;  // 3: rows without bytes per row
  Tiles::configure(cfg);
  tile_config(cfg, 32);
  cfg.colsb[1] = 16;  // 4: A narrower than B's rows × 4
  Tiles::configure(cfg);
  Tiles::dot_s8s8<3, 1, 0>();
  Tiles::zero<6>();  // 5: a tile the configuration left empty
  Tiles::release();
  return amx_emulated_faults() - before;
}

}  // namespace corral
