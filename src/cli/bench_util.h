// What `corral bench`'s modes share: run statistics and a model's per-token cost.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/model.h"

namespace corral::cli {

struct Stats {
  double mean = 0.0;
  double sd = 0.0;
};

// Mean and sample standard deviation (0 for fewer than two samples).
Stats stats_of(const std::vector<double>& v);

// Bytes of weights one token reads (every matmul weight once; of a mixture of experts, the
// router and the k picked experts: k/n of the expert tensors) and int8 operations it needs
// (2 per weight: one multiply-add). Attention over the context is not counted.
struct ModelCost {
  double weight_bytes = 0.0;
  double ops_per_token = 0.0;
};

ModelCost model_cost(const Model& m);

}  // namespace corral::cli

namespace corral::cli {

// `corral bench --embed N`: embeds R batches of N random sequences of `n_tokens` tokens each
// through the encoder (one call, packed as the server packs a request's inputs) and reports
// embeddings/s and tokens/s, with the int8 peak measured before and after. Encoder models only.
int bench_embed(std::shared_ptr<const Model> model, const std::string& name, int batch, int n_tokens, int reps,
                bool json, bool no_limits);

}  // namespace corral::cli
