// A model larger than free memory runs instead of being copied into anonymous memory it does
// not fit (issue 19: "a model larger than free memory still runs from the page cache with a
// warning rather than being refused"). The repack copies interleaved matrices out of the file
// mapping; with a limit below what it would copy, the expert tensors (the bulk of a MoE file,
// of which a token reads only k) stay mapped from the file, and with a limit below the dense
// matrices nothing is copied. The logits stay those of the fully repacked model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/repack.h"
#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

#ifdef CORRAL_FAMILY_MODEL_DIR
const char* kMoe = CORRAL_FAMILY_MODEL_DIR "/qwen3moe-q4_K_M.gguf";
#else
const char* kMoe = nullptr;  // the unit-only (sanitizer) build writes no family models
#endif

bool is_expert(const TensorView* t) { return t->ne[2] > 1; }

// The matrices the active table repacks (an interleaved kernel for the type, whole groups).
std::vector<const TensorView*> matrices(const Model& m) {
  std::vector<const TensorView*> out;
  auto add = [&](const TensorView* t) {
    if (t->data != nullptr && kernel_table().matmul_rows8[static_cast<int>(t->type)].rows != nullptr &&
        can_interleave_rows8(t->type, t->n_rows(), t->ne[0]))
      out.push_back(t);
  };
  add(&m.output);
  for (const LayerWeights& l : m.layers)
    for (const TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate_exps, &l.ffn_up_exps, &l.ffn_down_exps}) add(t);
  return out;
}

size_t bytes_of(const TensorView* t) { return t->row_bytes * static_cast<size_t>(t->n_rows()); }

std::vector<float> logits(const std::shared_ptr<Model>& m) {
  ContextParams p;
  p.n_ctx = 32;
  auto c = Context::create(m, p);
  EXPECT_TRUE(c.ok());
  if (!c.ok()) return {};
  Batch b;
  const int32_t tokens[] = {1, 17, 230, 5, 99, 41, 7, 300};
  for (int32_t i = 0; i < 8; ++i) b.add(tokens[i], i, 0, true);
  auto r = (*c)->forward(b);
  EXPECT_TRUE(r.ok());
  return r.ok() ? std::vector<float>(r->begin(), r->end()) : std::vector<float>{};
}

TEST(MemoryFit, ExpertsStayMappedWhenTheCopyWouldNotFitAndLogitsDoNotChange) {
  if (kMoe == nullptr) GTEST_SKIP() << "no family models in a unit-only build";
  if (kernel_table().matmul_rows8[static_cast<int>(GgmlType::kQ4_K)].rows == nullptr)
    GTEST_SKIP() << "the " << kernel_table().name << " kernels have no interleaved layout: nothing is copied";
  auto full = Model::load(kMoe);
  ASSERT_TRUE(full.ok()) << full.error().message;
  (*full)->repack_memory_limit = int64_t{1} << 40;
  (*full)->prepare_for_kernels();
  size_t expert_bytes = 0, dense_bytes = 0;
  for (const TensorView* t : matrices(**full)) {
    EXPECT_EQ(t->interleave, kRowsInterleaved) << t->name << ": everything fits, everything is repacked";
    (is_expert(t) ? expert_bytes : dense_bytes) += bytes_of(t);
  }
  ASSERT_GT(expert_bytes, 0u);
  ASSERT_GT(dense_bytes, 0u);
  EXPECT_EQ((*full)->weights_left_mapped, 0u);
  const std::vector<float> want = logits(*full);

  auto limited = Model::load(kMoe);
  ASSERT_TRUE(limited.ok());
  (*limited)->repack_memory_limit = static_cast<int64_t>(dense_bytes);  // the dense fit, not the experts too
  (*limited)->prepare_for_kernels();
  for (const TensorView* t : matrices(**limited)) {
    const GgufTensor* ft = (*limited)->file->find_tensor(t->name);
    ASSERT_NE(ft, nullptr) << t->name;
    if (is_expert(t)) {
      EXPECT_EQ(t->interleave, 1) << t->name << " must stay in the file layout";
      EXPECT_EQ(t->data, ft->data) << t->name << " must stay in the file mapping";
    } else {
      EXPECT_EQ(t->interleave, kRowsInterleaved) << t->name << " fits: it is repacked";
    }
  }
  EXPECT_EQ((*limited)->weights_left_mapped, expert_bytes);

  auto none = Model::load(kMoe);
  ASSERT_TRUE(none.ok());
  (*none)->repack_memory_limit = static_cast<int64_t>(dense_bytes) - 1;
  (*none)->prepare_for_kernels();
  for (const TensorView* t : matrices(**none)) EXPECT_EQ(t->interleave, 1) << t->name;
  EXPECT_EQ((*none)->repacked, nullptr);
  EXPECT_EQ((*none)->weights_left_mapped, expert_bytes + dense_bytes);

  // The interleaved and the file-layout kernels agree within the kernels' bound (rows8_test),
  // so the three models' logits agree closely; a wrong expert view would not.
  for (const auto* m : {&*limited, &*none}) {
    const std::vector<float> got = logits(*m);
    ASSERT_EQ(got.size(), want.size());
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(static_cast<double>(got[i]) - want[i]));
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(want[i])));
    }
    EXPECT_LE(max_diff, 1e-3 * std::max(1.0, max_abs));
  }
}

}  // namespace
}  // namespace corral
