// Forward-pass ops: RMSNorm, RoPE, softmax, SwiGLU, dot and axpy.
#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "base/fp16.h"
#include "kernels/dispatch.h"

namespace corral {

float dot_f32(const float* a, const float* b, int64_t n) {
  // 16 independent lanes in a fixed order: vectorisable, deterministic.
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += a[i + j] * b[i + j];
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i] * b[i];
  for (int j = 0; j < 8; ++j) acc[j] += acc[j + 8];
  for (int j = 0; j < 4; ++j) acc[j] += acc[j + 4];
  return (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail;
}

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void rope_angles(int64_t n_rot, double pos, double freq_base, const float* freq_factors, float* cos_sin) {
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    double freq = std::pow(freq_base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
    if (freq_factors != nullptr) freq /= freq_factors[i];
    const double theta = pos * freq;
    cos_sin[2 * i] = static_cast<float>(std::cos(theta));
    cos_sin[2 * i + 1] = static_cast<float>(std::sin(theta));
  }
}

void rope_yarn_factors(int64_t n_rot, double freq_base, double factor, int64_t orig_ctx, double beta_fast,
                       double beta_slow, float* divisors) {
  constexpr double kPi = 3.14159265358979323846;
  const auto dims = static_cast<double>(n_rot);
  auto corr_dim = [&](double beta) {
    return dims * std::log(static_cast<double>(orig_ctx) / (beta * 2.0 * kPi)) / (2.0 * std::log(freq_base));
  };
  const double low = std::max(0.0, std::floor(corr_dim(beta_fast)));
  const double high = std::min(dims - 1.0, std::ceil(corr_dim(beta_slow)));
  const double scale = 1.0 / factor;
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    const double y = (static_cast<double>(i) - low) / std::max(0.001, high - low);
    const double keep = 1.0 - std::min(1.0, std::max(0.0, y));  // 1: extrapolate, 0: interpolate
    divisors[i] = static_cast<float>(1.0 / (scale * (1.0 - keep) + keep));
  }
}

double rope_yarn_mscale(double factor) { return factor > 1.0 ? 1.0 + 0.1 * std::log(factor) : 1.0; }

void rope_rotate(float* x, int64_t n_rot, bool neox, const float* cos_sin) {
  const int64_t half = n_rot / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float c = cos_sin[2 * i];
    const float s = cos_sin[2 * i + 1];
    const int64_t i0 = neox ? i : 2 * i;
    const int64_t i1 = neox ? i + half : 2 * i + 1;
    const float x0 = x[i0];
    const float x1 = x[i1];
    x[i0] = x0 * c - x1 * s;
    x[i1] = x0 * s + x1 * c;
  }
}

void softmax(float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const auto inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void swiglu_clamped(float* gate, const float* up, int64_t n, float alpha, float limit) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = std::fmin(gate[i], limit);
    const float u = std::fmax(std::fmin(up[i], limit), -limit);
    gate[i] = g / (1.0f + std::exp(-alpha * g)) * (u + 1.0f);
  }
}

void layernorm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = x[i] - mean;
    ss += d * d;
  }
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i)
    y[i] = static_cast<float>((x[i] - mean) * scale) * w[i] + b[i];
}

namespace {

// Four floats at a time in the baseline ISA (SSE2): the same bits on every machine and table.
using F4 = float __attribute__((vector_size(16)));
using I4 = int32_t __attribute__((vector_size(16)));

// exp(y): k = round(y / ln 2) by the 1.5 * 2^23 trick, r = y - k ln 2 in two parts (Cody and
// Waite), Cephes' degree-6 polynomial on |r| <= ln 2 / 2, times 2^k built in the exponent bits;
// within 2 ulp of expf. y is clamped to [-87, 88] so that 2^k stays a normal float, and above 88
// the result is infinity (as expf's overflow).
inline F4 exp4(F4 y_in) {
  const F4 lo = F4{} - 87.0f, hi = F4{} + 88.0f;
  F4 y = y_in < lo ? lo : y_in;
  y = y > hi ? hi : y;
  const F4 shift = F4{} + 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const F4 k = (y * 1.44269504088896341f + shift) - shift;
  const F4 r = (y - k * 0.693359375f) - k * -2.12194440e-4f;
  F4 p = F4{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const I4 bits = (__builtin_convertvector(k, I4) + 127) << 23;
  F4 scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y_in > hi ? F4{} + std::numeric_limits<float>::infinity() : p * scale;
}

// 0.5 g (1 + tanh(u)) = g / (1 + exp(-2u)), u = sqrt(2/pi) g (1 + 0.044715 g^2): GELU's tanh
// form without libm's scalar tanh, four values at a time.
inline F4 gelu4(F4 g) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  const F4 u = kSqrt2OverPi * g * (1.0f + 0.044715f * g * g);
  return g / (1.0f + exp4(-2.0f * u));
}

// x[i] = gelu(x[i]) (times up[i] when given), four at a time; the last 1..3 values through the
// same arithmetic.
void gelu_times(float* x, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    F4 g;
    std::memcpy(&g, x + i, sizeof g);
    g = gelu4(g);
    if (up != nullptr) {
      F4 u;
      std::memcpy(&u, up + i, sizeof u);
      g *= u;
    }
    std::memcpy(x + i, &g, sizeof g);
  }
  if (i < n) {
    F4 g{}, u{};
    const auto rest = static_cast<size_t>(n - i);
    std::memcpy(&g, x + i, rest * sizeof(float));
    g = gelu4(g);
    if (up != nullptr) {
      std::memcpy(&u, up + i, rest * sizeof(float));
      g *= u;
    }
    std::memcpy(x + i, &g, rest * sizeof(float));
  }
}

}  // namespace

void gelu(float* x, int64_t n) { gelu_times(x, nullptr, n); }

// Gemma's GELU-gated feed-forward: the same GELU as gelu() (libm's tanh was a fifth of a Gemma 3
// prompt's time), then times up.
void geglu(float* gate, const float* up, int64_t n) { gelu_times(gate, up, n); }

namespace {

// tanh(y), four values at a time, as Cephes' tanhf computes it: an odd polynomial below
// |y| = 0.625, 1 - 2 / (exp(2|y|) + 1) above (with exp4), the sign put back. Within a few ulp of
// libm's tanh; +-1 beyond |y| = 44 (exp4 saturates to infinity), NaN stays NaN.
inline F4 tanh4(F4 y) {
  const I4 sign_mask = I4{} + static_cast<int32_t>(0x80000000u);
  I4 bits;
  std::memcpy(&bits, &y, sizeof bits);
  const I4 sign = bits & sign_mask;
  const I4 abs_bits = bits & ~sign_mask;
  F4 a;
  std::memcpy(&a, &abs_bits, sizeof a);
  const F4 z = y * y;
  F4 p = F4{} + -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z + -5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z + -3.33332819422e-1f;
  const F4 small = p * z * a + a;
  const F4 large = 1.0f - 2.0f / (exp4(2.0f * a) + 1.0f);
  F4 r = a < (F4{} + 0.625f) ? small : large;
  I4 rbits;
  std::memcpy(&rbits, &r, sizeof rbits);
  rbits |= sign;
  std::memcpy(&r, &rbits, sizeof r);
  return y != y ? y : r;
}

}  // namespace

// Four at a time (libm's scalar tanh over a 256k vocabulary's logits, or every attention score
// of a Gemma 2 prompt, was most of the cost); the last 1..3 values through the same arithmetic.
void softcap(float* x, int64_t n, float cap) {
  const float inv = 1.0f / cap;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    F4 v;
    std::memcpy(&v, x + i, sizeof v);
    v = cap * tanh4(v * inv);
    std::memcpy(x + i, &v, sizeof v);
  }
  if (i < n) {
    F4 v{};
    const auto rest = static_cast<size_t>(n - i);
    std::memcpy(&v, x + i, rest * sizeof(float));
    v = cap * tanh4(v * inv);
    std::memcpy(x + i, &v, rest * sizeof(float));
  }
}

void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

namespace {

// sink: a logit in the softmax without a value row (-infinity: none).
template <class E, class ToFloat>
void attention_ref(const float* q, const E* k, const E* v, size_t kv_stride, int64_t n_pos,
                   int64_t hd, float scale, float cap, float* out, ToFloat to_float,
                   float sink = -std::numeric_limits<float>::infinity()) {
  thread_local std::vector<float> scores, row;
  scores.resize(static_cast<size_t>(n_pos));
  row.resize(static_cast<size_t>(hd));
  for (int64_t p = 0; p < n_pos; ++p) {
    const E* kr = k + static_cast<size_t>(p) * kv_stride;
    for (int64_t i = 0; i < hd; ++i) row[static_cast<size_t>(i)] = to_float(kr[i]);
    scores[static_cast<size_t>(p)] = dot_f32(q, row.data(), hd) * scale;
  }
  if (cap > 0.0f) softcap(scores.data(), n_pos, cap);
  if (std::isinf(sink)) {
    softmax(scores.data(), n_pos);
  } else {
    float mx = sink;
    for (int64_t p = 0; p < n_pos; ++p) mx = std::fmax(mx, scores[static_cast<size_t>(p)]);
    double sum = std::exp(static_cast<double>(sink - mx));
    for (int64_t p = 0; p < n_pos; ++p) sum += (scores[static_cast<size_t>(p)] = std::exp(scores[static_cast<size_t>(p)] - mx));
    const auto inv = static_cast<float>(1.0 / sum);
    for (int64_t p = 0; p < n_pos; ++p) scores[static_cast<size_t>(p)] *= inv;
  }
  for (int64_t i = 0; i < hd; ++i) out[i] = 0.0f;
  for (int64_t p = 0; p < n_pos; ++p) {
    const E* vr = v + static_cast<size_t>(p) * kv_stride;
    const float w = scores[static_cast<size_t>(p)];
    for (int64_t i = 0; i < hd; ++i) out[i] += w * to_float(vr[i]);
  }
}

}  // namespace

void attention_f16_ref(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                       int64_t n_pos, int64_t head_dim, float scale, float* out) {
  attention_ref(q, k, v, kv_stride, n_pos, head_dim, scale, 0.0f, out, [](uint16_t h) { return fp16_to_f32(h); });
}

void attention_f32_ref(const float* q, const float* k, const float* v, size_t kv_stride,
                       int64_t n_pos, int64_t head_dim, float scale, float* out) {
  attention_ref(q, k, v, kv_stride, n_pos, head_dim, scale, 0.0f, out, [](float f) { return f; });
}

void attention_ext_f16_ref(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                           int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out) {
  attention_ref(q, k, v, kv_stride, n_pos, head_dim, scale, cap, out, [](uint16_t h) { return fp16_to_f32(h); }, sink);
}

void attention_ext_f32_ref(const float* q, const float* k, const float* v, size_t kv_stride,
                           int64_t n_pos, int64_t head_dim, float scale, float cap, float sink, float* out) {
  attention_ref(q, k, v, kv_stride, n_pos, head_dim, scale, cap, out, [](float f) { return f; }, sink);
}

void attention_capped_f16(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                          int64_t n_pos, int64_t head_dim, float scale, float cap, float* out) {
  kernel_table().attention_ext_f16(q, k, v, kv_stride, n_pos, head_dim, scale, cap, kNoSink, out);
}

void attention_capped_f32(const float* q, const float* k, const float* v, size_t kv_stride,
                          int64_t n_pos, int64_t head_dim, float scale, float cap, float* out) {
  kernel_table().attention_ext_f32(q, k, v, kv_stride, n_pos, head_dim, scale, cap, kNoSink, out);
}

void attention_sink_f16(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                        int64_t n_pos, int64_t head_dim, float scale, float sink, float* out) {
  kernel_table().attention_ext_f16(q, k, v, kv_stride, n_pos, head_dim, scale, 0.0f, sink, out);
}

void attention_sink_f32(const float* q, const float* k, const float* v, size_t kv_stride,
                        int64_t n_pos, int64_t head_dim, float scale, float sink, float* out) {
  kernel_table().attention_ext_f32(q, k, v, kv_stride, n_pos, head_dim, scale, 0.0f, sink, out);
}

void attention_f16(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                   int64_t n_pos, int64_t head_dim, float scale, float* out) {
  kernel_table().attention_f16(q, k, v, kv_stride, n_pos, head_dim, scale, out);
}

void attention_f32(const float* q, const float* k, const float* v, size_t kv_stride,
                   int64_t n_pos, int64_t head_dim, float scale, float* out) {
  kernel_table().attention_f32(q, k, v, kv_stride, n_pos, head_dim, scale, out);
}

void attention_block_f32_ref(const float* q, size_t q_stride, int64_t n_q, const float* k, const float* v,
                             size_t kv_stride, int64_t n_pos, int64_t head_dim, float scale, float* out,
                             size_t out_stride, float* /*scratch*/) {
  for (int64_t i = 0; i < n_q; ++i)
    attention_f32_ref(q + static_cast<size_t>(i) * q_stride, k, v, kv_stride, n_pos, head_dim, scale,
                      out + static_cast<size_t>(i) * out_stride);
}

void attention_block_f32(const float* q, size_t q_stride, int64_t n_q, const float* k, const float* v,
                         size_t kv_stride, int64_t n_pos, int64_t head_dim, float scale, float* out,
                         size_t out_stride) {
  const KernelTable& t = kernel_table();
  if (t.attention_block_f32 == nullptr) {
    for (int64_t i = 0; i < n_q; ++i)
      t.attention_f32(q + static_cast<size_t>(i) * q_stride, k, v, kv_stride, n_pos, head_dim, scale,
                      out + static_cast<size_t>(i) * out_stride);
    return;
  }
  thread_local std::vector<float> scratch;
  const size_t need = static_cast<size_t>(kAttnBlockQueries) * static_cast<size_t>((n_pos + 7) / 8 * 8);
  if (scratch.size() < need) scratch.resize(need);
  t.attention_block_f32(q, q_stride, n_q, k, v, kv_stride, n_pos, head_dim, scale, out, out_stride, scratch.data());
}

}  // namespace corral
