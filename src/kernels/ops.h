// Element-wise and row operations of the forward pass (scalar code written so that the compiler
// vectorises it without reassociating reductions: results do not depend on thread count).
#pragma once

#include <cstddef>
#include <cstdint>

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

// In-place softmax over n values.
void softmax(float* x, int64_t n);

// gate[i] = silu(gate[i]) * up[i]
void swiglu(float* gate, const float* up, int64_t n);

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

// Attention with soft-capped scores (softcap(scale * q·K, cap) before the softmax): the scalar
// path, for Gemma 2's layers only.
void attention_capped_f16(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                          int64_t n_pos, int64_t head_dim, float scale, float cap, float* out);
void attention_capped_f32(const float* q, const float* k, const float* v, size_t kv_stride,
                          int64_t n_pos, int64_t head_dim, float scale, float cap, float* out);

}  // namespace corral
