// Dequantizes every tensor of the conformance models (made from llama-tok512-f32.gguf by the
// reference quantizer) and compares it with the f32 source: the relative RMS error per tensor
// type must stay below what the format allows, which a wrong layout (swapped nibbles, shifted
// scale index, wrong sign) exceeds by far.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "tensor/quant.h"

namespace corral {
namespace {

const std::string kModels = CORRAL_SHARED_DIR "/conformance/models/";

std::vector<float> dequantize_tensor(const GgufTensor& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements()));
  const size_t row_bytes = ggml_row_bytes(t.type, t.ne[0]);
  for (int64_t r = 0; r < t.n_rows(); ++r) {
    dequantize_row(t.type, t.data + static_cast<size_t>(r) * row_bytes,
                   out.data() + r * t.ne[0], t.ne[0]);
  }
  return out;
}

// Relative RMS error bound per tensor type: the worst tensor of any file measures within 8% of
// it (the weights are uniform random, so every tensor of a type errs alike). The bounds are tight
// on purpose: a dequantizer that reads one sub-block's scale for its neighbour's, or misplaces
// the high bits, lands well above them, and swapped nibbles land near 100%.
double rel_rms_bound(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return 0.0;
    case GgmlType::kF16: return 2.5e-4;   // measured 2.1e-4
    case GgmlType::kBF16: return 1.9e-3;  // 1.68e-3
    case GgmlType::kQ8_0: return 0.0060;  // 0.00539
    case GgmlType::kQ5_0: return 0.047;   // 0.0429
    case GgmlType::kQ5_1: return 0.042;   // 0.0381
    case GgmlType::kQ4_0: return 0.094;   // 0.0865
    case GgmlType::kQ4_1: return 0.085;   // 0.0785
    case GgmlType::kQ6_K: return 0.0195;  // 0.0179
    case GgmlType::kQ5_K: return 0.040;   // 0.0363
    case GgmlType::kQ4_K: return 0.078;   // 0.0718
    case GgmlType::kQ3_K: return 0.165;   // 0.152
    case GgmlType::kQ2_K: return 0.32;    // 0.298
    default: return 0.0;
  }
}

struct Stats {
  double sum_err2 = 0;
  double sum_ref2 = 0;
  int n_tensors = 0;
};

class ConformanceDequantize : public ::testing::TestWithParam<const char*> {};

TEST_P(ConformanceDequantize, MatchesF32Source) {
  auto ref = GgufFile::open(kModels + "llama-tok512-f32.gguf");
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  auto q = GgufFile::open(kModels + "llama-tok512-" + GetParam() + ".gguf");
  ASSERT_TRUE(q.ok()) << q.error().message;

  std::map<GgmlType, Stats> by_type;
  for (const GgufTensor& t : (*q)->tensors()) {
    const GgufTensor* r = (*ref)->find_tensor(t.name);
    ASSERT_NE(r, nullptr) << t.name;
    ASSERT_EQ(r->type, GgmlType::kF32);
    ASSERT_EQ(r->ne, t.ne) << t.name;
    ASSERT_NE(quant_traits(t.type), nullptr) << t.name << " " << ggml_type_name(t.type);
    const std::vector<float> got = dequantize_tensor(t);
    const auto* want = reinterpret_cast<const float*>(r->data);
    double err2 = 0;
    double ref2 = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double e = static_cast<double>(got[i]) - want[i];
      err2 += e * e;
      ref2 += static_cast<double>(want[i]) * want[i];
    }
    const double rel = ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
    EXPECT_LE(rel, rel_rms_bound(t.type))
        << GetParam() << ": " << t.name << " (" << ggml_type_name(t.type) << ")";
    Stats& s = by_type[t.type];
    s.sum_err2 += err2;
    s.sum_ref2 += ref2;
    s.n_tensors++;
  }
  for (const auto& [type, s] : by_type) {
    std::printf("  %-8s %-5s %2d tensors  rel RMS error %.5f\n", GetParam(),
                std::string(ggml_type_name(type)).c_str(), s.n_tensors,
                std::sqrt(s.sum_err2 / s.sum_ref2));
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, ConformanceDequantize,
                         ::testing::Values("F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                                           "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace
}  // namespace corral
