// exp and log in double from + - * / and exact scaling only, so results are bit-identical on
// every machine and C library (libm's exp/log may differ in the last bit between versions).
// Accurate to about 1 ulp. Inline so the softmax loops over a whole vocabulary stay fast.
// Contraction into FMA would change results per machine: GCC in ISO mode (CMake's
// CXX_EXTENSIONS OFF) does not contract, and clang is told not to inside each function.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace corral {
namespace portable_math_detail {

// ln 2 split so that k * kLn2Hi is exact for |k| < 2^11 (kLn2Hi has 32 trailing zero bits).
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kLog2e = 1.44269504088896338700e+00;

// 1/i! for i = 0..14, evaluated at compile time (IEEE division, the same on every compiler).
constexpr int kExpTerms = 15;
struct ExpCoeffs {
  double c[kExpTerms];
  constexpr ExpCoeffs() : c{} {
    double f = 1.0;
    for (int i = 0; i < kExpTerms; ++i) {
      if (i > 0) f *= static_cast<double>(i);
      c[i] = 1.0 / f;
    }
  }
};
inline constexpr ExpCoeffs kExp{};

}  // namespace portable_math_detail

// exp(-inf) = 0, overflow -> +inf, NaN -> NaN.
inline double portable_exp(double x) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  namespace d = portable_math_detail;
  if (!(x > -745.2)) return std::isnan(x) ? x : 0.0;
  if (x > 709.782712893384) return std::numeric_limits<double>::infinity();
  // x = k ln2 + r, |r| <= ln2/2 (+ rounding), exp(x) = 2^k exp(r). k rounds half away from zero
  // by truncation, which is exact and the same everywhere.
  const double kd = x * d::kLog2e;
  const auto ki = static_cast<int64_t>(kd >= 0.0 ? kd + 0.5 : kd - 0.5);
  const double k = static_cast<double>(ki);
  const double r = (x - k * d::kLn2Hi) - k * d::kLn2Lo;
  // Taylor series to r^14 (remainder below 1e-17 for |r| <= 0.35), evaluated by Estrin's
  // scheme: a fixed order of operations with a short dependency chain.
  const double* c = d::kExp.c;
  const double r2 = r * r;
  const double r4 = r2 * r2;
  const double r8 = r4 * r4;
  const double q0 = (c[0] + c[1] * r) + (c[2] + c[3] * r) * r2;
  const double q1 = (c[4] + c[5] * r) + (c[6] + c[7] * r) * r2;
  const double q2 = (c[8] + c[9] * r) + (c[10] + c[11] * r) * r2;
  const double q3 = (c[12] + c[13] * r) + c[14] * r2;
  const double e = (q0 + q1 * r4) + (q2 + q3 * r4) * r8;
  // Scale by 2^k: a multiplication by a power of two is exact while the result is normal.
  if (ki >= -1022 && ki <= 1023) {
    return e * std::bit_cast<double>(static_cast<uint64_t>(ki + 1023) << 52);
  }
  return std::ldexp(e, static_cast<int>(ki));  // subnormal or overflowing results
}

// x > 0; log(0) = -inf, log(+inf) = +inf, x < 0 or NaN -> NaN.
inline double portable_log(double x) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  namespace d = portable_math_detail;
  if (std::isnan(x) || x < 0.0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0.0) return -std::numeric_limits<double>::infinity();
  if (std::isinf(x)) return x;
  int e = 0;
  double m = std::frexp(x, &e);  // x = m 2^e, m in [0.5, 1): exact
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    --e;
  }
  // log m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716: the series to s^23 is below 1e-18.
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double poly = 1.0 / 23.0;
  for (int n = 21; n >= 1; n -= 2) poly = poly * s2 + 1.0 / static_cast<double>(n);
  const double ed = static_cast<double>(e);
  return ed * d::kLn2Hi + (ed * d::kLn2Lo + 2.0 * s * poly);
}

}  // namespace corral
