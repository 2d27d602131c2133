// The plain-data interface between the dispatcher (matmul.cpp) and the kernel tables, including
// the per-ISA translation units in x86/<isa>/. Only plain types here: the ISA units are compiled
// with their own flags and must not instantiate shared inline code (see x86/README.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace corral {

// How a weight type wants its activations: as floats, or quantised to 8 bits per block.
enum class ActFormat : uint8_t { kF32 = 0, kQ8_0 = 1, kQ8_K = 2 };

// Q8_0-style activation block (legacy quants): x[i] ≈ d * qs[i], s = d * Σ qs (for the offset
// and min terms of Q4_0/Q4_1/Q5_0/Q5_1).
struct ActBlockQ8_0 {
  float d;
  float s;
  int8_t qs[32];
};
static_assert(sizeof(ActBlockQ8_0) == 40);

// Q8_K-style activation block (K-quants): 256 values, bsums[j] = Σ qs[16j .. 16j+15], and
// the sums of 32 (bs_j = bsums[2j] + bsums[2j+1]) two per word: pairs32[m] = bs_2m | bs_2m+1 << 16,
// ready for a 16-bit multiply-add against two per-row mins.
struct ActBlockQ8_K {
  float d;
  int16_t bsums[16];
  uint32_t pairs32[4];
  int8_t qs[256];
};
static_assert(sizeof(ActBlockQ8_K) == 308);

// Weights repacked at load (kernels/repack.h): the blocks of 8 consecutive rows covering the
// same 256 columns, with each row's 4-byte groups side by side, so that one 256-bit load holds
// 4 bytes of every row (32-bit lane r = row r) and a kernel computes 8 rows at once without
// horizontal sums. Same bytes as the 8 file blocks, only reordered.
inline constexpr int kRowsInterleaved = 8;

struct BlockQ4_0x8 {
  uint16_t d[8];
  uint32_t qs[4][8];  // qs[j][r]: bytes 4j..4j+3 of row r's nibbles
};
static_assert(sizeof(BlockQ4_0x8) == 8 * 18);

// IQ4_NL blocks have Q4_0's bytes (fp16 scale, 16 bytes of nibbles): the same group layout.
using BlockIQ4_NLx8 = BlockQ4_0x8;

struct BlockMXFP4x8 {
  uint8_t e[8];       // row r's E8M0 exponent
  uint32_t qs[4][8];  // qs[j][r]: bytes 4j..4j+3 of row r's nibbles
};
static_assert(sizeof(BlockMXFP4x8) == 8 * 17);

struct BlockIQ4_XSx8 {
  uint16_t d[8];
  uint16_t scales_h[8];   // row r's high scale bits (2 per sub-block)
  uint32_t scales_l[8];   // row r's 4 bytes of low scale nibbles: sub-block s at bits 4s..4s+3
  uint32_t qs[32][8];     // qs[j][r]: bytes 4j..4j+3 of row r's nibbles
};
static_assert(sizeof(BlockIQ4_XSx8) == 8 * 136);

struct BlockQ8_0x8 {
  uint16_t d[8];
  uint32_t qs[8][8];  // qs[j][r]: bytes 4j..4j+3 of row r's codes
};
static_assert(sizeof(BlockQ8_0x8) == 8 * 34);

struct BlockQ4_Kx8 {
  uint16_t d[8];
  uint16_t dmin[8];
  uint32_t scales[3][8];  // scales[k][r]: bytes 4k..4k+3 of row r's 12 packed scale bytes
  uint32_t qs[32][8];     // qs[j][r]: bytes 4j..4j+3 of row r's nibbles
};
static_assert(sizeof(BlockQ4_Kx8) == 8 * 144);

// Q6_K's 6-bit codes c (0..63) of columns 128h + 32k + 4g + i (k = 0..3, i = 0..3) regrouped so
// that three loads and few shifts give all four k: per (h, g) and row r, byte i of
//   bits[h][g][0][r] = c(k=0) | (c(k=2) >> 4) << 6,  bits[h][g][1][r] = c(k=1) | (c(k=3) >> 4) << 6,
//   bits[h][g][2][r] = (c(k=2) & 15) | (c(k=3) & 15) << 4.
struct BlockQ6_Kx8 {
  uint32_t bits[2][8][3][8];
  int8_t scales[16][8];  // scales[s][r]: row r's scale of sub-block s
  uint16_t d[8];
};
static_assert(sizeof(BlockQ6_Kx8) == 8 * 210);

// One matmul over rows of a weight matrix: y[t * y_stride + r] = dot(row r, activation t).
// x points at n_tokens activation rows, x_stride_bytes apart: floats for ActFormat::kF32, else
// whole packed blocks of the type's ActFormat.
struct MatmulArgs {
  const uint8_t* w;
  size_t w_row_bytes;
  int64_t n;  // elements per row (a whole number of the weight type's blocks)
  const void* x;
  size_t x_stride_bytes;
  int64_t n_tokens;
  float* y;
  int64_t y_stride;
};

// Computes rows [row_begin, row_end) for every token; single-threaded (the caller splits rows).
// Each (row, token) result depends only on that row and that token's activations. For weights
// interleaved by kRowsInterleaved, w points at the interleaved blocks (w_row_bytes is still the
// bytes of one row) and row_begin/row_end are multiples of kRowsInterleaved.
using RowsKernel = void (*)(const MatmulArgs& args, int64_t row_begin, int64_t row_end);

// Quantises n floats (a multiple of the block size) into packed activation blocks.
using QuantizeActFn = void (*)(const float* x, void* dst, int64_t n);

// Attention of one query head over n_pos cached positions: out = softmax(scale * q·K) · V.
// Row p of K (and V) starts at k + p * kv_stride (elements). out has head_dim floats.
using AttentionF16Fn = void (*)(const float* q, const uint16_t* k, const uint16_t* v,
                                size_t kv_stride, int64_t n_pos, int64_t head_dim, float scale,
                                float* out);
using AttentionF32Fn = void (*)(const float* q, const float* k, const float* v, size_t kv_stride,
                                int64_t n_pos, int64_t head_dim, float scale, float* out);
// The same with the score transforms some families add: cap > 0 soft-caps each score
// (cap * tanh(s / cap), Gemma 2); a finite sink adds one logit without a value row to the
// softmax (gpt-oss). cap 0 and sink -infinity give attention_f16/f32's bits.
using AttentionExtF16Fn = void (*)(const float* q, const uint16_t* k, const uint16_t* v,
                                   size_t kv_stride, int64_t n_pos, int64_t head_dim, float scale,
                                   float cap, float sink, float* out);
using AttentionExtF32Fn = void (*)(const float* q, const float* k, const float* v, size_t kv_stride,
                                   int64_t n_pos, int64_t head_dim, float scale, float cap,
                                   float sink, float* out);

// Bidirectional attention of n_q queries over the same n_pos key/value rows (encoders: a token
// sees its whole sequence): out row i = softmax(scale * q_i·K) · V, q_i at q + i * q_stride,
// out row i at out + i * out_stride, K and V rows kv_stride apart (floats). scratch holds
// kAttnBlockQueries * (n_pos rounded up to 8) floats. A query's result does not depend on n_q or
// on the queries beside it.
inline constexpr int kAttnBlockQueries = 4;
using AttentionBlockF32Fn = void (*)(const float* q, size_t q_stride, int64_t n_q, const float* k, const float* v,
                                     size_t kv_stride, int64_t n_pos, int64_t head_dim, float scale, float* out,
                                     size_t out_stride, float* scratch);
// Attention over a quantized KV cache (model/kv_type.h): each cached row of K and V holds
// head_dim / 32 GGUF blocks (q8_0 or q4_0; head_dim a multiple of 32), row p at
// k + p * kv_stride_bytes. cap and sink as AttentionExtF32Fn. Computes, within float rounding,
// what the table's attention_ext_f32 computes over the dequantized rows (the x86 tables: its bits).
using AttentionQuantFn = void (*)(const float* q, const uint8_t* k, const uint8_t* v,
                                  size_t kv_stride_bytes, int64_t n_pos, int64_t head_dim,
                                  float scale, float cap, float sink, float* out);
// Attention of several queries over the same cached K/V rows: the query heads that share a KV
// head (GQA), for one token or a block of one sequence's tokens (a prompt over the cache).
// Query i (q[i], head_dim floats) attends to the first n_pos[i] rows and writes out[i]; sink
// null or sink[i] as AttentionExtF32Fn's, cap likewise. Each K/V tile is read and converted
// once for all the queries. A query's result has the bits of the same table's one-query kernel
// (attention_ext_f16 / attention_ext_f32 / attention_q8_0 / attention_q4_0) for the rows' type,
// whatever the other queries: so it depends neither on the batch nor on the grouping.
inline constexpr int kAttnGroupMax = 64;  // queries per call
struct AttnQueries {
  const float* const* q;
  float* const* out;
  const int64_t* n_pos;
  const float* sink;  // null: no sink
  int n_q;
};
using AttentionGroupFn = void (*)(const AttnQueries& qs, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                                  int64_t head_dim, float scale, float cap);

// Aggregates without member initialisers on purpose: a non-trivial constructor would be emitted
// as a weak symbol by every unit, the ISA ones included, and the linker may keep any copy.
// Machine-limit probes for `corral bench` and bench/: a streaming read that sums every 64-bit
// word of [p, p + bytes) (bytes a multiple of 128), and a register-only loop doing
// iters * kInt8PeakMaddsPerIter 8-bit multiply-adds with the ISA's best instruction.
using ReadStreamFn = uint64_t (*)(const uint8_t* p, size_t bytes);
using Int8PeakFn = int64_t (*)(int64_t iters);
inline constexpr int64_t kInt8PeakMaddsPerIter = 6 * 32;

struct TypeKernel {
  RowsKernel rows;  // null: use the reference table's kernel
  ActFormat act;
};

inline constexpr int kMaxGgmlTypes = 40;

// One table per ISA, chosen once per process (matmul.h: kernel_table()).
// Value-initialise (KernelTable t{};) before filling it.
struct KernelTable {
  const char* name;  // "scalar", "avx2", "avx512", ...
  TypeKernel matmul[kMaxGgmlTypes];
  TypeKernel matmul_rows8[kMaxGgmlTypes];  // weights interleaved by 8 rows (null: not offered)
  QuantizeActFn quantize_q8_0;
  QuantizeActFn quantize_q8_k;
  AttentionF16Fn attention_f16;
  AttentionF32Fn attention_f32;
  AttentionExtF16Fn attention_ext_f16;
  AttentionExtF32Fn attention_ext_f32;
  AttentionBlockF32Fn attention_block_f32;  // encoders' attention (null: attention_f32 per query)
  AttentionQuantFn attention_q8_0;  // quantized KV cache (null: the reference's)
  AttentionQuantFn attention_q4_0;
  AttentionGroupFn attention_group_f16;  // several queries over the same rows (null: one at a time)
  AttentionGroupFn attention_group_f32;
  AttentionGroupFn attention_group_q8_0;
  AttentionGroupFn attention_group_q4_0;
  ReadStreamFn read_stream;
  Int8PeakFn int8_peak;
  int64_t int8_peak_madds_per_iter;  // multiply-adds per iteration of int8_peak (0: kInt8PeakMaddsPerIter)
};

// Bytes of one packed activation row of n elements.
inline size_t act_row_bytes(ActFormat f, int64_t n) {
  switch (f) {
    case ActFormat::kQ8_0: return static_cast<size_t>(n / 32) * sizeof(ActBlockQ8_0);
    case ActFormat::kQ8_K: return static_cast<size_t>(n / 256) * sizeof(ActBlockQ8_K);
    case ActFormat::kF32: break;
  }
  return static_cast<size_t>(n) * sizeof(float);
}

}  // namespace corral
