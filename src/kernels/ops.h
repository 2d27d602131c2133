// Element-wise and row operations of the forward pass (scalar code written so that the compiler
// vectorises it without reassociating reductions: results do not depend on thread count).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "kernels/kernel_abi.h"

namespace corral {

// y[i] = x[i] / rms(x) * w[i]; y may alias x.
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);

// y[i] = (x[i] - mean(x)) / sqrt(var(x) + eps) * w[i] + b[i] (BERT's LayerNorm); y may alias x.
void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);

// x[i] = gelu(x[i]) in its tanh form (what the reference engine's GELU computes), in place.
void gelu(float* x, int64_t n);

// Rotary embedding of one head vector in place, in two steps so that a forward pass computes a
// position's angles once for all its layers and heads. rope_angles fills `cos_sin` (n_rot
// floats: cos and sin of pair i at 2i and 2i+1); `freq_factors` (Llama 3 rope_freqs, n_rot/2
// entries) divides each frequency and may be null. rope_rotate turns pairs (2i, 2i+1), or with
// `neox` (i, i + n_rot/2); dimensions past n_rot pass through unrotated. `pos` is the token's
// position times linear scaling's frequency scale (1 without scaling).
void rope_angles(int64_t n_rot, double pos, double freq_base, const float* freq_factors, float* cos_sin);
void rope_rotate(float* x, int64_t n_rot, bool neox, const float* cos_sin);

// YaRN (Peng et al. 2023, as the reference engines compute it): pair i's frequency is blended
// between interpolation (divided by `factor`) and extrapolation (kept) by a ramp over the pair
// index: kept below floor(d(beta_fast)), interpolated above ceil(d(beta_slow)), linear between,
// where d(b) = n_rot * ln(orig_ctx / (2 pi b)) / (2 ln base) is the pair whose wavelength fits b
// times into the original context. Writes n_rot/2 divisors of the frequencies, for
// rope_angles's freq_factors (multiply them into other factors to combine). The matching
// attention factor scales cos and sin: rope_yarn_mscale(factor) = 1 + 0.1 ln(factor).
void rope_yarn_factors(int64_t n_rot, double freq_base, double factor, int64_t orig_ctx, double beta_fast,
                       double beta_slow, float* divisors);
double rope_yarn_mscale(double factor);

// In-place softmax over n values.
void softmax(float* x, int64_t n);

// gate[i] = silu(gate[i]) * up[i]
void swiglu(float* gate, const float* up, int64_t n);

// gpt-oss's clamped SwiGLU: g = min(gate[i], limit), u = clamp(up[i], -limit, limit),
// gate[i] = g * sigmoid(alpha * g) * (u + 1)
void swiglu_clamped(float* gate, const float* up, int64_t n, float alpha, float limit);

// gate[i] = gelu(gate[i]) * up[i], GELU in its tanh form (Gemma's gelu_pytorch_tanh)
void geglu(float* gate, const float* up, int64_t n);

// x[i] = cap * tanh(x[i] / cap): Gemma 2's soft-capping of attention scores and logits
void softcap(float* x, int64_t n, float cap);

// Dot product with a fixed summation order (16 interleaved partial sums).
float dot_f32(const float* a, const float* b, int64_t n);

// y[i] += a * x[i]
void axpy(float a, const float* x, float* y, int64_t n);

// Attention of one query head over n_pos cached positions of one KV head: out (head_dim floats)
// = softmax(scale * q·K) · V, where K row p starts at k + p * kv_stride elements (V likewise).
// Runs the table's fused kernel (one pass, online softmax, no score vector of n_pos); the result
// depends only on q, the cache rows and n_pos.
void attention_f16(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                   int64_t n_pos, int64_t head_dim, float scale, float* out);
void attention_f32(const float* q, const float* k, const float* v, size_t kv_stride,
                   int64_t n_pos, int64_t head_dim, float scale, float* out);

// The scalar references: all scores, softmax, weighted sum (what the tests compare against).
void attention_f16_ref(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                       int64_t n_pos, int64_t head_dim, float scale, float* out);
void attention_f32_ref(const float* q, const float* k, const float* v, size_t kv_stride,
                       int64_t n_pos, int64_t head_dim, float scale, float* out);

// Bidirectional attention of n_q queries (rows q_stride floats apart) over the same n_pos key
// and value rows, as encoders attend (each token to its whole sequence): out row i (out_stride
// apart) = softmax(scale * q_i·K) · V, through the table's block kernel (scores of 4 queries
// in register tiles, a vectorised softmax). A query's result depends only on it, K, V and
// n_pos, not on n_q or the queries beside it. The reference runs attention_f32_ref per query.
void attention_block_f32(const float* q, size_t q_stride, int64_t n_q, const float* k, const float* v,
                         size_t kv_stride, int64_t n_pos, int64_t head_dim, float scale, float* out,
                         size_t out_stride);
void attention_block_f32_ref(const float* q, size_t q_stride, int64_t n_q, const float* k, const float* v,
                             size_t kv_stride, int64_t n_pos, int64_t head_dim, float scale, float* out,
                             size_t out_stride, float* scratch);

// Attention with the score transforms of some families, through the table's fused kernel
// (one pass, online softmax) like attention_f16/f32: soft-capped scores (softcap(scale * q·K,
// cap) before the softmax; Gemma 2), or a learned sink (gpt-oss: the softmax's denominator has
// one more term, exp(sink), for a logit without a value row, so a head can attend to nothing).
inline constexpr float kNoSink = -std::numeric_limits<float>::infinity();
void attention_capped_f16(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                          int64_t n_pos, int64_t head_dim, float scale, float cap, float* out);
void attention_capped_f32(const float* q, const float* k, const float* v, size_t kv_stride,
                          int64_t n_pos, int64_t head_dim, float scale, float cap, float* out);
void attention_sink_f16(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                        int64_t n_pos, int64_t head_dim, float scale, float sink, float* out);
void attention_sink_f32(const float* q, const float* k, const float* v, size_t kv_stride,
                        int64_t n_pos, int64_t head_dim, float scale, float sink, float* out);
// Their scalar references (all scores, cap, softmax with the sink, weighted sum).
void attention_ext_f16_ref(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                           int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out);
void attention_ext_f32_ref(const float* q, const float* k, const float* v, size_t kv_stride,
                           int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out);

// Attention over a quantized KV cache (kernel_abi.h AttentionQuantFn): K/V rows of head_dim / 32
// q8_0 or q4_0 blocks, kv_stride_bytes apart; cap 0 and sink kNoSink for plain attention.
// Through the table's fused kernel; the _ref versions dequantize every row and run
// attention_ext_f32_ref (what the tests compare against).
void attention_q8_0(const float* q, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                    int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out);
void attention_q4_0(const float* q, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                    int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out);
void attention_q8_0_ref(const float* q, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                        int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out);
void attention_q4_0_ref(const float* q, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                        int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out);

// Several queries over the same cached K/V rows in one pass (kernel_abi.h AttentionGroupFn: the
// query heads of a GQA group, for one token or a block of one sequence's tokens); query i sees
// the first qs.n_pos[i] rows. Each query gets the bits of the one-query kernel above for its row
// type (attention_capped/sink_* / attention_q8_0 / attention_q4_0 with qs.sink[i] and cap), so
// grouping changes no result. kv_stride in elements (f16, f32) or bytes (q8_0, q4_0).
void attention_group_f16(const AttnQueries& qs, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                         int64_t head_dim, float scale, float cap);
void attention_group_f32(const AttnQueries& qs, const float* k, const float* v, size_t kv_stride,
                         int64_t head_dim, float scale, float cap);
void attention_group_q8_0(const AttnQueries& qs, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                          int64_t head_dim, float scale, float cap);
void attention_group_q4_0(const AttnQueries& qs, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                          int64_t head_dim, float scale, float cap);

}  // namespace corral
