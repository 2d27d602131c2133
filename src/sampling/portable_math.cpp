// Portable exp/log: range reduction with exact steps, then a fixed polynomial in Horner form.
// Only IEEE + - * / (correctly rounded everywhere) and exact scaling (frexp/ldexp/floor) are
// used. Contraction into FMA would change results per machine, so it is switched off for clang
// (GCC in ISO mode, which CMake selects with CXX_EXTENSIONS OFF, does not contract).
#include "sampling/portable_math.h"

#include <cmath>
#include <limits>

#if defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace corral {
namespace {

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
constexpr ExpCoeffs kExp{};

}  // namespace

double portable_exp(double x) {
  if (std::isnan(x)) return x;
  if (x > 709.782712893384) return std::numeric_limits<double>::infinity();
  if (x < -745.2) return 0.0;
  // x = k ln2 + r, |r| <= ln2/2 (+ rounding), exp(x) = 2^k exp(r).
  const double k = std::floor(x * kLog2e + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  // Taylor series to r^14: the remainder is below 1e-17 for |r| <= 0.35.
  double e = kExp.c[kExpTerms - 1];
  for (int i = kExpTerms - 2; i >= 0; --i) e = e * r + kExp.c[i];
  return std::ldexp(e, static_cast<int>(k));
}

double portable_log(double x) {
  if (std::isnan(x) || x < 0.0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0.0) return -std::numeric_limits<double>::infinity();
  if (std::isinf(x)) return x;
  int e = 0;
  double m = std::frexp(x, &e);  // x = m 2^e, m in [0.5, 1)
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
  return ed * kLn2Hi + (ed * kLn2Lo + 2.0 * s * poly);
}

}  // namespace corral
