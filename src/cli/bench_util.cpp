#include "cli/bench_util.h"

#include <cmath>

namespace corral::cli {

Stats stats_of(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0.0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return s;
}

ModelCost model_cost(const Model& m) {
  ModelCost c;
  auto add = [&c](const TensorView& t, double share = 1.0) {
    if (t.data == nullptr) return;
    c.weight_bytes += share * static_cast<double>(t.row_bytes) * static_cast<double>(t.n_rows());
    c.ops_per_token += share * 2.0 * static_cast<double>(t.ne[0]) * static_cast<double>(t.n_rows());
  };
  const double picked = m.hp.n_expert > 0 ? static_cast<double>(m.hp.n_expert_used) / static_cast<double>(m.hp.n_expert) : 0.0;
  for (const LayerWeights& l : m.layers) {
    for (const TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down, &l.ffn_gate_inp}) add(*t);
    for (const TensorView* t : {&l.ffn_gate_exps, &l.ffn_up_exps, &l.ffn_gate_up_exps, &l.ffn_down_exps}) add(*t, picked);
  }
  if (!m.hp.encoder) add(m.output);  // an encoder's token_embd is only looked up
  return c;
}

}  // namespace corral::cli
