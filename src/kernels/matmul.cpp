// matmul(): activation quantisation, the split of rows over the pool, and the reference table
// (dequantise one weight row exactly, then dot it with every activation vector).
#include "kernels/matmul.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/ops.h"
#include "kernels/repack.h"
#include "tensor/quant.h"

namespace corral {
namespace {

void ref_rows_f32(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const auto* row = reinterpret_cast<const float*>(a.w + static_cast<size_t>(r) * a.w_row_bytes);
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const auto* x = reinterpret_cast<const float*>(static_cast<const uint8_t*>(a.x) + static_cast<size_t>(t) * a.x_stride_bytes);
      a.y[t * a.y_stride + r] = dot_f32(row, x, a.n);
    }
  }
}

template <GgmlType kType>
void ref_rows_dequant(const MatmulArgs& a, int64_t row_begin, int64_t row_end) {
  thread_local std::vector<float> buf;
  if (buf.size() < static_cast<size_t>(a.n)) buf.resize(static_cast<size_t>(a.n));
  for (int64_t r = row_begin; r < row_end; ++r) {
    dequantize_row(kType, a.w + static_cast<size_t>(r) * a.w_row_bytes, buf.data(), a.n);
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const auto* x = reinterpret_cast<const float*>(static_cast<const uint8_t*>(a.x) + static_cast<size_t>(t) * a.x_stride_bytes);
      a.y[t * a.y_stride + r] = dot_f32(buf.data(), x, a.n);
    }
  }
}

uint64_t ref_read_stream(const uint8_t* p, size_t bytes) {
  uint64_t a[4] = {};
  for (size_t i = 0; i < bytes; i += 32) {
    uint64_t v[4];
    std::memcpy(v, p + i, 32);
    for (int j = 0; j < 4; ++j) a[j] += v[j];
  }
  return a[0] + a[1] + a[2] + a[3];
}

int64_t ref_int8_peak(int64_t iters) {
  int32_t acc[6] = {};
  int8_t w = 3, x = static_cast<int8_t>((iters & 1) + 1);
  for (int64_t it = 0; it < iters; ++it) {
    for (int j = 0; j < 6; ++j)
      for (int l = 0; l < 32; ++l) acc[j] += w * x;
    __asm__ volatile("" : "+r"(w), "+r"(x));
  }
  int64_t s = 0;
  for (int32_t v : acc) s += v;
  return s;
}

template <uint32_t... kIds>
void fill_dequant(KernelTable& t, std::integer_sequence<uint32_t, kIds...>) {
  ((t.matmul[kIds] = TypeKernel{ref_rows_dequant<static_cast<GgmlType>(kIds)>, ActFormat::kF32}), ...);
}

KernelTable make_reference_table() {
  KernelTable t{};
  t.name = "scalar";
  KernelTable all{};
  fill_dequant(all, std::make_integer_sequence<uint32_t, kMaxGgmlTypes>());
  for (uint32_t id = 0; id < kMaxGgmlTypes; ++id) {
    const GgmlTypeInfo* info = ggml_type_info(id);
    if (info != nullptr && info->compute_supported) t.matmul[id] = all.matmul[id];
  }
  t.matmul[static_cast<uint32_t>(GgmlType::kF32)] = TypeKernel{ref_rows_f32, ActFormat::kF32};
  t.attention_f16 = attention_f16_ref;
  t.attention_f32 = attention_f32_ref;
  t.attention_ext_f16 = attention_ext_f16_ref;
  t.attention_ext_f32 = attention_ext_f32_ref;
  t.attention_block_f32 = attention_block_f32_ref;
  t.attention_q8_0 = attention_q8_0_ref;
  t.attention_q4_0 = attention_q4_0_ref;
  t.read_stream = ref_read_stream;
  t.int8_peak = ref_int8_peak;
  return t;
}

// Quantised activations of the calling thread; grows to the largest matmul seen, then stays.
thread_local std::vector<uint8_t> t_act;

// One interleaved group back in the file layout, for tables without an interleaved kernel
// (the scalar reference) and for single-row reads.
const uint8_t* unpacked_group(const TensorView& w, int64_t group) {
  thread_local std::vector<uint8_t> buf;
  const size_t bytes = w.row_bytes * kRowsInterleaved;
  if (buf.size() < bytes) buf.resize(bytes);
  unpack_rows8(w.type, static_cast<const uint8_t*>(w.data) + static_cast<size_t>(group) * bytes, w.row_bytes, buf.data());
  return buf.data();
}

}  // namespace

const KernelTable& reference_kernel_table() {
  static const KernelTable table = make_reference_table();
  return table;
}

namespace {

// One weight matrix's share of a (possibly fused) product: its rows are computed in units of 1
// row, or of one interleaved group.
struct Part {
  MatmulArgs args;
  TypeKernel plain;     // the file-layout kernel
  RowsKernel grouped;   // the interleaved kernel, or null
  const TensorView* w;
  int64_t unit_rows;
  size_t units;
};

Part make_part(const KernelTable& table, const TensorView& w, const float* x, int64_t x_stride, int64_t n_tokens,
               float* y, int64_t y_stride) {
  const auto type_id = static_cast<uint32_t>(w.type);
  Part p{};
  p.plain = table.matmul[type_id];
  if (p.plain.rows == nullptr) p.plain = reference_kernel_table().matmul[type_id];
  p.w = &w;
  p.args = MatmulArgs{static_cast<const uint8_t*>(w.data), w.row_bytes, w.ne[0], x,
                      static_cast<size_t>(x_stride) * sizeof(float), n_tokens, y, y_stride};
  p.unit_rows = w.interleave == kRowsInterleaved ? kRowsInterleaved : 1;
  p.units = static_cast<size_t>(w.n_rows() / p.unit_rows);
  const TypeKernel k8 = table.matmul_rows8[type_id];
  if (p.unit_rows > 1 && k8.rows != nullptr && k8.act == p.plain.act) p.grouped = k8.rows;
  return p;
}

void run_units(const Part& p, size_t u0, size_t u1) {
  if (p.w->interleave != kRowsInterleaved) {
    p.plain.rows(p.args, static_cast<int64_t>(u0), static_cast<int64_t>(u1));
  } else if (p.grouped != nullptr) {
    p.grouped(p.args, static_cast<int64_t>(u0) * kRowsInterleaved, static_cast<int64_t>(u1) * kRowsInterleaved);
  } else {  // a table without the interleaved kernel: one group at a time in the file layout
    for (size_t g = u0; g < u1; ++g) {
      MatmulArgs one = p.args;
      one.w = unpacked_group(*p.w, static_cast<int64_t>(g));
      one.y = p.args.y + g * kRowsInterleaved;
      p.plain.rows(one, 0, kRowsInterleaved);
    }
  }
}

}  // namespace

void matmul_many_with(const KernelTable& table, std::span<const MatmulOut> outs, const float* x, int64_t x_stride,
                      int64_t n_tokens) {
  if (outs.empty()) return;
  // A fixed array, not a vector: generation must not allocate per token (no_alloc_test).
  constexpr size_t kMaxFused = 4;
  if (outs.size() > kMaxFused) {
    for (size_t i = 0; i < outs.size(); i += kMaxFused)
      matmul_many_with(table, outs.subspan(i, std::min(kMaxFused, outs.size() - i)), x, x_stride, n_tokens);
    return;
  }
  Part part_store[kMaxFused];
  std::span<Part> parts(part_store, outs.size());
  size_t n_parts = 0;
  for (const MatmulOut& o : outs) parts[n_parts++] = make_part(table, *o.w, x, x_stride, n_tokens, o.y, o.y_stride);
  // Fusing needs one activation format and width; otherwise one product after another.
  for (const Part& p : parts) {
    if (p.plain.act != parts[0].plain.act || p.args.n != parts[0].args.n) {
      for (const MatmulOut& o : outs) matmul_many_with(table, std::span<const MatmulOut>(&o, 1), x, x_stride, n_tokens);
      return;
    }
  }
  ThreadPool& pool = ThreadPool::global();
  const ActFormat act_format = parts[0].plain.act;
  if (act_format != ActFormat::kF32) {  // quantised once for every matrix
    const QuantizeActFn quantize = act_format == ActFormat::kQ8_0 ? table.quantize_q8_0 : table.quantize_q8_k;
    const int64_t n = parts[0].args.n;
    const size_t row_bytes = act_row_bytes(act_format, n);
    const size_t need = row_bytes * static_cast<size_t>(n_tokens);
    if (t_act.size() < need) t_act.resize(need);
    uint8_t* act = t_act.data();
    auto quantize_tokens = [&](size_t b, size_t e, int) {
      for (size_t t = b; t < e; ++t) quantize(x + static_cast<int64_t>(t) * x_stride, act + t * row_bytes, n);
    };
    if (n_tokens >= 8) pool.parallel_for(static_cast<size_t>(n_tokens), quantize_tokens);
    else quantize_tokens(0, static_cast<size_t>(n_tokens), 0);
    for (Part& p : parts) {
      p.args.x = act;
      p.args.x_stride_bytes = row_bytes;
    }
  }
  // One loop over the units of all matrices: a unit's result never depends on the split.
  size_t total = 0;
  for (const Part& p : parts) total += p.units;
  // Chunks claimed by free threads (about 8 per thread): on a shared machine one core is often
  // slower than the other, and a static half each would wait for it.
  pool.parallel_for_dynamic(total, [&](size_t b, size_t e, int) {
    size_t first = 0;
    for (const Part& p : parts) {
      const size_t lo = std::max(b, first), hi = std::min(e, first + p.units);
      if (lo < hi) run_units(p, lo - first, hi - first);
      first += p.units;
    }
  });
}

void matmul_with(const KernelTable& table, const TensorView& w, const float* x, int64_t x_stride,
                 int64_t n_tokens, float* y, int64_t y_stride) {
  const MatmulOut out{&w, y, y_stride};
  matmul_many_with(table, std::span<const MatmulOut>(&out, 1), x, x_stride, n_tokens);
}

void matmul_many(std::span<const MatmulOut> outs, const float* x, int64_t x_stride, int64_t n_tokens) {
  matmul_many_with(kernel_table(), outs, x, x_stride, n_tokens);
}

void matmul(const TensorView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride) {
  matmul_with(kernel_table(), w, x, x_stride, n_tokens, y, y_stride);
}

void matmul_jobs_with(const KernelTable& table, std::span<const MatmulJob> jobs) {
  if (jobs.empty()) return;
  // Grown once to the largest call, then reused: no allocation per call in steady state. The
  // loops below run on the pool's threads, so they must see the calling thread's vectors
  // through these references, not their own thread_local instances.
  thread_local std::vector<Part> t_parts;
  thread_local std::vector<size_t> t_act_offset, t_unit_end, t_act_row_end;
  std::vector<Part>& parts = t_parts;
  std::vector<size_t>& act_offset = t_act_offset;
  std::vector<size_t>& unit_end = t_unit_end;
  std::vector<size_t>& act_row_end = t_act_row_end;
  parts.clear();
  act_offset.assign(jobs.size(), 0);
  act_row_end.assign(jobs.size(), 0);
  unit_end.clear();
  // Each job's quantised activations: a job that reads the same vectors in the same format as
  // the one before it (gate and up of one expert) shares its rows.
  size_t act_bytes = 0, act_rows = 0, units = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const MatmulJob& j = jobs[i];
    parts.push_back(make_part(table, *j.w, j.x, j.x_stride, j.n_tokens, j.y, j.y_stride));
    if (j.n_tokens <= 0) parts.back().units = 0;  // nothing to compute
    const Part& p = parts.back();
    units += p.units;
    unit_end.push_back(units);
    if (p.plain.act == ActFormat::kF32) {
      act_row_end[i] = act_rows;
      continue;
    }
    const bool shared = i > 0 && jobs[i - 1].x == j.x && jobs[i - 1].n_tokens == j.n_tokens &&
                        parts[i - 1].plain.act == p.plain.act && parts[i - 1].args.n == p.args.n;
    if (shared) {
      act_offset[i] = act_offset[i - 1];
      act_row_end[i] = act_rows;
      continue;
    }
    act_offset[i] = act_bytes;
    act_bytes += act_row_bytes(p.plain.act, p.args.n) * static_cast<size_t>(j.n_tokens);
    act_rows += static_cast<size_t>(j.n_tokens);
    act_row_end[i] = act_rows;
  }
  if (act_bytes > 0) {
    if (t_act.size() < act_bytes) t_act.resize(act_bytes);
    uint8_t* act = t_act.data();
    // Rows [b, e) of all jobs' activations, job by job (a job owns rows up to act_row_end).
    auto quantize_rows = [&](size_t b, size_t e, int) {
      size_t i = static_cast<size_t>(std::upper_bound(act_row_end.begin(), act_row_end.end(), b) - act_row_end.begin());
      for (size_t r = b; r < e && i < jobs.size(); ++i) {
        const Part& p = parts[i];
        if (p.plain.act == ActFormat::kF32 || act_row_end[i] <= r) continue;
        const size_t first = act_row_end[i] - static_cast<size_t>(jobs[i].n_tokens);
        const QuantizeActFn quantize = p.plain.act == ActFormat::kQ8_0 ? table.quantize_q8_0 : table.quantize_q8_k;
        const size_t row_bytes = act_row_bytes(p.plain.act, p.args.n);
        for (; r < e && r < act_row_end[i]; ++r)
          quantize(jobs[i].x + static_cast<int64_t>(r - first) * jobs[i].x_stride,
                   act + act_offset[i] + (r - first) * row_bytes, p.args.n);
      }
    };
    ThreadPool::global().parallel_for(act_rows, quantize_rows);
    for (size_t i = 0; i < jobs.size(); ++i) {
      Part& p = parts[i];
      if (p.plain.act == ActFormat::kF32) continue;
      p.args.x = act + act_offset[i];
      p.args.x_stride_bytes = act_row_bytes(p.plain.act, p.args.n);
    }
  }
  ThreadPool::global().parallel_for_dynamic(units, [&](size_t b, size_t e, int) {
    size_t i = static_cast<size_t>(std::upper_bound(unit_end.begin(), unit_end.end(), b) - unit_end.begin());
    for (; i < parts.size() && b < e; ++i) {
      const size_t first = unit_end[i] - parts[i].units;
      const size_t hi = std::min(e, unit_end[i]);
      if (b < hi) run_units(parts[i], b - first, hi - first);
      b = hi;
    }
  });
}

void matmul_jobs(std::span<const MatmulJob> jobs) { matmul_jobs_with(kernel_table(), jobs); }

void get_row_f32(const TensorView& w, int64_t i, float* dst) {
  if (w.interleave == kRowsInterleaved) {
    const uint8_t* group = unpacked_group(w, i / kRowsInterleaved);
    dequantize_row(w.type, group + static_cast<size_t>(i % kRowsInterleaved) * w.row_bytes, dst, w.ne[0]);
    return;
  }
  dequantize_row(w.type, w.row(i), dst, w.ne[0]);
}

}  // namespace corral
