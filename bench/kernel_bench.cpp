// kernel_bench: per-kernel throughput for every kernel path this CPU can run, as fractions are
// only meaningful against limits measured in the same run (Read/* and Int8Peak/* rows).
//   build/perf/bench/kernel_bench --benchmark_filter=Matvec   (CORRAL_NUM_THREADS=2)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "base/thread_pool.h"
#include "gguf/ggml_type.h"
#include "kernels/dispatch.h"
#include "kernels/limits.h"
#include "kernels/matmul.h"
#include "kernels/repack.h"
#include "tensor/quant.h"
#include "unit/kernels/random_weights.h"

namespace corral {
namespace {

const GgmlType kTypes[] = {GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kQ8_0, GgmlType::kQ4_0,
                           GgmlType::kF16,  GgmlType::kQ5_K, GgmlType::kQ3_K, GgmlType::kQ2_K,
                           GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kBF16,
                           GgmlType::kF32,  GgmlType::kIQ4_XS};
// Interleaved kernels timed alone (Rows8Kernel) only: the 4-bit table types with Q8_0 activations.
const GgmlType kRows8OnlyTypes[] = {GgmlType::kIQ4_NL, GgmlType::kMXFP4};

// A rows x n weight matrix of random quantised values (one row quantised, then repeated with
// small changes would be cache-friendly; every row is distinct here).
struct Matrix {
  std::vector<uint8_t> bytes;
  TensorView view;
};

std::shared_ptr<Matrix> make_matrix(GgmlType type, int64_t rows, int64_t n, bool rows8 = false) {
  auto m = std::make_shared<Matrix>();
  const size_t rb = ggml_row_bytes(type, n);
  m->bytes.resize(rb * static_cast<size_t>(rows));
  std::mt19937 rng(static_cast<unsigned>(type));
  std::normal_distribution<float> nd;
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* dst = &m->bytes[static_cast<size_t>(r) * rb];
    if (type == GgmlType::kIQ4_XS) {  // no reference quantizer: random codes and scales, a plain d
      for (size_t i = 0; i < rb; ++i) dst[i] = static_cast<uint8_t>(rng());
      const uint16_t d = f32_to_fp16(0.01f);
      for (size_t off = 0; off < rb; off += ggml_type_info(type).block_bytes) memcpy(dst + off, &d, 2);
      continue;
    }
    for (auto& v : row) v = nd(rng);
    quantize_row_for_tests(type, row.data(), &m->bytes[static_cast<size_t>(r) * rb], n);  // IQ4_NL, MXFP4 too
  }
  m->view.data = m->bytes.data();
  m->view.type = type;
  m->view.ne[0] = n;
  m->view.ne[1] = rows;
  m->view.row_bytes = rb;
  if (rows8) {  // the layout the model loader repacks to (kernels/repack.h)
    std::vector<uint8_t> packed(m->bytes.size());
    for (int64_t g = 0; g < rows / kRowsInterleaved; ++g) {
      const size_t off = static_cast<size_t>(g) * rb * kRowsInterleaved;
      pack_rows8(type, &m->bytes[off], rb, &packed[off]);
    }
    m->bytes.swap(packed);
    m->view.data = m->bytes.data();
    m->view.interleave = kRowsInterleaved;
  }
  return m;
}

std::vector<float> make_acts(int64_t n_tokens, int64_t n) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  std::vector<float> x(static_cast<size_t>(n_tokens * n));
  for (auto& v : x) v = nd(rng);
  return x;
}

// Generation shape: 8192 x 4096 (bigger than any last-level cache here), one token.
void register_matvec(const std::string& path, const KernelTable* table, GgmlType type, bool rows8 = false) {
  const std::string name = "Matvec/" + path + "/" + std::string(ggml_type_name(type)) + (rows8 ? "/rows8" : "");
  benchmark::RegisterBenchmark(name.c_str(), [table, type, rows8](benchmark::State& st) {
    const int64_t rows = std::getenv("KB_ROWS") ? std::atoll(std::getenv("KB_ROWS")) : 8192, n = 4096;
    auto m = make_matrix(type, rows, n, rows8);
    std::vector<float> x = make_acts(1, n), y(static_cast<size_t>(rows));
    for (auto _ : st) {
      matmul_with(*table, m->view, x.data(), n, 1, y.data(), rows);
      benchmark::DoNotOptimize(y.data());
    }
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(m->bytes.size()));
  })->Unit(benchmark::kMillisecond)->UseRealTime();
}

// Prompt shape: 2048 x 2048 weights times 64 tokens; GOP/s counts 2 per multiply-add.
void register_matmul(const std::string& path, const KernelTable* table, GgmlType type, bool rows8 = false) {
  const std::string name = "Matmul64/" + path + "/" + std::string(ggml_type_name(type)) + (rows8 ? "/rows8" : "");
  benchmark::RegisterBenchmark(name.c_str(), [table, type, rows8](benchmark::State& st) {
    const int64_t rows = 2048, n = 2048, nt = 64;
    auto m = make_matrix(type, rows, n, rows8);
    std::vector<float> x = make_acts(nt, n), y(static_cast<size_t>(rows * nt));
    for (auto _ : st) {
      matmul_with(*table, m->view, x.data(), n, nt, y.data(), rows);
      benchmark::DoNotOptimize(y.data());
    }
    st.counters["GOP/s"] = benchmark::Counter(2.0 * static_cast<double>(rows * n * nt) * static_cast<double>(st.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
  })->Unit(benchmark::kMillisecond)->UseRealTime();
}

// The interleaved kernel alone, on the benchmark's own thread (no pool, activations quantised
// once outside the loop): its CPU time is the kernel's, even when the machine is shared and the
// wall time is several times longer. Same shape as Matmul64.
void register_rows8_kernel(const std::string& path, const KernelTable* table, GgmlType type) {
  const std::string name = "Rows8Kernel/" + path + "/" + std::string(ggml_type_name(type));
  benchmark::RegisterBenchmark(name.c_str(), [table, type](benchmark::State& st) {
    // KB_TOKENS: the batch (1 = generation, 2..8 = the server's multi-stream decode steps).
    const int64_t rows = 2048, n = 2048, nt = std::getenv("KB_TOKENS") ? std::atoll(std::getenv("KB_TOKENS")) : 64;
    auto m = make_matrix(type, rows, n, true);
    const TypeKernel k = table->matmul_rows8[static_cast<uint32_t>(type)];
    const size_t arow = act_row_bytes(k.act, n);
    std::vector<float> x = make_acts(nt, n), y(static_cast<size_t>(rows * nt));
    std::vector<uint8_t> xq(arow * static_cast<size_t>(nt));
    const QuantizeActFn quant = k.act == ActFormat::kQ8_K ? table->quantize_q8_k : table->quantize_q8_0;
    for (int64_t t = 0; t < nt; ++t) quant(&x[static_cast<size_t>(t * n)], &xq[arow * static_cast<size_t>(t)], n);
    MatmulArgs args{m->bytes.data(), m->view.row_bytes, n, xq.data(), arow, nt, y.data(), rows};
    for (auto _ : st) {
      k.rows(args, 0, rows);
      benchmark::DoNotOptimize(y.data());
    }
    st.counters["GOP/s"] = benchmark::Counter(2.0 * static_cast<double>(rows * n * nt) * static_cast<double>(st.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
  })->Unit(benchmark::kMillisecond);
}

void register_attention(const std::string& path, const KernelTable* table) {
  const std::string name = "AttentionF16/" + path + "/ctx4096_hd64";
  benchmark::RegisterBenchmark(name.c_str(), [table](benchmark::State& st) {
    const int64_t n_pos = 4096, hd = 64;
    const size_t stride = 256;  // 4 KV heads
    std::vector<uint16_t> k(stride * static_cast<size_t>(n_pos)), v(k.size());
    std::mt19937 rng(9);
    std::normal_distribution<float> nd;
    for (size_t i = 0; i < k.size(); ++i) {
      k[i] = f32_to_fp16(nd(rng));
      v[i] = f32_to_fp16(nd(rng));
    }
    std::vector<float> q = make_acts(1, hd), out(static_cast<size_t>(hd));
    for (auto _ : st) {
      table->attention_f16(q.data(), k.data(), v.data(), stride, n_pos, hd, 0.125f, out.data());
      benchmark::DoNotOptimize(out.data());
    }
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * n_pos * hd * 2 * 2);  // K and V rows
  })->Unit(benchmark::kMicrosecond);
}

// The same shape over a q8_0 / q4_0 KV cache (model/kv_type.h): 4 KV heads of 64 per row.
void register_attention_quant(const std::string& path, const KernelTable* table, GgmlType type) {
  const std::string name = std::string("Attention") + (type == GgmlType::kQ8_0 ? "Q8_0" : "Q4_0") + "/" + path + "/ctx4096_hd64";
  benchmark::RegisterBenchmark(name.c_str(), [table, type](benchmark::State& st) {
    const int64_t n_pos = 4096, hd = 64, row = 256;
    const size_t stride = ggml_row_bytes(type, row);
    std::vector<uint8_t> k(stride * static_cast<size_t>(n_pos)), v(k.size());
    std::vector<float> x = make_acts(1, row);
    for (int64_t p = 0; p < n_pos; ++p) {
      quantize_row(type, x.data(), &k[static_cast<size_t>(p) * stride], row);
      std::rotate(x.begin(), x.begin() + 1, x.end());
      quantize_row(type, x.data(), &v[static_cast<size_t>(p) * stride], row);
    }
    const AttentionQuantFn fn = type == GgmlType::kQ8_0 ? table->attention_q8_0 : table->attention_q4_0;
    std::vector<float> q = make_acts(1, hd), out(static_cast<size_t>(hd));
    for (auto _ : st) {
      fn(q.data(), k.data(), v.data(), stride, n_pos, hd, 0.125f, 0.0f, -INFINITY, out.data());
      benchmark::DoNotOptimize(out.data());
    }
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * n_pos * 2 * static_cast<int64_t>(ggml_row_bytes(type, hd)));
  })->Unit(benchmark::kMicrosecond);
}

// A GQA group at depth: TinyLlama's 8 query heads of one KV head over 4096 cached positions, in
// one group call (each K/V tile converted once for the 8), f16 or q8_0 rows. Compare with 8 x
// the one-query benchmarks above.
void register_attention_group(const std::string& path, const KernelTable* table, bool q8) {
  const std::string name = std::string("AttentionGroup") + (q8 ? "Q8_0" : "F16") + "/" + path + "/ctx4096_hd64_g8";
  const AttentionGroupFn fn = q8 ? table->attention_group_q8_0 : table->attention_group_f16;
  if (fn == nullptr) return;
  benchmark::RegisterBenchmark(name.c_str(), [fn, q8](benchmark::State& st) {
    const int64_t n_pos = 4096, hd = 64, row = 256, g = 8;
    const size_t stride = q8 ? ggml_row_bytes(GgmlType::kQ8_0, row) : static_cast<size_t>(row) * 2;
    std::vector<uint8_t> k(stride * static_cast<size_t>(n_pos)), v(k.size());
    std::vector<float> x = make_acts(1, row);
    for (int64_t p = 0; p < n_pos; ++p) {
      for (int which = 0; which < 2; ++which) {
        uint8_t* dst = (which == 0 ? k : v).data() + static_cast<size_t>(p) * stride;
        if (q8) {
          quantize_row(GgmlType::kQ8_0, x.data(), dst, row);
        } else {
          for (int64_t i = 0; i < row; ++i) {
            const uint16_t h = f32_to_fp16(x[static_cast<size_t>(i)]);
            std::memcpy(dst + 2 * i, &h, 2);
          }
        }
        std::rotate(x.begin(), x.begin() + 1, x.end());
      }
    }
    std::vector<float> q = make_acts(g, hd), out(static_cast<size_t>(g * hd));
    const float* qp[8];
    float* op[8];
    int64_t np[8];
    for (int64_t i = 0; i < g; ++i) {
      qp[i] = &q[static_cast<size_t>(i * hd)];
      op[i] = &out[static_cast<size_t>(i * hd)];
      np[i] = n_pos;
    }
    const AttnQueries qs{qp, op, np, nullptr, static_cast<int>(g)};
    for (auto _ : st) {
      fn(qs, k.data(), v.data(), stride, hd, 0.125f, 0.0f);
      benchmark::DoNotOptimize(out.data());
    }
  })->Unit(benchmark::kMicrosecond);
}

void register_limits(const std::string& path, const KernelTable* table) {
  benchmark::RegisterBenchmark(("Read/" + path).c_str(), [table](benchmark::State& st) {
    RateSpread bw;
    for (auto _ : st) bw = measure_read_bandwidth(*table, size_t{256} << 20, 5);
    st.counters["GB/s"] = bw.median / 1e9;
    st.counters["GB/s low"] = bw.low / 1e9;
    st.counters["GB/s high"] = bw.high / 1e9;
  })->Iterations(1)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("Int8Peak/" + path).c_str(), [table](benchmark::State& st) {
    double ops = 0;
    for (auto _ : st) ops = measure_int8_peak(*table, 0.3);
    st.counters["GOP/s"] = ops / 1e9;
  })->Iterations(1)->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace corral

int main(int argc, char** argv) {
  using namespace corral;
  for (const std::string& path : runnable_kernel_paths()) {
    const KernelTable* table = kernel_table_by_name(path);
    register_limits(path, table);
    auto has_rows8 = [table](GgmlType t) { return table->matmul_rows8[static_cast<uint32_t>(t)].rows != nullptr; };
    for (GgmlType t : kTypes) {
      register_matvec(path, table, t);
      if (has_rows8(t)) register_matvec(path, table, t, true);
    }
    for (GgmlType t : kTypes) {
      register_matmul(path, table, t);
      if (has_rows8(t)) register_matmul(path, table, t, true);
    }
    for (GgmlType t : kTypes)
      if (has_rows8(t)) register_rows8_kernel(path, table, t);
    for (GgmlType t : kRows8OnlyTypes)
      if (has_rows8(t)) register_rows8_kernel(path, table, t);
    register_attention(path, table);
    register_attention_quant(path, table, GgmlType::kQ8_0);
    register_attention_quant(path, table, GgmlType::kQ4_0);
    register_attention_group(path, table, false);
    register_attention_group(path, table, true);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
