// The mixture-of-experts feed-forward block (layer_pass.h) and its routing (moe.h).
//
// A token runs only the k experts its router picks, so generation reads k experts' rows of
// each expert tensor, not all of them. A batch is grouped by expert: each picked expert gets
// one matrix product over the tokens that picked it (its weights read once per micro-batch).
// Every (token, expert) output is computed by the same kernels whatever else is in the batch,
// and each token sums its k outputs in rank order, so results do not depend on the batch.
#include "model/moe.h"

#include <cmath>
#include <cstring>
#include <span>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/layer_pass.h"

namespace corral {

namespace {

// The r-th pick of a selection: the largest logit not among experts[0, r) (ties: the lower index).
int32_t next_largest(const float* logits, int64_t n_expert, const int32_t* experts, int64_t r) {
  int32_t best = -1;
  for (int64_t i = 0; i < n_expert; ++i) {
    bool taken = false;
    for (int64_t j = 0; j < r; ++j) taken = taken || experts[j] == i;
    if (!taken && (best < 0 || logits[i] > logits[best])) best = static_cast<int32_t>(i);
  }
  return best;
}

}  // namespace

void route_experts(const float* logits, int64_t n_expert, int64_t k, bool renormalise, int32_t* experts,
                   float* weights) {
  float max = logits[0];
  for (int64_t i = 1; i < n_expert; ++i) max = std::fmax(max, logits[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n_expert; ++i) sum += static_cast<double>(std::exp(logits[i] - max));
  const auto inv = static_cast<float>(1.0 / sum);
  // k passes of a selection: the largest logit not yet taken (the softmax keeps the order).
  for (int64_t r = 0; r < k; ++r) {
    const int32_t best = next_largest(logits, n_expert, experts, r);
    experts[r] = best;
    weights[r] = std::exp(logits[best] - max) * inv;
  }
  if (renormalise) {
    double s = 0.0;
    for (int64_t r = 0; r < k; ++r) s += weights[r];
    const auto fs = static_cast<float>(s);
    for (int64_t r = 0; r < k; ++r) weights[r] /= fs;
  }
}

void route_experts_topk_softmax(const float* logits, int64_t n_expert, int64_t k, int32_t* experts, float* weights) {
  for (int64_t r = 0; r < k; ++r) experts[r] = next_largest(logits, n_expert, experts, r);
  // experts[0] holds the largest logit: the softmax's maximum.
  const float max = logits[experts[0]];
  double sum = 0.0;
  for (int64_t r = 0; r < k; ++r) sum += static_cast<double>(weights[r] = std::exp(logits[experts[r]] - max));
  const auto inv = static_cast<float>(1.0 / sum);
  for (int64_t r = 0; r < k; ++r) weights[r] *= inv;
}

namespace {

// Row e of a per-expert bias tensor ([n] x n_expert, F32), or null when the layer has none.
const float* expert_bias(const TensorView& b, int64_t e) {
  return b.data == nullptr ? nullptr : static_cast<const float*>(b.data) + e * b.ne[0];
}

void add_bias(const float* bias, float* rows, int64_t n_rows, int64_t n) {
  if (bias == nullptr) return;
  for (int64_t j = 0; j < n_rows; ++j) axpy(1.0f, bias, rows + j * n, n);
}

// The experts' gated activation over n_rows rows of gate and up: gate = act(gate, up).
void expert_activation(const HParams& h, float* g, const float* u, int64_t n_rows, int64_t n) {
  for (int64_t j = 0; j < n_rows; ++j) {
    if (h.expert_act == ExpertActivation::kSwigluClamped) swiglu_clamped(g + j * n, u + j * n, n, h.swiglu_alpha, h.swiglu_limit);
    else if (h.expert_act == ExpertActivation::kGeglu) geglu(g + j * n, u + j * n, n);
    else swiglu(g + j * n, u + j * n, n);
  }
}

}  // namespace

TensorView expert_matrix(const TensorView& t, int64_t e, int64_t row0, int64_t n_rows) {
  TensorView v;
  v.data = static_cast<const uint8_t*>(t.data) + static_cast<size_t>(e * t.ne[1] + row0) * t.row_bytes;
  v.type = t.type;
  v.ne[0] = t.ne[0];
  v.ne[1] = n_rows > 0 ? n_rows : t.ne[1];
  v.row_bytes = t.row_bytes;
  v.interleave = t.interleave;
  return v;
}

namespace {

// Expert e's gate and up matrices: row views of ffn_gate_exps and ffn_up_exps, or the two halves
// of its rows in a merged ffn_gate_up_exps (Gemma 4: gate rows first).
TensorView expert_gate(const LayerWeights& L, int64_t e, int64_t F) {
  return L.ffn_gate_up_exps.data != nullptr ? expert_matrix(L.ffn_gate_up_exps, e, 0, F) : expert_matrix(L.ffn_gate_exps, e);
}
TensorView expert_up(const LayerWeights& L, int64_t e, int64_t F) {
  return L.ffn_gate_up_exps.data != nullptr ? expert_matrix(L.ffn_gate_up_exps, e, F, F) : expert_matrix(L.ffn_up_exps, e);
}

}  // namespace

// The shared expert (qwen35moe), as ik_llama.cpp computes it: a SwiGLU feed-forward of width
// n_ff_shexp over the same normalised input as the routed experts, times sigmoid of one logit
// (ffn_gate_inp_shexp · x) per token, added to the routed experts' weighted sum. Writes each
// token's gated output to moe_shared_ (the caller adds it after the routed sum).
void LayerPass::shared_expert(const LayerWeights& L) {
  const HParams& h = c_.model_->hp;
  const int64_t E = h.n_embd, S = h.n_ff_shexp;
  const size_t nt = batch_.size();
  const auto n = static_cast<int64_t>(nt);
  const auto uE = static_cast<size_t>(E), uS = static_cast<size_t>(S);
  if (c_.gate_.size() < nt * uS) c_.gate_.resize(nt * uS);
  if (c_.up_.size() < nt * uS) c_.up_.resize(nt * uS);
  if (c_.moe_shared_.size() < nt * uE) c_.moe_shared_.resize(nt * uE);
  if (c_.moe_shared_gate_.size() < nt) c_.moe_shared_gate_.resize(nt);
  const float* xn = c_.xn_.data();
  const MatmulOut gate_up[] = {{&L.ffn_gate_shexp, c_.gate_.data(), S}, {&L.ffn_up_shexp, c_.up_.data(), S}};
  matmul_many(gate_up, xn, E, n);
  matmul(L.ffn_gate_inp_shexp, xn, E, n, c_.moe_shared_gate_.data(), 1);
  for (size_t t = 0; t < nt; ++t) swiglu(&c_.gate_[t * uS], &c_.up_[t * uS], S);
  matmul(L.ffn_down_shexp, c_.gate_.data(), S, n, c_.moe_shared_.data(), E);
  for (size_t t = 0; t < nt; ++t) {
    const float g = 1.0f / (1.0f + std::exp(-c_.moe_shared_gate_[t]));
    float* o = &c_.moe_shared_[t * uE];
    for (size_t i = 0; i < uE; ++i) o[i] *= g;
  }
}

void LayerPass::mixture_of_experts(const LayerWeights& L) {
  const HParams& h = c_.model_->hp;
  const int64_t E = h.n_embd, F = h.n_ff_exp, X = h.n_expert, K = h.n_expert_used;
  const size_t nt = batch_.size();
  const auto n = static_cast<int64_t>(nt);
  const auto uE = static_cast<size_t>(E), uF = static_cast<size_t>(F), uK = static_cast<size_t>(K);
  auto grow = [](auto& v, size_t need) {
    if (v.size() < need) v.resize(need);
  };
  grow(c_.moe_logits_, nt * static_cast<size_t>(X));
  grow(c_.moe_w_, nt * uK);
  grow(c_.moe_sel_, nt * uK);
  grow(c_.moe_count_, static_cast<size_t>(X) + 1);
  grow(c_.moe_order_, nt * uK);
  grow(c_.moe_x_, nt * uE);
  grow(c_.gate_, (nt > uK ? nt : uK) * uF);
  grow(c_.up_, (nt > uK ? nt : uK) * uF);
  grow(c_.moe_y_, nt * uK * uE);
  const bool shared = L.ffn_down_shexp.data != nullptr;
  if (shared) shared_expert(L);  // reads xn before the routed sum replaces it
  float* xn = c_.xn_.data();
  float* g = c_.gate_.data();
  float* u = c_.up_.data();
  float* y = c_.moe_y_.data();  // [token][rank][n_embd]: each picked expert's output

  if (L.ffn_gate_inp_s.data != nullptr) {
    // Gemma 4: the router reads the residual stream, RMS-normalised with its own weight and
    // scaled by 1/sqrt(n_embd), not the experts' input (moe_x_ is free until the experts' tokens are gathered into it).
    for (size_t t = 0; t < nt; ++t) {
      float* r = &c_.moe_x_[t * uE];
      rmsnorm(&c_.x_[t * uE], static_cast<const float*>(L.ffn_gate_inp_s.data), r, E, h.rms_eps);
      for (size_t i = 0; i < uE; ++i) r[i] *= h.router_input_scale;
    }
    matmul(L.ffn_gate_inp, c_.moe_x_.data(), E, n, c_.moe_logits_.data(), X);
  } else {
    matmul(L.ffn_gate_inp, xn, E, n, c_.moe_logits_.data(), X);
  }
  add_bias(static_cast<const float*>(L.ffn_gate_inp_b.data), c_.moe_logits_.data(), n, X);
  const auto* expert_scale = static_cast<const float*>(L.ffn_down_exps_s.data);
  for (size_t t = 0; t < nt; ++t) {
    const float* logits = &c_.moe_logits_[t * static_cast<size_t>(X)];
    int32_t* sel = &c_.moe_sel_[t * uK];
    float* w = &c_.moe_w_[t * uK];
    if (h.expert_gating == ExpertGating::kSoftmaxTopK)
      route_experts_topk_softmax(logits, X, K, sel, w);
    else
      route_experts(logits, X, K, h.expert_weights_norm, sel, w);
    // Gemma 4: each weight (after renormalising) times its expert's scale.
    if (expert_scale != nullptr)
      for (size_t r = 0; r < uK; ++r) w[r] *= expert_scale[sel[r]];
  }

  if (nt == 1) {
    // Generation: the picked experts' gate and up rows over the one token in one dispatch (one
    // quantisation of it), then their down rows in another.
    thread_local std::vector<TensorView> gen_views;  // [rank][gate, up, down]
    thread_local std::vector<MatmulJob> gen_jobs;
    gen_views.resize(3 * uK);
    gen_jobs.clear();
    for (size_t r = 0; r < uK; ++r) {
      const int32_t e = c_.moe_sel_[r];
      gen_views[3 * r] = expert_gate(L, e, F);
      gen_views[3 * r + 1] = expert_up(L, e, F);
      gen_views[3 * r + 2] = expert_matrix(L.ffn_down_exps, e);
      gen_jobs.push_back({&gen_views[3 * r], xn, E, 1, g + r * uF, F});
      gen_jobs.push_back({&gen_views[3 * r + 1], xn, E, 1, u + r * uF, F});
    }
    matmul_jobs(gen_jobs);
    gen_jobs.clear();
    for (size_t r = 0; r < uK; ++r) {
      const int32_t e = c_.moe_sel_[r];
      add_bias(expert_bias(L.ffn_gate_exps_b, e), g + r * uF, 1, F);
      add_bias(expert_bias(L.ffn_up_exps_b, e), u + r * uF, 1, F);
      expert_activation(h, g + r * uF, u + r * uF, 1, F);
      gen_jobs.push_back({&gen_views[3 * r + 2], g + r * uF, F, 1, y + r * uE, E});
    }
    matmul_jobs(gen_jobs);
    for (size_t r = 0; r < uK; ++r) add_bias(expert_bias(L.ffn_down_exps_b, c_.moe_sel_[r]), y + r * uE, 1, E);
  } else {
    // Prompts: (token, rank) pairs grouped by expert (a counting sort, in token order), each
    // pair's input gathered into its expert's rows, then every picked expert's gate and up
    // products in one matmul_jobs() and the down products in another (two dispatches per layer,
    // whatever the number of experts), outputs put back by pair.
    const size_t np = nt * uK;
    grow(c_.moe_x_, np * uE);
    grow(c_.gate_, np * uF);
    grow(c_.up_, np * uF);
    int32_t* count = c_.moe_count_.data();
    int32_t* order = c_.moe_order_.data();
    std::memset(count, 0, (static_cast<size_t>(X) + 1) * sizeof(int32_t));
    for (size_t i = 0; i < np; ++i) ++count[c_.moe_sel_[i] + 1];
    for (int64_t e = 0; e < X; ++e) count[e + 1] += count[e];  // count[e]: where expert e starts
    for (size_t i = 0; i < np; ++i) order[count[c_.moe_sel_[i]]++] = static_cast<int32_t>(i);
    // count[e] is now where expert e ends (and count[e - 1] where it starts).
    float* xg = c_.moe_x_.data();
    g = c_.gate_.data();
    u = c_.up_.data();
    for (size_t j = 0; j < np; ++j)
      std::memcpy(xg + j * uE, xn + static_cast<size_t>(order[j]) / uK * uE, uE * sizeof(float));
    thread_local std::vector<TensorView> views;  // [expert][gate, up, down]
    thread_local std::vector<MatmulJob> jobs;
    views.assign(static_cast<size_t>(3 * X), TensorView{});
    jobs.clear();
    auto start_of = [&](int64_t e) -> size_t { return e == 0 ? 0 : static_cast<size_t>(count[e - 1]); };
    for (int64_t e = 0; e < X; ++e) {
      const size_t b = start_of(e), ne = static_cast<size_t>(count[e]) - b;
      if (ne == 0) continue;
      TensorView* v = &views[static_cast<size_t>(3 * e)];
      v[0] = expert_gate(L, e, F);
      v[1] = expert_up(L, e, F);
      v[2] = expert_matrix(L.ffn_down_exps, e);
      const auto rows = static_cast<int64_t>(ne);
      jobs.push_back({&v[0], xg + b * uE, E, rows, g + b * uF, F});
      jobs.push_back({&v[1], xg + b * uE, E, rows, u + b * uF, F});
    }
    matmul_jobs(jobs);
    jobs.clear();
    for (int64_t e = 0; e < X; ++e) {
      const size_t b = start_of(e), ne = static_cast<size_t>(count[e]) - b;
      if (ne == 0) continue;
      const auto rows = static_cast<int64_t>(ne);
      add_bias(expert_bias(L.ffn_gate_exps_b, e), g + b * uF, rows, F);
      add_bias(expert_bias(L.ffn_up_exps_b, e), u + b * uF, rows, F);
      expert_activation(h, g + b * uF, u + b * uF, rows, F);
      // The down product writes over the gathered inputs, which no job reads any more.
      jobs.push_back({&views[static_cast<size_t>(3 * e + 2)], g + b * uF, F, rows, xg + b * uE, E});
    }
    matmul_jobs(jobs);
    for (int64_t e = 0; e < X; ++e) {
      const size_t b = start_of(e), ne = static_cast<size_t>(count[e]) - b;
      if (ne > 0) add_bias(expert_bias(L.ffn_down_exps_b, e), xg + b * uE, static_cast<int64_t>(ne), E);
    }
    for (size_t j = 0; j < np; ++j)
      std::memcpy(y + static_cast<size_t>(order[j]) * uE, xg + j * uE, uE * sizeof(float));
  }
  // Each token's weighted sum, in rank order.
  for (size_t t = 0; t < nt; ++t) {
    float* out = xn + t * uE;
    std::memset(out, 0, uE * sizeof(float));
    for (size_t r = 0; r < uK; ++r) axpy(c_.moe_w_[t * uK + r], y + (t * uK + r) * uE, out, E);
    if (shared) axpy(1.0f, &c_.moe_shared_[t * uE], out, E);
  }
}

// Gemma 4's two branches, as ik_llama.cpp computes them: the dense branch first (kept in
// moe_shared_, which only the shared expert of other families uses), then the experts'.
void LayerPass::feed_forward_and_experts(const LayerWeights& L) {
  const size_t n = batch_.size() * static_cast<size_t>(c_.model_->hp.n_embd);
  if (c_.moe_shared_.size() < n) c_.moe_shared_.resize(n);
  norm(L.ffn_norm);
  feed_forward(L, Activation::kGeluTanh);
  norm_branch(L.ffn_post_norm_1);
  std::memcpy(c_.moe_shared_.data(), c_.xn_.data(), n * sizeof(float));
  norm(L.ffn_pre_norm_2);
  mixture_of_experts(L);
  norm_branch(L.ffn_post_norm_2);
  for (size_t i = 0; i < n; ++i) c_.xn_[i] += c_.moe_shared_[i];
}

}  // namespace corral
