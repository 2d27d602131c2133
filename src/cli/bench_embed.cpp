// `corral bench --embed N`: embedding throughput of an encoder model (issue 20's measure: batches
// of 64 texts of ~100 tokens), beside the int8 peak measured in the same run.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "base/thread_pool.h"
#include "cli/bench_util.h"
#include "kernels/dispatch.h"
#include "kernels/limits.h"
#include "model/encoder.h"

namespace corral::cli {

int bench_embed(std::shared_ptr<const Model> model, const std::string& name, int batch, int n_tokens, int reps,
                bool json, bool no_limits) {
  const HParams& hp = model->hp;
  if (!hp.encoder) {
    std::fprintf(stderr, "Error: --embed measures encoder models (bert, nomic-bert); %s is a %s decoder\n",
                 name.c_str(), arch_name(hp.arch));
    return 1;
  }
  Encoder encoder(model);
  if (n_tokens < 1 || n_tokens > encoder.max_tokens()) {
    std::fprintf(stderr, "Error: -p %d: an input of the embedding test takes 1 to %lld tokens for this model\n",
                 n_tokens, static_cast<long long>(encoder.max_tokens()));
    return 1;
  }
  const Pooling pooling = hp.pooling == Pooling::kNone || hp.pooling == Pooling::kRank ? Pooling::kMean : hp.pooling;
  double int8_peak = 0.0;
  auto probe_peak = [&] {
    if (no_limits) return;
    const KernelTable& probe = *kernel_table_by_name(runnable_kernel_paths().back());
    int8_peak = std::max(int8_peak, measure_int8_peak(probe, 0.5));
  };
  probe_peak();

  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(hp.n_vocab - 1));
  auto make_batch = [&] {
    std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(batch));
    for (auto& s : seqs) {
      s.resize(static_cast<size_t>(n_tokens));
      for (auto& t : s) t = tok(rng);
    }
    return seqs;
  };
  {  // warm-up: page the weights in and size the buffers
    auto seqs = make_batch();
    seqs.resize(1);
    if (auto r = encoder.embed(seqs, pooling); !r) {
      std::fprintf(stderr, "Error: %s\n", r.error().message.c_str());
      return 1;
    }
  }
  std::vector<double> eps;  // embeddings per second, one per repetition
  const int64_t passes_before = encoder.passes();
  for (int rep = 0; rep < reps; ++rep) {
    const auto seqs = make_batch();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = encoder.embed(seqs, pooling);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!r) {
      std::fprintf(stderr, "Error: %s\n", r.error().message.c_str());
      return 1;
    }
    eps.push_back(batch / s);
  }
  const double passes_per_batch = static_cast<double>(encoder.passes() - passes_before) / reps;
  probe_peak();

  const ModelCost cost = model_cost(*model);
  const Stats e = stats_of(eps);
  const double tps = e.mean * n_tokens;
  const double fraction = int8_peak > 0 ? tps * cost.ops_per_token / int8_peak : 0.0;
  const std::string test = fmt::format("embed {}x{}", batch, n_tokens);
  const int threads = ThreadPool::global().size();
  const std::string type_name(ggml_type_name(model->layers.empty() ? model->token_embd.type : model->layers[0].wq.type));
  if (json) {
    nlohmann::json j;
    j["model"] = name;
    j["weight_type"] = type_name;
    j["int8_ops_per_token"] = cost.ops_per_token;
    j["kernels"] = kernel_table().name;
    j["threads"] = threads;
    j["limits"] = {{"int8_ops_per_s", int8_peak}};
    std::vector<double> token_samples;
    for (double x : eps) token_samples.push_back(x * n_tokens);
    j["results"] = nlohmann::json::array({{{"test", test},
                                           {"batch", batch},
                                           {"tokens_per_input", n_tokens},
                                           {"passes_per_batch", passes_per_batch},
                                           {"embeddings_per_s_mean", e.mean},
                                           {"embeddings_per_s_sd", e.sd},
                                           {"tokens_per_s_mean", tps},
                                           {"samples", eps},
                                           {"token_samples", token_samples},
                                           {"fraction", fraction},
                                           {"fraction_of", "int8 peak"}}});
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("| model | type | kernels | threads | test | embeddings/s | tokens/s | of limit |\n");
  std::printf("| --- | --- | --- | ---: | --- | ---: | ---: | ---: |\n");
  const std::string of_limit = no_limits ? "—" : fmt::format("{:.1f}% int8 peak", 100.0 * fraction);
  std::printf("| %s | %s | %s | %d | %s | %.2f ± %.2f | %.1f | %s |\n", name.c_str(), type_name.c_str(),
              kernel_table().name, threads, test.c_str(), e.mean, e.sd, tps, of_limit.c_str());
  std::printf("\n%.1f encoder passes per batch (inputs packed up to %zu tokens a pass).\n", passes_per_batch,
              Encoder::kPassTokens);
  if (!no_limits)
    std::printf("Limit measured in this run (%d threads, before and after the test): int8 peak %.0f GOP/s.\n", threads,
                int8_peak / 1e9);
  return 0;
}

}  // namespace corral::cli
