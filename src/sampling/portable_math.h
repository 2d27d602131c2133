// exp and log in double from + - * / and exact scaling only, so results are bit-identical on
// every machine and C library (libm's exp/log may differ in the last bit between versions).
// Accurate to a few ulp; that is all sampling needs.
#pragma once

namespace corral {

double portable_exp(double x);  // exp(-inf) = 0, overflow -> +inf, NaN -> NaN
double portable_log(double x);  // x > 0; log(0) = -inf, x < 0 or NaN -> NaN

}  // namespace corral
