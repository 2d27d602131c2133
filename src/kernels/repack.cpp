// pack_rows8 / unpack_rows8: plain byte moves between the file's blocks and the interleaved ones.
#include "kernels/repack.h"

#include <cstring>

#include "tensor/quant_blocks.h"

namespace corral {
namespace {

constexpr int R = kRowsInterleaved;

// n bytes from the file layout to the packed one (kPack) or back.
template <bool kPack>
void move_bytes(void* file, void* packed, size_t n) {
  if constexpr (kPack) std::memcpy(packed, file, n);
  else std::memcpy(file, packed, n);
}

// Moves one block of each of 8 rows between the two layouts; kPack picks the direction.
// Q4_0, Q8_0 and IQ4_NL: the scale, then the codes 4 bytes at a time.
template <bool kPack, class Block, class Group>
void move_legacy(Block* rows[R], Group& g) {
  constexpr int kGroups = sizeof(Block::qs) / 4;
  static_assert(sizeof(Group::qs) == sizeof(Block::qs) * R);
  for (int r = 0; r < R; ++r) {
    Block& b = *rows[r];
    move_bytes<kPack>(&b.d, &g.d[r], 2);
    for (int j = 0; j < kGroups; ++j) move_bytes<kPack>(b.qs + 4 * j, &g.qs[j][r], 4);
  }
}

template <bool kPack>
void move_mxfp4(BlockMXFP4* rows[R], BlockMXFP4x8& g) {
  for (int r = 0; r < R; ++r) {
    BlockMXFP4& b = *rows[r];
    move_bytes<kPack>(&b.e, &g.e[r], 1);
    for (int j = 0; j < 4; ++j) move_bytes<kPack>(b.qs + 4 * j, &g.qs[j][r], 4);
  }
}

template <bool kPack>
void move_iq4_xs(BlockIQ4_XS* rows[R], BlockIQ4_XSx8& g) {
  for (int r = 0; r < R; ++r) {
    BlockIQ4_XS& b = *rows[r];
    move_bytes<kPack>(&b.d, &g.d[r], 2);
    move_bytes<kPack>(&b.scales_h, &g.scales_h[r], 2);
    move_bytes<kPack>(b.scales_l, &g.scales_l[r], 4);
    for (int j = 0; j < 32; ++j) move_bytes<kPack>(b.qs + 4 * j, &g.qs[j][r], 4);
  }
}

template <bool kPack>
void move_q4_k(BlockQ4_K* rows[R], BlockQ4_Kx8& g) {
  for (int r = 0; r < R; ++r) {
    BlockQ4_K& b = *rows[r];
    move_bytes<kPack>(&b.d, &g.d[r], 2);
    move_bytes<kPack>(&b.dmin, &g.dmin[r], 2);
    for (int k = 0; k < 3; ++k) move_bytes<kPack>(b.scales + 4 * k, &g.scales[k][r], 4);
    for (int j = 0; j < 32; ++j) move_bytes<kPack>(b.qs + 4 * j, &g.qs[j][r], 4);
  }
}

// Q6_K's codes (0..63) of one block in column order, and back.
void q6_k_codes(const BlockQ6_K& b, uint8_t c[256]) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t lo0 = b.ql[64 * h + l], lo1 = b.ql[64 * h + 32 + l], hi = b.qh[32 * h + l];
      c[128 * h + l] = static_cast<uint8_t>((lo0 & 15) | ((hi & 3) << 4));
      c[128 * h + 32 + l] = static_cast<uint8_t>((lo1 & 15) | (((hi >> 2) & 3) << 4));
      c[128 * h + 64 + l] = static_cast<uint8_t>((lo0 >> 4) | (((hi >> 4) & 3) << 4));
      c[128 * h + 96 + l] = static_cast<uint8_t>((lo1 >> 4) | (((hi >> 6) & 3) << 4));
    }
  }
}

void q6_k_from_codes(const uint8_t c[256], BlockQ6_K& b) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t c0 = c[128 * h + l], c1 = c[128 * h + 32 + l], c2 = c[128 * h + 64 + l], c3 = c[128 * h + 96 + l];
      b.ql[64 * h + l] = static_cast<uint8_t>((c0 & 15) | ((c2 & 15) << 4));
      b.ql[64 * h + 32 + l] = static_cast<uint8_t>((c1 & 15) | ((c3 & 15) << 4));
      b.qh[32 * h + l] = static_cast<uint8_t>((c0 >> 4) | ((c1 >> 4) << 2) | ((c2 >> 4) << 4) | ((c3 >> 4) << 6));
    }
  }
}

template <bool kPack>
void move_q6_k(BlockQ6_K* rows[R], BlockQ6_Kx8& g) {
  for (int r = 0; r < R; ++r) {
    BlockQ6_K& b = *rows[r];
    uint8_t c[256];
    if constexpr (kPack) {
      q6_k_codes(b, c);
      for (int h = 0; h < 2; ++h) {
        for (int gi = 0; gi < 8; ++gi) {
          uint8_t v[3][4];
          for (int i = 0; i < 4; ++i) {
            const int col = 128 * h + 4 * gi + i;
            const uint8_t c0 = c[col], c1 = c[col + 32], c2 = c[col + 64], c3 = c[col + 96];
            v[0][i] = static_cast<uint8_t>(c0 | ((c2 >> 4) << 6));
            v[1][i] = static_cast<uint8_t>(c1 | ((c3 >> 4) << 6));
            v[2][i] = static_cast<uint8_t>((c2 & 15) | ((c3 & 15) << 4));
          }
          for (int j = 0; j < 3; ++j) std::memcpy(&g.bits[h][gi][j][r], v[j], 4);
        }
      }
      for (int s = 0; s < 16; ++s) g.scales[s][r] = b.scales[s];
      std::memcpy(&g.d[r], &b.d, 2);
    } else {
      for (int h = 0; h < 2; ++h) {
        for (int gi = 0; gi < 8; ++gi) {
          uint8_t v[3][4];
          for (int j = 0; j < 3; ++j) std::memcpy(v[j], &g.bits[h][gi][j][r], 4);
          for (int i = 0; i < 4; ++i) {
            const int col = 128 * h + 4 * gi + i;
            c[col] = v[0][i] & 63;
            c[col + 32] = v[1][i] & 63;
            c[col + 64] = static_cast<uint8_t>((v[2][i] & 15) | ((v[0][i] >> 6) << 4));
            c[col + 96] = static_cast<uint8_t>((v[2][i] >> 4) | ((v[1][i] >> 6) << 4));
          }
        }
      }
      q6_k_from_codes(c, b);
      for (int s = 0; s < 16; ++s) b.scales[s] = g.scales[s][r];
      std::memcpy(&b.d, &g.d[r], 2);
    }
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
  if (rows <= 0 || rows % R != 0 || n <= 0) return false;
  if (type == GgmlType::kQ4_0 || type == GgmlType::kQ8_0 || type == GgmlType::kIQ4_NL || type == GgmlType::kMXFP4)
    return n % 32 == 0;
  return (type == GgmlType::kQ4_K || type == GgmlType::kQ6_K || type == GgmlType::kIQ4_XS) && n % 256 == 0;
}

void pack_rows8(GgmlType type, const uint8_t* src, size_t row_bytes, uint8_t* dst) {
  auto* file = const_cast<uint8_t*>(src);  // only read in this direction
  if (type == GgmlType::kQ4_0) move_group<true, BlockQ4_0, BlockQ4_0x8>(file, row_bytes, dst, move_legacy<true, BlockQ4_0, BlockQ4_0x8>);
  else if (type == GgmlType::kQ8_0) move_group<true, BlockQ8_0, BlockQ8_0x8>(file, row_bytes, dst, move_legacy<true, BlockQ8_0, BlockQ8_0x8>);
  else if (type == GgmlType::kQ4_K) move_group<true, BlockQ4_K, BlockQ4_Kx8>(file, row_bytes, dst, move_q4_k<true>);
  else if (type == GgmlType::kQ6_K) move_group<true, BlockQ6_K, BlockQ6_Kx8>(file, row_bytes, dst, move_q6_k<true>);
  else if (type == GgmlType::kIQ4_NL) move_group<true, BlockIQ4_NL, BlockIQ4_NLx8>(file, row_bytes, dst, move_legacy<true, BlockIQ4_NL, BlockIQ4_NLx8>);
  else if (type == GgmlType::kMXFP4) move_group<true, BlockMXFP4, BlockMXFP4x8>(file, row_bytes, dst, move_mxfp4<true>);
  else if (type == GgmlType::kIQ4_XS) move_group<true, BlockIQ4_XS, BlockIQ4_XSx8>(file, row_bytes, dst, move_iq4_xs<true>);
}

void unpack_rows8(GgmlType type, const uint8_t* src, size_t row_bytes, uint8_t* dst) {
  auto* packed = const_cast<uint8_t*>(src);  // only read in this direction
  if (type == GgmlType::kQ4_0) move_group<false, BlockQ4_0, BlockQ4_0x8>(dst, row_bytes, packed, move_legacy<false, BlockQ4_0, BlockQ4_0x8>);
  else if (type == GgmlType::kQ8_0) move_group<false, BlockQ8_0, BlockQ8_0x8>(dst, row_bytes, packed, move_legacy<false, BlockQ8_0, BlockQ8_0x8>);
  else if (type == GgmlType::kQ4_K) move_group<false, BlockQ4_K, BlockQ4_Kx8>(dst, row_bytes, packed, move_q4_k<false>);
  else if (type == GgmlType::kQ6_K) move_group<false, BlockQ6_K, BlockQ6_Kx8>(dst, row_bytes, packed, move_q6_k<false>);
  else if (type == GgmlType::kIQ4_NL) move_group<false, BlockIQ4_NL, BlockIQ4_NLx8>(dst, row_bytes, packed, move_legacy<false, BlockIQ4_NL, BlockIQ4_NLx8>);
  else if (type == GgmlType::kMXFP4) move_group<false, BlockMXFP4, BlockMXFP4x8>(dst, row_bytes, packed, move_mxfp4<false>);
  else if (type == GgmlType::kIQ4_XS) move_group<false, BlockIQ4_XS, BlockIQ4_XSx8>(dst, row_bytes, packed, move_iq4_xs<false>);
}

}  // namespace corral
