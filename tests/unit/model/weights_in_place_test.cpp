// Weights are used in place from the file's read-only mapping (issue 9: "mmap, no copy of
// weights that can be used in place"): every tensor a loaded model binds lies inside the
// mapping of the GGUF file listed in /proc/self/maps, and loading copies no weight bytes into
// anonymous memory (the resident anonymous memory grows by far less than the weights).
// Matrices the kernels compute faster with interleaved rows are the exception: they are
// repacked into the model's own buffers and their file pages released, so the resident set
// still stays at about the weights' size.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "model/context.h"
#include "model/model.h"

namespace corral {
namespace {

struct Range {
  uintptr_t begin, end;
};

// Address ranges /proc/self/maps lists for `path`.
std::vector<Range> mappings_of(const std::string& path) {
  std::vector<Range> out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, name;
    in >> range >> perms >> offset >> dev >> inode;
    std::getline(in >> std::ws, name);
    if (name != path) continue;
    const size_t dash = range.find('-');
    out.push_back({std::stoull(range.substr(0, dash), nullptr, 16), std::stoull(range.substr(dash + 1), nullptr, 16)});
    EXPECT_EQ(perms.substr(0, 2), "r-") << "the weights mapping must be read-only: " << line;
  }
  return out;
}

// A resident-memory line of /proc/self/status ("RssAnon:", "RssFile:"), in bytes.
size_t rss(const std::string& which) {
  std::ifstream status("/proc/self/status");
  std::string key;
  size_t kb = 0;
  while (status >> key) {
    if (key == which) {
      status >> kb;
      return kb * 1024;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}
size_t rss_anon() { return rss("RssAnon:"); }

// Whether the page at virtual address `addr` is mapped in for this process (/proc/self/pagemap).
bool page_present(uintptr_t addr) {
  std::ifstream pagemap("/proc/self/pagemap", std::ios::binary);
  pagemap.seekg(static_cast<std::streamoff>(addr / 4096 * 8));
  uint64_t entry = 0;
  pagemap.read(reinterpret_cast<char*>(&entry), 8);
  return (entry >> 63) & 1u;
}

// Sets CORRAL_REPACK for one test and restores it after.
class RepackEnv {
 public:
  explicit RepackEnv(const char* value) {
    if (const char* old = std::getenv("CORRAL_REPACK")) old_ = old;
    setenv("CORRAL_REPACK", value, 1);
  }
  ~RepackEnv() {
    if (old_.empty()) {
      unsetenv("CORRAL_REPACK");
    } else {
      setenv("CORRAL_REPACK", old_.c_str(), 1);
    }
  }

 private:
  std::string old_;
};

std::vector<const TensorView*> all_tensors(const Model& model) {
  std::vector<const TensorView*> out = {&model.token_embd, &model.output_norm, &model.output};
  for (const LayerWeights& l : model.layers)
    for (const TensorView* t : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.q_norm,
                                &l.k_norm, &l.ffn_norm, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      out.push_back(t);
  return out;
}

class WeightsInPlace : public testing::TestWithParam<std::string> {};

TEST_P(WeightsInPlace, EveryTensorPointsIntoTheFileMapping) {
  const RepackEnv no_repack("0");
  const std::string path = std::string(CORRAL_SHARED_DIR) + "/conformance/models/" + GetParam();
  const size_t anon_before = rss_anon();
  auto m = Model::load(path);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const size_t anon_after = rss_anon();

  char resolved[4096];
  ASSERT_NE(realpath(path.c_str(), resolved), nullptr);
  const std::vector<Range> ranges = mappings_of(resolved);
  ASSERT_FALSE(ranges.empty()) << resolved << " is not mapped";
  size_t weight_bytes = 0;
  auto check = [&](const TensorView& t) {
    if (t.data == nullptr) return;
    const auto p = reinterpret_cast<uintptr_t>(t.data);
    const size_t n = t.row_bytes * static_cast<size_t>(t.n_rows());
    weight_bytes += n;
    bool inside = false;
    for (const Range& r : ranges) inside = inside || (p >= r.begin && p + n <= r.end);
    EXPECT_TRUE(inside) << t.name << " is not inside the file mapping";
  };
  const Model& model = **m;
  for (const TensorView* t : all_tensors(model)) check(*t);
  EXPECT_EQ(model.repacked, nullptr);
  ASSERT_GT(weight_bytes, size_t{1} << 20);
  // The parser's metadata and tensor index may allocate; a copy of the weights would show here.
  EXPECT_LT(anon_after > anon_before ? anon_after - anon_before : 0, weight_bytes / 4)
      << "anonymous memory grew by " << (anon_after - anon_before) << " bytes for " << weight_bytes << " of weights";
}

// With repacking on (the default): each tensor is in the file mapping, or in the model's arena
// (interleaved matrices, and copies of the small tensors every pass reads); the anonymous
// memory grows by the repacked bytes, and the file pages of what was repacked are not kept
// resident (the resident set stays near the weights' size), also after a forward pass.
TEST_P(WeightsInPlace, RepackedMatricesReplaceTheirFilePages) {
  const RepackEnv repack("1");
  const std::string path = std::string(CORRAL_SHARED_DIR) + "/conformance/models/" + GetParam();
  const size_t anon_before = rss_anon(), file_before = rss("RssFile:");
  auto m = Model::load(path);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)->repacked, nullptr) << "loading only maps and binds; the first forward pass repacks";
  (*m)->prepare_for_kernels();
  const size_t anon_grew = rss_anon() - std::min(rss_anon(), anon_before);
  const size_t file_grew = rss("RssFile:") - std::min(rss("RssFile:"), file_before);
  const Model& model = **m;
  char resolved[4096];
  ASSERT_NE(realpath(path.c_str(), resolved), nullptr);
  const std::vector<Range> ranges = mappings_of(resolved);
  size_t weight_bytes = 0, in_buffers = 0;
  for (const TensorView* t : all_tensors(model)) {
    if (t->data == nullptr) continue;
    const auto p = reinterpret_cast<uintptr_t>(t->data);
    const size_t n = t->row_bytes * static_cast<size_t>(t->n_rows());
    weight_bytes += n;
    bool in_file = false, in_buffer = false;
    for (const Range& r : ranges) in_file = in_file || (p >= r.begin && p + n <= r.end);
    const auto arena = reinterpret_cast<uintptr_t>(model.repacked.get());
    in_buffer = arena != 0 && p >= arena && p + n <= arena + model.arena_bytes;
    EXPECT_NE(in_file, in_buffer) << t->name;
    const bool small = t->n_rows() == 1;  // norms and biases
    EXPECT_EQ(t->interleave, in_buffer && !small ? kRowsInterleaved : 1) << t->name;
    if (small && model.repacked != nullptr) {
      EXPECT_TRUE(in_buffer) << t->name << " is read by every pass: it must not stay in the mapping";
      const GgufTensor* ft = model.file->find_tensor(t->name);
      ASSERT_NE(ft, nullptr) << t->name;
      EXPECT_EQ(std::memcmp(t->data, ft->data, n), 0) << t->name << " copied wrong";
    }
    if (in_buffer && !small && t != &model.output) in_buffers += n;
  }
  if (kernel_table().matmul_rows8[static_cast<int>(GgmlType::kQ4_K)].rows == nullptr)
    GTEST_SKIP() << "the " << kernel_table().name << " kernels have no interleaved layout";
  if (GetParam().find("K_M") != std::string::npos) {
    EXPECT_GT(model.repacked_bytes, weight_bytes / 2);
  }
  EXPECT_LE(in_buffers, model.repacked_bytes);
  // The arena is rounded up to a 2 MiB huge page.
  EXPECT_LT(anon_grew, model.repacked_bytes + (size_t{2} << 20) + weight_bytes / 4);
  // The whole pages of a repacked tensor's file bytes are no longer mapped in (pagemap's
  // "present" bit), right after the repack and after a forward pass, and the file-backed
  // resident memory grew by less than the weights.
  auto check_released = [&](const char* when) {
    size_t checked = 0;
    for (const TensorView* t : all_tensors(model)) {
      if (t->interleave != kRowsInterleaved) continue;
      const GgufTensor* ft = model.file->find_tensor(t->name);
      ASSERT_NE(ft, nullptr) << t->name;
      const size_t n = t->row_bytes * static_cast<size_t>(t->n_rows());
      const uintptr_t page = 4096, b = (reinterpret_cast<uintptr_t>(ft->data) + page - 1) / page * page;
      for (uintptr_t a = b; a + page <= reinterpret_cast<uintptr_t>(ft->data) + n; a += page, ++checked)
        ASSERT_FALSE(page_present(a)) << t->name << " keeps its file page at offset "
                                      << (a - reinterpret_cast<uintptr_t>(ft->data)) << " " << when;
    }
    if (model.repacked_bytes > 64 * 1024) {
      EXPECT_GT(checked, 0u);
    }
  };
  check_released("after the repack");
  ContextParams cp;
  cp.n_ctx = 64;
  auto ctx = Context::create(*m, cp);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  Batch batch;
  for (int32_t i = 0; i < 8; ++i) batch.add(i + 1, i, 0, i == 7);
  ASSERT_TRUE((*ctx)->forward(batch).ok());
  check_released("after a forward pass");
  EXPECT_LT(file_grew, weight_bytes) << "file pages of repacked weights stayed resident";
}

INSTANTIATE_TEST_SUITE_P(Conformance, WeightsInPlace,
                         testing::Values("llama-tok512-Q4_K_M.gguf", "llama-tok512-f32.gguf",
                                         "qwen2-tok512-Q8_0.gguf", "qwen3-tok512-Q4_K_M.gguf"),
                         [](const testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param.substr(0, p.param.find(".gguf"));
                           for (char& c : n) if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace corral
