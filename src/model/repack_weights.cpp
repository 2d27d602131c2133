// Model::repack_for_kernels: copies each matrix the active kernel table computes faster with
// interleaved rows into its own buffer, in parallel by groups of rows, then tells the kernel it
// no longer needs the file pages those weights came from, so the resident set stays at about
// the file's size (issue 9: repacking must keep the memory target).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "base/meminfo.h"
#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/repack.h"
#include "model/model.h"

namespace corral {
namespace {

bool repack_enabled() {
  const char* env = std::getenv("CORRAL_REPACK");
  return env == nullptr || std::string_view(env) != "0";
}

// Drops this process's mapping of the whole pages inside [p, p + n); they stay in the page cache.
void release_pages(const void* p, size_t n) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const auto end = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

// Maps [p, p + n) in with one call instead of a page fault per page (Linux 5.14+; elsewhere the
// call fails and the pages fault in as they are touched).
void populate(const void* p, size_t n, bool for_write) {
#ifndef MADV_POPULATE_READ
  constexpr int MADV_POPULATE_READ = 22;
  constexpr int MADV_POPULATE_WRITE = 23;
#endif
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(p) / page * page;
  const auto end = reinterpret_cast<uintptr_t>(p) + n;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, for_write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

}  // namespace

void Model::prepare_for_kernels() const {
  std::call_once(repack_once_, [this] { const_cast<Model*>(this)->repack_for_kernels(); });
}

// Drops from `todo` what the repack's copy would not fit into (repack_memory_limit): expert
// tensors first, then everything. Copying a model larger than free memory would push the
// machine into swap or the OOM killer; left in the file mapping it runs from the page cache.
void Model::fit_to_free_memory(std::vector<TensorView*>& todo) {
  const int64_t limit = repack_memory_limit >= 0 ? repack_memory_limit
                                                 : static_cast<int64_t>(static_cast<double>(mem_available_bytes()) * 0.8);
  if (limit <= 0 && repack_memory_limit < 0) return;  // free memory unknown: repack as before
  auto bytes = [](const std::vector<TensorView*>& v) {
    size_t n = 0;
    for (const TensorView* t : v) n += t->row_bytes * static_cast<size_t>(t->n_rows());
    return n;
  };
  const size_t wanted = bytes(todo);
  if (wanted <= static_cast<size_t>(limit)) return;
  std::vector<TensorView*> dense;
  for (TensorView* t : todo)
    if (t->ne[2] <= 1) dense.push_back(t);
  if (bytes(dense) > static_cast<size_t>(limit)) dense.clear();
  weights_left_mapped = wanted - bytes(dense);
  CORRAL_LOG_WARN(
      "model: {} MiB of weights to repack, room for {} MiB: {} MiB stay mapped from the file and run "
      "from the page cache (slower when it cannot hold them)",
      wanted >> 20, limit >> 20, weights_left_mapped >> 20);
  todo = std::move(dense);
}

void Model::repack_for_kernels() {
  if (!repack_enabled()) return;
  const KernelTable& table = kernel_table();
  // token_embd is read a row at a time; it is repacked only when it is also the output matrix.
  std::vector<TensorView*> todo;
  auto consider = [&](TensorView& t) {
    if (t.data == nullptr || t.interleave != 1) return;
    if (table.matmul_rows8[static_cast<uint32_t>(t.type)].rows == nullptr) return;
    if (!can_interleave_rows8(t.type, t.n_rows(), t.ne[0])) return;
    todo.push_back(&t);
  };
  consider(tied_embeddings ? token_embd : output);
  consider(per_layer_model_proj);
  for (LayerWeights& l : layers) {
    for (TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down, &l.ffn_gate_inp}) consider(*t);
    for (TensorView* t : {&l.delta_qkv, &l.delta_z, &l.delta_beta, &l.delta_alpha, &l.delta_out}) consider(*t);
    for (TensorView* t : {&l.ple_gate, &l.ple_proj}) consider(*t);
    for (TensorView* t : {&l.ffn_gate_shexp, &l.ffn_up_shexp, &l.ffn_down_shexp}) consider(*t);  // qwen35moe
    // Expert tensors: n_expert matrices one after another; repacked whole when each expert's
    // rows are whole groups, so a group never straddles two experts (moe.h's expert_matrix).
    for (TensorView* t : {&l.ffn_gate_exps, &l.ffn_up_exps, &l.ffn_down_exps})
      if (t->ne[1] % kRowsInterleaved == 0) consider(*t);
    // Gemma 4's merged gate/up: each half of an expert's rows whole groups.
    if ((l.ffn_gate_up_exps.ne[1] / 2) % kRowsInterleaved == 0) consider(l.ffn_gate_up_exps);
  }
  if (todo.empty()) return;
  fit_to_free_memory(todo);
  if (todo.empty()) return;
  // The small tensors every pass reads (norms, biases) sit in the file between the matrices
  // whose pages are released below. The page cache may hold the file in 2 MiB folios, and a
  // fault on a norm then maps the whole folio back in, neighbours' released pages included
  // (measured: 33 MiB of them on TinyLlama q4_0, 113% of file + KV). Copied next to the
  // repacked matrices, they no longer touch the mapping.
  std::vector<TensorView*> small;
  auto keep_small = [&](TensorView& t) {
    if (t.data != nullptr && t.interleave == 1) small.push_back(&t);
  };
  keep_small(output_norm);
  keep_small(per_layer_proj_norm);
  for (LayerWeights& l : layers)
    for (TensorView* t : {&l.attn_norm, &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm, &l.attn_post_norm, &l.ffn_norm,
                          &l.ffn_post_norm, &l.bo, &l.attn_sinks, &l.ffn_gate_inp_b, &l.ffn_gate_exps_b,
                          &l.ffn_up_exps_b, &l.ffn_down_exps_b, &l.delta_conv, &l.delta_dt, &l.delta_a,
                          &l.delta_norm, &l.ple_post_norm, &l.out_scale})
      keep_small(*t);
  for (LayerWeights& l : layers) keep_small(l.ffn_gate_inp_shexp);  // qwen35moe's shared-expert gate
  for (LayerWeights& l : layers)  // Gemma 4's expert norms and scales
    for (TensorView* t : {&l.ffn_gate_inp_s, &l.ffn_down_exps_s, &l.ffn_pre_norm_2, &l.ffn_post_norm_1, &l.ffn_post_norm_2})
      keep_small(*t);

  // One arena for all of them, 64-byte aligned slices: 2 MiB aligned and marked for transparent
  // huge pages (fewer page faults while packing, fewer TLB misses while streaming the weights)
  // without rounding every matrix up to a huge page.
  auto slice = [](const TensorView* t) { return (t->row_bytes * static_cast<size_t>(t->n_rows()) + 63) / 64 * 64; };
  size_t total = 0;
  for (const TensorView* t : todo) total += slice(t);
  for (const TensorView* t : small) total += slice(t);
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t arena_size = (total + kHuge - 1) / kHuge * kHuge;
  auto* arena = static_cast<uint8_t*>(std::aligned_alloc(kHuge, arena_size));
  if (arena == nullptr) {
    CORRAL_LOG_WARN("model: no memory to repack {} bytes of weights; using them as stored", total);
    return;
  }
  madvise(arena, arena_size, MADV_HUGEPAGE);
  repacked.reset(arena);
  arena_bytes = arena_size;

  uint8_t* dst = arena;
  for (TensorView* t : todo) {
    const size_t group_bytes = t->row_bytes * kRowsInterleaved;
    const size_t groups = static_cast<size_t>(t->n_rows() / kRowsInterleaved);
    const auto* src = static_cast<const uint8_t*>(t->data);
    ThreadPool::global().parallel_for(groups, [&](size_t b, size_t e, int) {
      populate(src + b * group_bytes, (e - b) * group_bytes, false);
      populate(dst + b * group_bytes, (e - b) * group_bytes, true);
      for (size_t g = b; g < e; ++g) pack_rows8(t->type, src + g * group_bytes, t->row_bytes, dst + g * group_bytes);
    });
    release_pages(src, group_bytes * groups);
    repacked_bytes += group_bytes * groups;
    t->data = dst;
    t->interleave = kRowsInterleaved;
    dst += slice(t);
  }
  for (TensorView* t : small) {
    const size_t n = t->row_bytes * static_cast<size_t>(t->n_rows());
    std::memcpy(dst, t->data, n);
    t->data = dst;
    dst += slice(t);
  }
  if (tied_embeddings) output = token_embd;
}

}  // namespace corral
