// rows8_kernels_agree(): deterministic data (a fixed linear congruential sequence, not
// <random>, so the inputs are the same on every standard library), one run per table.
#include "kernels/table_check.h"

#include <cerrno>
#include <cstring>
#include <vector>

#if defined(__unix__)
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "kernels/repack.h"
#include "tensor/quant.h"

namespace corral {
namespace {

// Values in [-1, 1) with an occasional outlier, from a fixed sequence.
std::vector<float> pseudo_random(size_t count, uint32_t seed) {
  std::vector<float> v(count);
  uint32_t s = seed;
  for (size_t i = 0; i < count; ++i) {
    s = s * 1664525u + 1013904223u;
    v[i] = static_cast<float>(static_cast<int32_t>(s >> 8) - (1 << 23)) / static_cast<float>(1 << 23);
    if (i % 97 == 5) v[i] *= 9.0f;
  }
  return v;
}

}  // namespace

bool rows8_kernels_agree(const KernelTable& a, const KernelTable& b, GgmlType type) {
  const auto id = static_cast<uint32_t>(type);
  const TypeKernel ka = a.matmul_rows8[id], kb = b.matmul_rows8[id];
  if (ka.rows == nullptr || kb.rows == nullptr || ka.act != kb.act || ka.act == ActFormat::kF32) return false;
  constexpr int64_t kRows = 136, kCols = 512, kTokens = 85;
  const size_t row_bytes = ggml_row_bytes(type, kCols);
  const std::vector<float> w = pseudo_random(static_cast<size_t>(kRows * kCols), 7);
  std::vector<uint8_t> file(row_bytes * kRows), packed(file.size());
  for (int64_t r = 0; r < kRows; ++r)
    quantize_row(type, &w[static_cast<size_t>(r * kCols)], &file[static_cast<size_t>(r) * row_bytes], kCols);
  for (size_t g = 0; g < file.size(); g += row_bytes * kRowsInterleaved) pack_rows8(type, &file[g], row_bytes, &packed[g]);
  const std::vector<float> x = pseudo_random(static_cast<size_t>(kTokens * kCols), 11);
  const size_t act_bytes = act_row_bytes(ka.act, kCols);
  const QuantizeActFn quantize = ka.act == ActFormat::kQ8_0 ? a.quantize_q8_0 : a.quantize_q8_k;
  std::vector<uint8_t> act(act_bytes * kTokens);
  for (int64_t t = 0; t < kTokens; ++t) quantize(&x[static_cast<size_t>(t * kCols)], &act[act_bytes * static_cast<size_t>(t)], kCols);
  std::vector<float> ya(static_cast<size_t>(kRows * kTokens), 1.0f), yb(ya.size(), 2.0f);
  MatmulArgs args{packed.data(), row_bytes, kCols, act.data(), act_bytes, kTokens, ya.data(), kRows};
  ka.rows(args, 0, kRows);
  args.y = yb.data();
  kb.rows(args, 0, kRows);
  return std::memcmp(ya.data(), yb.data(), ya.size() * sizeof(float)) == 0;
}

ChildOutcome run_in_child(int (*probe)(const void* arg), const void* arg) {
  ChildOutcome out;
#if defined(__unix__)
  const pid_t pid = fork();
  if (pid < 0) return out;
  if (pid == 0) _exit(probe(arg));
  out.started = true;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      out.started = false;
      return out;
    }
  }
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  else if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
#else
  out.started = true;
  out.exit_code = probe(arg);
#endif
  return out;
}

}  // namespace corral
