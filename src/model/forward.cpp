// The forward pass: embeddings, the family's layer recipe (families/*.cpp) for every layer, the
// final norm and the output projection, for a batch of tokens of any sequences.
#include <algorithm>
#include <cmath>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/context.h"
#include "model/family.h"
#include "model/layer_pass.h"

namespace corral {

Result<std::span<const float>> Context::forward(const Batch& batch) {
  const Model& m = *model_;
  const HParams& h = m.hp;
  const size_t nt = batch.size();
  if (nt == 0) return std::span<const float>();
  m.prepare_for_kernels();
  for (size_t t = 0; t < nt; ++t) {
    if (batch.tokens[t] < 0 || batch.tokens[t] >= h.n_vocab)
      return make_error("token id {} is outside the vocabulary (0..{})", batch.tokens[t], h.n_vocab - 1);
    if (batch.pos[t] < 0 || batch.pos[t] >= params_.n_ctx)
      return make_error("position {} is outside the context of {} tokens", batch.pos[t], params_.n_ctx);
    if (batch.seq[t] < 0 || batch.seq[t] >= params_.n_seq)
      return make_error("sequence {} is outside the {} slots", batch.seq[t], params_.n_seq);
  }
  CORRAL_TRY(advance_recurrent(batch));
  const bool windows = h.has_windows();
  if (nt <= kMicroBatch || !positions_rise_per_sequence(batch)) {
    if (windows) CORRAL_TRY(prepare_windows(batch));
    return forward_validated(batch);
  }

  // Micro-batches in order: each token still sees exactly positions 0..pos of its sequence (the
  // earlier slices have stored theirs), and every per-token step is independent of the batch,
  // so the results are those of the whole batch. The slices return final-norm rows; the output
  // projection runs once over all of them.
  const auto E = static_cast<size_t>(h.n_embd);
  hidden_.clear();
  for (size_t t0 = 0; t0 < nt; t0 += kMicroBatch) {
    const size_t t1 = std::min(nt, t0 + kMicroBatch);
    slice_.clear();
    slice_.embeddings = true;
    for (size_t t = t0; t < t1; ++t) slice_.add(batch.tokens[t], batch.pos[t], batch.seq[t], batch.want_logits[t] != 0);
    if (windows) CORRAL_TRY(prepare_windows(slice_));
    const std::span<const float> rows = forward_validated(slice_);
    hidden_.insert(hidden_.end(), rows.begin(), rows.end());
  }
  if (batch.embeddings) return std::span<const float>(hidden_.data(), hidden_.size());
  const size_t n_out = hidden_.size() / E;
  const size_t need = n_out * static_cast<size_t>(h.n_vocab);
  if (logits_.size() < need) logits_.resize(need);
  if (n_out > 0) matmul(m.output, hidden_.data(), h.n_embd, static_cast<int64_t>(n_out), logits_.data(), h.n_vocab);
  finish_logits(logits_.data(), need);
  return std::span<const float>(logits_.data(), need);
}

// Gemma 4's per-layer inputs of each token (x_ holds the scaled embeddings): its row of
// per_layer_token_embd times sqrt(P), plus the projection of its embedding with each layer's
// part RMS-normalised (epsilon times n_embd: the reference engines normalise the unscaled
// projection, which is the model's projection times sqrt(n_embd)), the sum times 1/sqrt(2).
void Context::per_layer_inputs(const Batch& batch) {
  const Model& m = *model_;
  const HParams& h = m.hp;
  const int64_t E = h.n_embd, P = h.n_embd_per_layer, W = P * h.n_layer;
  const size_t nt = batch.size();
  const size_t need = nt * static_cast<size_t>(W);
  if (ple_.size() < need) ple_.resize(need);
  matmul(m.per_layer_model_proj, x_.data(), E, static_cast<int64_t>(nt), ple_.data(), W);
  const auto* norm_w = static_cast<const float*>(m.per_layer_proj_norm.data);
  const float row_scale = std::sqrt(static_cast<float>(P));
  const float sum_scale = 1.0f / std::sqrt(2.0f);
  thread_local std::vector<float> row;  // sized once: generation does not allocate per token
  row.resize(static_cast<size_t>(W));
  for (size_t t = 0; t < nt; ++t) {
    float* out = &ple_[t * static_cast<size_t>(W)];
    get_row_f32(m.per_layer_token_embd, batch.tokens[t], row.data());
    for (int64_t il = 0; il < h.n_layer; ++il) {
      float* part = out + il * P;
      rmsnorm(part, norm_w, part, P, h.rms_eps * static_cast<float>(E));
      for (int64_t i = 0; i < P; ++i) part[i] = (part[i] + row[static_cast<size_t>(il * P + i)] * row_scale) * sum_scale;
    }
  }
}

bool Context::positions_rise_per_sequence(const Batch& batch) {
  last_pos_.assign(static_cast<size_t>(params_.n_seq), -1);
  for (size_t t = 0; t < batch.size(); ++t) {
    int32_t& last = last_pos_[static_cast<size_t>(batch.seq[t])];
    if (batch.pos[t] <= last) return false;
    last = batch.pos[t];
  }
  return true;
}

void Context::finish_logits(float* logits, size_t n) const {
  const float cap = model_->hp.final_softcap;
  if (cap > 0.0f) softcap(logits, static_cast<int64_t>(n), cap);
}

std::span<const float> Context::forward_validated(const Batch& batch) {
  const Model& m = *model_;
  const HParams& h = m.hp;
  const size_t nt = batch.size();
  const int64_t E = h.n_embd, QD = h.n_head * h.max_head_dim(), KD = h.n_head_kv * h.max_head_dim();
  const int64_t F = std::max(h.n_ff, h.n_embd_per_layer);
  auto grow = [nt](std::vector<float>& v, int64_t dim) {
    const size_t need = nt * static_cast<size_t>(dim);
    if (v.size() < need) v.resize(need);
  };
  grow(x_, E); grow(xn_, E); grow(q_, QD); grow(k_, KD); grow(v_, KD); grow(attn_, QD);
  grow(gate_, F); grow(up_, F);

  for (size_t t = 0; t < nt; ++t) {
    float* row = &x_[t * static_cast<size_t>(E)];
    get_row_f32(m.token_embd, batch.tokens[t], row);
    if (h.embd_scale != 1.0f)
      for (int64_t i = 0; i < E; ++i) row[i] *= h.embd_scale;
  }

  if (h.n_embd_per_layer > 0) per_layer_inputs(batch);

  // Each token's RoPE angles, once per set of frequencies for all the layers that use it.
  const float* freq_factors = freq_factors_.empty() ? nullptr : freq_factors_.data();
  rope_width_ = h.max_n_rot();
  const auto R = static_cast<size_t>(rope_width_);
  grow(rope_cs_, rope_width_ * static_cast<int64_t>(h.rope_sets.size()));
  for (size_t set = 0; set < h.rope_sets.size(); ++set) {
    const RopeSet& rs = h.rope_sets[set];
    for (size_t t = 0; t < nt; ++t)
      rope_angles(h.n_rot_of(rs), static_cast<double>(batch.pos[t]) * rs.freq_scale, rs.base,
                  rs.factors ? freq_factors : nullptr, &rope_cs_[(set * nt + t) * R]);
  }
  if (h.rope_attn_factor != 1.0f)
    for (size_t i = 0; i < h.rope_sets.size() * nt * R; ++i) rope_cs_[i] *= h.rope_attn_factor;
  LayerPass pass(*this, batch);
  const auto layer = family_of(h.arch).layer;
  for (int64_t il = 0; il < h.n_layer; ++il) layer(pass, m.layers[static_cast<size_t>(il)], il);

  // Final norm and output projection only for the tokens whose logits are wanted.
  size_t n_out = 0;
  const auto* out_norm = static_cast<const float*>(m.output_norm.data);
  for (size_t t = 0; t < nt; ++t) {
    if (!batch.want_logits[t]) continue;
    rmsnorm(&x_[t * static_cast<size_t>(E)], out_norm, &xn_[n_out * static_cast<size_t>(E)], E, h.rms_eps);
    ++n_out;
  }
  if (batch.embeddings) return std::span<const float>(xn_.data(), n_out * static_cast<size_t>(E));
  const size_t need = n_out * static_cast<size_t>(h.n_vocab);
  if (logits_.size() < need) logits_.resize(need);
  if (n_out > 0) matmul(m.output, xn_.data(), E, static_cast<int64_t>(n_out), logits_.data(), h.n_vocab);
  finish_logits(logits_.data(), need);
  return std::span<const float>(logits_.data(), need);
}

}  // namespace corral
