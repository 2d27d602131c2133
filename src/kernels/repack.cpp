// pack_rows8 / unpack_rows8: plain byte moves between the file's blocks and the interleaved ones.
#include "kernels/repack.h"

#include <cstring>

#include "tensor/quant_blocks.h"

namespace corral {
namespace {

constexpr int R = kRowsInterleaved;

// Moves one block of each of 8 rows between the two layouts; kPack picks the direction.
template <bool kPack>
void move_q4_k(BlockQ4_K* rows[R], BlockQ4_Kx8& g) {
  for (int r = 0; r < R; ++r) {
    BlockQ4_K& b = *rows[r];
    auto mv = [](void* file, void* packed, size_t n) {
      if constexpr (kPack) std::memcpy(packed, file, n);
      else std::memcpy(file, packed, n);
    };
    mv(&b.d, &g.d[r], 2);
    mv(&b.dmin, &g.dmin[r], 2);
    for (int k = 0; k < 3; ++k) mv(b.scales + 4 * k, &g.scales[k][r], 4);
    for (int j = 0; j < 32; ++j) mv(b.qs + 4 * j, &g.qs[j][r], 4);
  }
}

template <bool kPack>
void move_q6_k(BlockQ6_K* rows[R], BlockQ6_Kx8& g) {
  for (int r = 0; r < R; ++r) {
    BlockQ6_K& b = *rows[r];
    auto mv = [](void* file, void* packed, size_t n) {
      if constexpr (kPack) std::memcpy(packed, file, n);
      else std::memcpy(file, packed, n);
    };
    for (int j = 0; j < 32; ++j) mv(b.ql + 4 * j, &g.ql[j][r], 4);
    for (int j = 0; j < 16; ++j) mv(b.qh + 4 * j, &g.qh[j][r], 4);
    for (int s = 0; s < 16; ++s) mv(&b.scales[s], &g.scales[s][r], 1);
    mv(&b.d, &g.d[r], 2);
  }
}

template <bool kPack, class Block, class Group, class Move>
void move_group(uint8_t* file, size_t row_bytes, uint8_t* packed, Move move) {
  const size_t nb = row_bytes / sizeof(Block);
  for (size_t ib = 0; ib < nb; ++ib) {
    Block* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = reinterpret_cast<Block*>(file + static_cast<size_t>(r) * row_bytes) + ib;
    move(rows, reinterpret_cast<Group*>(packed)[ib]);
  }
}

}  // namespace

bool can_interleave_rows8(GgmlType type, int64_t rows, int64_t n) {
  if (rows <= 0 || rows % R != 0 || n <= 0 || n % 256 != 0) return false;
  return type == GgmlType::kQ4_K || type == GgmlType::kQ6_K;
}

void pack_rows8(GgmlType type, const uint8_t* src, size_t row_bytes, uint8_t* dst) {
  auto* file = const_cast<uint8_t*>(src);  // only read in this direction
  if (type == GgmlType::kQ4_K) move_group<true, BlockQ4_K, BlockQ4_Kx8>(file, row_bytes, dst, move_q4_k<true>);
  else if (type == GgmlType::kQ6_K) move_group<true, BlockQ6_K, BlockQ6_Kx8>(file, row_bytes, dst, move_q6_k<true>);
}

void unpack_rows8(GgmlType type, const uint8_t* src, size_t row_bytes, uint8_t* dst) {
  auto* packed = const_cast<uint8_t*>(src);  // only read in this direction
  if (type == GgmlType::kQ4_K) move_group<false, BlockQ4_K, BlockQ4_Kx8>(dst, row_bytes, packed, move_q4_k<false>);
  else if (type == GgmlType::kQ6_K) move_group<false, BlockQ6_K, BlockQ6_Kx8>(dst, row_bytes, packed, move_q6_k<false>);
}

}  // namespace corral
