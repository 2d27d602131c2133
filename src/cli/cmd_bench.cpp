// `corral bench -m FILE -p 512 -n 128 -t N -r R [--json]`: prompt-processing and generation
// speed (mean ± sd tokens/s over R runs, like llama-bench), with the machine's read bandwidth
// and int8 peak measured in the same run and the fraction of each that the model achieves; the
// load time and the resident memory after load and after generation beside the file and KV
// cache sizes (issue 9: RSS <= file + KV + 10%, ready in < 1 s from the page cache).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "cli/bench_util.h"
#include "cli/command.h"
#include "kernels/dispatch.h"
#include "kernels/limits.h"
#include "model/context.h"
#include "model/encoder.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace corral::cli {
namespace {

// Resident memory of this process from /proc/self/status, in bytes (0 where not available):
// file-backed pages (the mapped weights) and anonymous ones (KV cache, scratch, heap).
struct Rss {
  double total = 0.0, file = 0.0, anon = 0.0;
};

Rss read_rss() {
  Rss r;
  std::ifstream status("/proc/self/status");
  std::string key;
  double kb = 0.0;
  while (status >> key) {
    if (key == "VmRSS:" || key == "RssFile:" || key == "RssAnon:") {
      status >> kb;
      (key == "VmRSS:" ? r.total : key == "RssFile:" ? r.file : r.anon) = kb * 1024.0;
    }
    status.ignore(1 << 12, '\n');
  }
  return r;
}

double mib(double bytes) { return bytes / (1 << 20); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int cmd_bench(int argc, char** argv) {
  CLI::App app{"Measure prompt and generation speed against the machine's limits", "corral bench"};
  std::string model_path;
  int n_prompt = 512, n_gen = 128, threads = 0, reps = 3, depth = 0, embed_batch = 0, parallel = 1;
  int64_t ctx_size = 0;
  bool json = false, no_limits = false;
  std::string kv_type_text = "f16";
  app.add_option("-m,--model", model_path, "GGUF file")->required();
  app.add_option("-p,--n-prompt", n_prompt, "Prompt tokens per pp run (0: skip)")->check(CLI::Range(0, 1 << 20));
  app.add_option("-n,--n-gen", n_gen, "Generated tokens per tg run (0: skip)")->check(CLI::Range(0, 1 << 20));
  app.add_option("-t,--threads", threads, "Threads (default: CORRAL_NUM_THREADS or all)")->check(CLI::Range(0, 1024));
  app.add_option("-r,--repetitions", reps, "Runs per test")->check(CLI::Range(1, 1000));
  app.add_option("-d,--depth", depth, "Context depth: tokens already in the KV cache before each test (as llama-bench -d)")
      ->check(CLI::Range(0, 1 << 22));
  app.add_option("--embed", embed_batch,
                 "Embedding mode (encoder models; their default: 64 inputs of 100 tokens): embed batches of N "
                 "random inputs of -p tokens each")
      ->check(CLI::Range(1, 1 << 16));
  app.add_option("--parallel", parallel,
                 "Sequences generated side by side in the tg test, one token each per forward pass (as the server's "
                 "continuous batching runs that many streams); t/s counts all of them")
      ->check(CLI::Range(1, 256));
  app.add_option("-c,--ctx-size", ctx_size,
                 "Positions per sequence the context holds (default and minimum: depth + prompt + generated tokens); "
                 "the memory line shows what a context of that size costs")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  app.add_option("--kv-type,--cache-type-k,--cache-type-v", kv_type_text,
                 "KV cache type: f16, q8_0 or q4_0 (as OLLAMA_KV_CACHE_TYPE; -ctk/-ctv as llama-bench, one type "
                 "for both)");
  app.add_flag("--json", json, "JSON output");
  app.add_flag("--no-limits", no_limits, "Skip measuring read bandwidth and int8 peak");
  // llama-bench's -ctk / -ctv: CLI11 takes one-letter short names only.
  std::vector<std::string> args(argv, argv + argc);
  for (std::string& a : args)
    if (a == "-ctk" || a == "-ctv") a = "--kv-type";
  std::vector<char*> arg_ptrs;
  for (std::string& a : args) arg_ptrs.push_back(a.data());
  try {
    app.parse(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const std::optional<KvType> kv_type = parse_kv_type(kv_type_text);
  if (!kv_type || *kv_type == KvType::kF32) {
    std::fprintf(stderr, "Error: unknown KV cache type \"%s\" (f16, q8_0, q4_0)\n", kv_type_text.c_str());
    return 1;
  }
  // The global pool reads CORRAL_NUM_THREADS when first used, which is below.
  if (threads > 0) setenv("CORRAL_NUM_THREADS", std::to_string(threads).c_str(), 1);
  // Load as the server does before a model is ready: map and bind the weights, build the
  // tokenizer. The weights are used in place from the mapping, so this reads no weight bytes.
  const Rss rss_start = read_rss();  // the process itself: code, libraries, heap
  const auto t_load = std::chrono::steady_clock::now();
  auto loaded = Model::load(model_path);
  if (!loaded) {
    std::fprintf(stderr, "Error: %s\n", loaded.error().message.c_str());
    return 1;
  }
  std::shared_ptr<const Model> model = *loaded;
  if (embed_batch > 0 || model->hp.encoder)  // an encoder has no decoding context: only this mode
    return bench_embed(model, model_path.substr(model_path.find_last_of('/') + 1), embed_batch > 0 ? embed_batch : 64,
                       app.count("-p") > 0 ? n_prompt : 100, reps, json, no_limits);
  const bool has_tokenizer = Tokenizer::from_gguf(*model->file).ok();
  const double load_s = seconds_since(t_load);
  const Rss rss_loaded = read_rss();
  const HParams& hp = model->hp;
  const int n_threads = ThreadPool::global().size();
  const KernelTable& table = kernel_table();
  const ModelCost cost = model_cost(*model);

  double read_bw = 0.0, int8_peak = 0.0;
  std::vector<double> read_bw_samples;
  RateSpread read_spread;
  // The machine's limits: probe with the best table this CPU runs, whatever path is forced (the
  // scalar probe loops are not a hardware limit), before and after the tests, keeping the best
  // of each: on a shared machine a single probe can land in a slow moment and flatter the
  // fractions.
  auto probe_limits = [&] {
    if (no_limits) return;
    const KernelTable& probe = *kernel_table_by_name(runnable_kernel_paths().back());
    const RateSpread bw = measure_read_bandwidth(probe, size_t{512} << 20, 5);
    read_bw_samples.insert(read_bw_samples.end(), bw.samples.begin(), bw.samples.end());
    read_spread = spread_of(read_bw_samples);
    read_bw = read_spread.median;
    int8_peak = std::max(int8_peak, measure_int8_peak(probe, 0.5));
  };
  probe_limits();

  ContextParams cp;
  cp.n_ctx = std::max<int64_t>({1, depth + n_prompt + n_gen, ctx_size});  // as llama-bench sizes its context
  cp.n_seq = parallel;
  cp.kv_type = Context::kv_type_for(hp, *kv_type);  // f16 where a head size is not a multiple of 32
  // What a context of this size holds (sliding-window layers hold only their window).
  // Recurrent layers (Gated DeltaNet) hold a fixed-size F32 state per sequence instead, with its
  // checkpoints: the same bytes whatever the context size.
  double kv_bytes = 0, state_bytes = 0;
  if (auto probe_ctx = Context::create(model, cp)) {
    kv_bytes = static_cast<double>((*probe_ctx)->kv_bytes());
    state_bytes = static_cast<double>((*probe_ctx)->recurrent_elements()) * sizeof(float);
  }
  const double file_bytes = static_cast<double>(model->file->file_size());
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(hp.n_vocab - 1));

  struct TestResult {
    std::string name;
    std::vector<double> tps;
    double fraction = 0.0;
    const char* fraction_of = "";
  };
  std::vector<TestResult> results;

  auto run_forward = [](Context& ctx, const Batch& b) -> bool {
    auto out = ctx.forward(b);
    if (!out) {
      std::fprintf(stderr, "Error: %s\n", out.error().message.c_str());
      return false;
    }
    return true;
  };

  // A context whose positions [0, depth) hold random tokens (untimed); tests then run from
  // position `depth`. A context is reused across repetitions while the cache still holds that
  // prefix (positions past it are simply overwritten).
  std::unique_ptr<Context> deep;
  auto context_at_depth = [&]() -> Context* {
    if (deep && deep->reusable_prefix(0, depth) == depth) return deep.get();
    auto ctx = Context::create(model, cp);
    if (!ctx) {
      std::fprintf(stderr, "Error: %s\n", ctx.error().message.c_str());
      return nullptr;
    }
    deep = std::move(*ctx);
    Batch b;
    for (int i = 0; i < depth; ++i) b.add(tok(rng), i, 0, i + 1 == depth);
    if (depth > 0 && !run_forward(*deep, b)) return nullptr;
    for (int32_t s = 1; s < parallel; ++s) deep->copy_sequence(0, s, depth);
    return deep.get();
  };
  const std::string at_depth = depth > 0 ? fmt::format(" @ d{}", depth) : "";

  double first_forward_s = 0.0;
  const int n_warm = std::max(1, std::min(n_prompt, 32));
  {  // warm-up: page in the weights and size every buffer once
    const auto t0 = std::chrono::steady_clock::now();
    auto ctx = Context::create(model, cp);
    if (!ctx) {
      std::fprintf(stderr, "Error: %s\n", ctx.error().message.c_str());
      return 1;
    }
    Batch b;
    for (int i = 0; i < n_warm; ++i) b.add(tok(rng), i, 0, i + 1 == n_warm);
    if (!run_forward(**ctx, b)) return 1;
    first_forward_s = seconds_since(t0);
  }

  Rss rss_run = read_rss();  // updated with the last context alive: weights paged in, KV allocated
  if (n_prompt > 0) {
    TestResult r{"pp" + std::to_string(n_prompt) + at_depth, {}, 0.0, "int8 peak"};
    for (int rep = 0; rep < reps; ++rep) {
      Context* ctx = context_at_depth();
      if (ctx == nullptr) return 1;
      Batch b;
      for (int i = 0; i < n_prompt; ++i) b.add(tok(rng), depth + i, 0, i + 1 == n_prompt);
      const auto t0 = std::chrono::steady_clock::now();
      if (!run_forward(*ctx, b)) return 1;
      r.tps.push_back(n_prompt / seconds_since(t0));
      rss_run = read_rss();
    }
    results.push_back(r);
  }
  if (n_gen > 0) {
    const std::string streams = parallel > 1 ? fmt::format(" x{}", parallel) : "";
    TestResult r{"tg" + std::to_string(n_gen) + streams + at_depth, {}, 0.0, "read bandwidth"};
    for (int rep = 0; rep < reps; ++rep) {
      Context* ctx = context_at_depth();
      if (ctx == nullptr) return 1;
      Batch b;
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n_gen; ++i) {
        b.clear();
        for (int32_t s = 0; s < parallel; ++s) b.add(tok(rng), depth + i, s, true);
        if (!run_forward(*ctx, b)) return 1;
      }
      r.tps.push_back(static_cast<double>(n_gen) * parallel / seconds_since(t0));
      rss_run = read_rss();
    }
    results.push_back(r);
  }
  probe_limits();
  for (TestResult& r : results) {
    const bool pp = r.name.rfind("pp", 0) == 0;
    const double limit = pp ? int8_peak : read_bw;
    // A forward pass of `parallel` streams reads the weights once: bytes per pass, not per token.
    const double per_token = pp ? cost.ops_per_token : cost.weight_bytes / parallel;
    if (limit > 0) r.fraction = stats_of(r.tps).mean * per_token / limit;
  }

  std::string name = model_path.substr(model_path.find_last_of('/') + 1);
  const std::string type_name(ggml_type_name(model->layers.empty() ? model->output.type
                                 : model->hp.n_expert > 0 ? (model->layers[0].ffn_gate_exps.data != nullptr
                                                                 ? model->layers[0].ffn_gate_exps.type
                                                                 : model->layers[0].ffn_gate_up_exps.type)
                                                          : model->layers[0].ffn_gate.type));
  if (json) {
    nlohmann::json j;
    j["model"] = name;
    j["weight_type"] = type_name;
    j["weight_bytes_per_token"] = cost.weight_bytes;
    j["int8_ops_per_token"] = cost.ops_per_token;
    j["kernels"] = table.name;
    j["threads"] = n_threads;
    j["depth"] = depth;
    j["parallel"] = parallel;
    j["limits"] = {{"read_bytes_per_s", read_bw},
                   {"read_bytes_per_s_low", read_spread.low},
                   {"read_bytes_per_s_high", read_spread.high},
                   {"read_samples", read_spread.samples.size()},
                   {"int8_ops_per_s", int8_peak}};
    j["load_s"] = load_s;
    j["repacked_bytes"] = model->repacked_bytes;
    j["load_includes_tokenizer"] = has_tokenizer;
    j["first_forward_s"] = first_forward_s;
    j["first_forward_tokens"] = n_warm;
    j["memory"] = {{"file_bytes", file_bytes},
                   {"kv_cache_bytes", kv_bytes},
                   {"kv_cache_positions", cp.n_ctx},
                   {"recurrent_state_bytes", state_bytes},
                   {"kv_cache_type", std::string(kv_type_name(cp.kv_type))},
                   {"rss_before_load_bytes", rss_start.total},
                   {"rss_after_load_bytes", rss_loaded.total},
                   {"rss_after_run_bytes", rss_run.total},
                   {"rss_after_run_file_bytes", rss_run.file},
                   {"rss_after_run_anon_bytes", rss_run.anon},
                   {"rss_over_file_plus_kv", rss_run.total / (file_bytes + kv_bytes + state_bytes)}};
    j["results"] = nlohmann::json::array();
    for (const TestResult& r : results) {
      const Stats s = stats_of(r.tps);
      j["results"].push_back({{"test", r.name}, {"tokens_per_s_mean", s.mean}, {"tokens_per_s_sd", s.sd},
                              {"samples", r.tps}, {"fraction", r.fraction}, {"fraction_of", r.fraction_of}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("| model | type | weights | kernels | threads | test | t/s | of limit |\n");
  std::printf("| --- | --- | ---: | --- | ---: | --- | ---: | ---: |\n");
  for (const TestResult& r : results) {
    const Stats s = stats_of(r.tps);
    const std::string of_limit = no_limits ? "—" : fmt::format("{:.1f}% {}", 100.0 * r.fraction, r.fraction_of);
    std::printf("| %s | %s | %.1f MiB | %s | %d | %s | %.2f ± %.2f | %s |\n", name.c_str(), type_name.c_str(),
                cost.weight_bytes / (1 << 20), table.name, n_threads, r.name.c_str(), s.mean, s.sd,
                of_limit.c_str());
  }
  if (!no_limits)
    std::printf("\nLimits measured in this run (%d threads, probed before and after the tests): read bandwidth "
                "%.1f GB/s (median of %zu reads of 512 MiB; %.1f to %.1f), int8 peak %.0f GOP/s (best of 2, the widest "
                "multiply-add the CPU runs).\n",
                n_threads, read_bw / 1e9, read_spread.samples.size(), read_spread.low / 1e9, read_spread.high / 1e9,
                int8_peak / 1e9);
  std::printf("\nLoad: %.0f ms (weights mapped%s); first forward of %d token%s %.0f ms (repacks %.1f MiB for the %s kernels, pages the rest in).\n",
              load_s * 1e3, has_tokenizer ? ", tokenizer built" : "; no tokenizer in the file", n_warm,
              n_warm == 1 ? "" : "s", first_forward_s * 1e3, static_cast<double>(model->repacked_bytes) / (1 << 20),
              table.name);
  const std::string state =
      state_bytes > 0 ? fmt::format(", recurrent state {:.1f} MiB (with its checkpoints)", mib(state_bytes)) : "";
  std::printf("Memory: file %.1f MiB, KV cache %.1f MiB (%s, %lld positions)%s; resident before load %.1f MiB, after load %.1f MiB, "
              "after the runs %.1f MiB (file pages %.1f + anonymous %.1f) = %.1f%% of file + KV cache%s "
              "(target <= 110%%).\n",
              mib(file_bytes), mib(kv_bytes), std::string(kv_type_name(cp.kv_type)).c_str(),
              static_cast<long long>(cp.n_ctx), state.c_str(), mib(rss_start.total), mib(rss_loaded.total), mib(rss_run.total),
              mib(rss_run.file), mib(rss_run.anon), 100.0 * rss_run.total / (file_bytes + kv_bytes + state_bytes),
              state_bytes > 0 ? " + state" : "");
  return 0;
}

}  // namespace

CORRAL_COMMAND("bench", "Measure prompt and generation tokens/s against the machine's limits", cmd_bench);

}  // namespace corral::cli
