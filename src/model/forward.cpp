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
  const int64_t E = h.n_embd, QD = h.q_dim(), KD = h.kv_dim(), F = h.n_ff;
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

  // Each token's RoPE angles, once per set of frequencies for all the layers that use it.
  const float* freq_factors = freq_factors_.empty() ? nullptr : freq_factors_.data();
  grow(rope_cs_, h.n_rot * static_cast<int64_t>(h.rope_sets.size()));
  for (size_t set = 0; set < h.rope_sets.size(); ++set) {
    const RopeSet& rs = h.rope_sets[set];
    for (size_t t = 0; t < nt; ++t)
      rope_angles(h.n_rot, static_cast<double>(batch.pos[t]) * rs.freq_scale, rs.base, freq_factors,
                  &rope_cs_[(set * nt + t) * static_cast<size_t>(h.n_rot)]);
  }
  if (h.rope_attn_factor != 1.0f)
    for (size_t i = 0; i < h.rope_sets.size() * nt * static_cast<size_t>(h.n_rot); ++i) rope_cs_[i] *= h.rope_attn_factor;
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
