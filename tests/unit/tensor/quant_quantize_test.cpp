// Quantizers: round trips on random data, and byte-for-byte reproduction of the conformance
// files that the reference quantizer (llama-quantize, no imatrix) wrote from llama-tok512-f32.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "tensor/quant.h"

namespace corral {
namespace {

const std::string kModels = CORRAL_SHARED_DIR "/conformance/models/";

double rel_rms(const std::vector<float>& got, const float* want, size_t n) {
  double err2 = 0;
  double ref2 = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e = static_cast<double>(got[i]) - want[i];
    err2 += e * e;
    ref2 += static_cast<double>(want[i]) * want[i];
  }
  return ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
}

std::vector<float> round_trip(GgmlType type, const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(ggml_row_bytes(type, n));
  quantize_row(type, x.data(), q.data(), n);
  std::vector<float> y(x.size());
  dequantize_row(type, q.data(), y.data(), n);
  return y;
}

struct RoundTripCase {
  GgmlType type;
  double bound;  // relative RMS error on Gaussian data, ~15% above the measured value
};

class QuantizeRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(QuantizeRoundTrip, GaussianDataWithinBound) {
  const auto [type, bound] = GetParam();
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(256 * 64);
  for (auto& v : x) v = dist(rng);
  const std::vector<float> y = round_trip(type, x);
  const double rel = rel_rms(y, x.data(), x.size());
  std::printf("  %-5s rel RMS %.5f\n", std::string(ggml_type_name(type)).c_str(), rel);
  EXPECT_LE(rel, bound);
  if (type != GgmlType::kF32) {
    EXPECT_GT(rel, 0.0);
  }
}

TEST_P(QuantizeRoundTrip, ZerosStayZero) {
  const GgmlType type = GetParam().type;
  const std::vector<float> x(512, 0.0f);
  for (float v : round_trip(type, x)) ASSERT_EQ(v, 0.0f);
}

TEST_P(QuantizeRoundTrip, ConstantRowsAndOutliers) {
  const auto [type, bound] = GetParam();
  // A large outlier in an otherwise tiny block, and blocks of one repeated value.
  std::vector<float> x(512, 0.01f);
  x[3] = 100.0f;
  for (size_t i = 256; i < 512; ++i) x[i] = -3.0f;
  const std::vector<float> y = round_trip(type, x);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(std::isfinite(y[i])) << i;
  EXPECT_NEAR(y[3], 100.0f, 100.0f * 2 * bound);
  for (size_t i = 256; i < 512; ++i) ASSERT_NEAR(y[i], -3.0f, 3.0f * 2 * bound) << i;
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, QuantizeRoundTrip,
    ::testing::Values(RoundTripCase{GgmlType::kF32, 0.0}, RoundTripCase{GgmlType::kF16, 2.5e-4},
                      RoundTripCase{GgmlType::kBF16, 2.0e-3},
                      RoundTripCase{GgmlType::kQ8_0, 0.0062}, RoundTripCase{GgmlType::kQ5_0, 0.049},
                      RoundTripCase{GgmlType::kQ5_1, 0.044}, RoundTripCase{GgmlType::kQ4_0, 0.098},
                      RoundTripCase{GgmlType::kQ4_1, 0.090}, RoundTripCase{GgmlType::kQ6_K, 0.0205},
                      RoundTripCase{GgmlType::kQ5_K, 0.0415}, RoundTripCase{GgmlType::kQ4_K, 0.082},
                      RoundTripCase{GgmlType::kQ3_K, 0.175}, RoundTripCase{GgmlType::kQ2_K, 0.34}),
    [](const auto& p) { return std::string(ggml_type_name(p.param.type)); });

// ---- reproduction of the reference files -----------------------------------------------------

struct Reproduction {
  int64_t blocks = 0;
  int64_t identical = 0;
  double err2_ours = 0;
  double err2_file = 0;
  double ref2 = 0;
};

class QuantizeReproducesFile : public ::testing::TestWithParam<const char*> {};

TEST_P(QuantizeReproducesFile, BlocksMatchReference) {
  auto src = GgufFile::open(kModels + "llama-tok512-f32.gguf");
  ASSERT_TRUE(src.ok()) << src.error().message;
  auto file = GgufFile::open(kModels + "llama-tok512-" + GetParam() + ".gguf");
  ASSERT_TRUE(file.ok()) << file.error().message;

  std::map<GgmlType, Reproduction> by_type;
  for (const GgufTensor& t : (*file)->tensors()) {
    if (t.type == GgmlType::kF32) continue;
    const GgufTensor* s = (*src)->find_tensor(t.name);
    ASSERT_NE(s, nullptr) << t.name;
    const auto* x = reinterpret_cast<const float*>(s->data);
    const int64_t n = t.n_elements();
    const QuantTraits& traits = *quant_traits(t.type);
    std::vector<uint8_t> ours(t.n_bytes);
    ASSERT_EQ(t.n_bytes, ggml_row_bytes(t.type, n));
    quantize_row(t.type, x, ours.data(), n);

    Reproduction& r = by_type[t.type];
    const int64_t n_blocks = n / traits.block_elems;
    r.blocks += n_blocks;
    if (std::memcmp(ours.data(), t.data, t.n_bytes) == 0) {
      r.identical += n_blocks;
    } else {
      for (int64_t b = 0; b < n_blocks; ++b) {
        const size_t off = static_cast<size_t>(b) * traits.block_bytes;
        if (std::memcmp(ours.data() + off, t.data + off, traits.block_bytes) == 0) r.identical++;
      }
    }
    std::vector<float> y_ours(static_cast<size_t>(n));
    std::vector<float> y_file(static_cast<size_t>(n));
    dequantize_row(t.type, ours.data(), y_ours.data(), n);
    dequantize_row(t.type, t.data, y_file.data(), n);
    for (size_t i = 0; i < y_ours.size(); ++i) {
      r.err2_ours += (static_cast<double>(y_ours[i]) - x[i]) * (y_ours[i] - x[i]);
      r.err2_file += (static_cast<double>(y_file[i]) - x[i]) * (y_file[i] - x[i]);
      r.ref2 += static_cast<double>(x[i]) * x[i];
    }
  }
  for (const auto& [type, r] : by_type) {
    const double frac = static_cast<double>(r.identical) / static_cast<double>(r.blocks);
    const double ours = std::sqrt(r.err2_ours / r.ref2);
    const double theirs = std::sqrt(r.err2_file / r.ref2);
    std::printf("  %-7s %-5s %6lld blocks, %.4f%% identical; rel RMS ours %.6f file %.6f\n",
                GetParam(), std::string(ggml_type_name(type)).c_str(),
                static_cast<long long>(r.blocks), 100.0 * frac, ours, theirs);
#ifdef __FMA__
    // A build allowed to fuse multiply-adds rounds some scale searches differently from ggml.
    EXPECT_GE(frac, 0.99) << GetParam() << " " << ggml_type_name(type);
#else
    // Same float operations in the same order as ggml: every block is reproduced.
    EXPECT_EQ(r.identical, r.blocks) << GetParam() << " " << ggml_type_name(type);
#endif
    EXPECT_LE(ours, theirs * 1.001) << GetParam() << " " << ggml_type_name(type);  // never worse
  }
}

INSTANTIATE_TEST_SUITE_P(AllFiles, QuantizeReproducesFile,
                         ::testing::Values("F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                                           "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace
}  // namespace corral
