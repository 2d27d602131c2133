// Weights are used in place from the file's read-only mapping (issue 9: "mmap, no copy of
// weights that can be used in place"): every tensor a loaded model binds lies inside the
// mapping of the GGUF file listed in /proc/self/maps, and loading copies no weight bytes into
// anonymous memory (the resident anonymous memory grows by far less than the weights).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

// Resident anonymous memory of this process, in bytes (RssAnon in /proc/self/status).
size_t rss_anon() {
  std::ifstream status("/proc/self/status");
  std::string key;
  size_t kb = 0;
  while (status >> key) {
    if (key == "RssAnon:") {
      status >> kb;
      return kb * 1024;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}

class WeightsInPlace : public testing::TestWithParam<std::string> {};

TEST_P(WeightsInPlace, EveryTensorPointsIntoTheFileMapping) {
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
  check(model.token_embd);
  check(model.output_norm);
  check(model.output);
  for (const LayerWeights& l : model.layers) {
    for (const TensorView* t : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.q_norm,
                                &l.k_norm, &l.ffn_norm, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      check(*t);
  }
  ASSERT_GT(weight_bytes, size_t{1} << 20);
  // The parser's metadata and tensor index may allocate; a copy of the weights would show here.
  EXPECT_LT(anon_after > anon_before ? anon_after - anon_before : 0, weight_bytes / 4)
      << "anonymous memory grew by " << (anon_after - anon_before) << " bytes for " << weight_bytes << " of weights";
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
