// The context's recurrent states (Gated DeltaNet layers): per recurrent layer one region per
// sequence slot of HParams::recurrent_state_floats() floats (the convolution's window, then the
// value heads' state matrices). Unlike the KV cache they cannot be rewound, so the context
// records how many tokens of each sequence they have read.
#include <algorithm>

#include "model/context.h"

namespace corral {

void Context::init_recurrent() {
  const HParams& h = model_->hp;
  if (!h.has_recurrent()) return;
  const size_t per_seq = h.recurrent_state_floats();
  size_t total = 0;
  rec_offset_.assign(static_cast<size_t>(h.n_layer), 0);
  for (int64_t il = 0; il < h.n_layer; ++il) {
    if (!h.layers[static_cast<size_t>(il)].recurrent) continue;
    rec_offset_[static_cast<size_t>(il)] = total;
    total += per_seq * static_cast<size_t>(params_.n_seq);
  }
  rec_.assign(total, 0.0f);
  rec_ckpt_.assign(total, 0.0f);
  rec_pos_.assign(static_cast<size_t>(params_.n_seq), 0);
  ckpt_pos_.assign(static_cast<size_t>(params_.n_seq), -1);
}

void Context::checkpoint(int32_t seq) {
  if (rec_pos_.empty()) return;
  const HParams& h = model_->hp;
  const size_t per_seq = h.recurrent_state_floats();
  for (int64_t il = 0; il < h.n_layer; ++il) {
    if (!h.layers[static_cast<size_t>(il)].recurrent) continue;
    const size_t off = rec_offset_[static_cast<size_t>(il)] + static_cast<size_t>(seq) * per_seq;
    std::copy_n(&rec_[off], per_seq, &rec_ckpt_[off]);
  }
  ckpt_pos_[static_cast<size_t>(seq)] = rec_pos_[static_cast<size_t>(seq)];
}

void Context::restore_checkpoint(int32_t seq) {
  const HParams& h = model_->hp;
  const size_t per_seq = h.recurrent_state_floats();
  for (int64_t il = 0; il < h.n_layer; ++il) {
    if (!h.layers[static_cast<size_t>(il)].recurrent) continue;
    const size_t off = rec_offset_[static_cast<size_t>(il)] + static_cast<size_t>(seq) * per_seq;
    std::copy_n(&rec_ckpt_[off], per_seq, &rec_[off]);
  }
  rec_pos_[static_cast<size_t>(seq)] = ckpt_pos_[static_cast<size_t>(seq)];
}

float* Context::recurrent_state(int64_t il, int32_t seq) {
  return &rec_[rec_offset_[static_cast<size_t>(il)] +
               static_cast<size_t>(seq) * model_->hp.recurrent_state_floats()];
}

Status Context::advance_recurrent(const Batch& batch) {
  if (rec_pos_.empty()) return {};
  // Where the batch starts each sequence (-1: not in it): at 0 (a restart), where its state
  // is, or at its checkpoint; then each of its tokens follows the previous one.
  // (Kept between passes: generation does not allocate per token.)
  thread_local std::vector<int64_t> first, next;
  first.assign(rec_pos_.size(), -1);
  next.assign(rec_pos_.begin(), rec_pos_.end());
  for (size_t t = 0; t < batch.size(); ++t) {
    const auto s = static_cast<size_t>(batch.seq[t]);
    if (first[s] >= 0) continue;
    first[s] = batch.pos[t];
    if (first[s] != 0 && first[s] != rec_pos_[s] && first[s] != ckpt_pos_[s])
      return make_error("sequence {}: position {} cannot follow: the recurrent state has read {} tokens and its "
                        "checkpoint {} (a recurrent model continues a sequence there or restarts it at 0)",
                        s, first[s], rec_pos_[s], ckpt_pos_[s]);
    next[s] = first[s];
    if (first[s] == 0) ckpt_pos_[s] = -1;  // a restart: the checkpoint was of other tokens
  }
  for (size_t t = 0; t < batch.size(); ++t) {
    const auto s = static_cast<size_t>(batch.seq[t]);
    if (batch.pos[t] != next[s])
      return make_error("sequence {}: position {} does not follow position {} in the batch (a recurrent model "
                        "reads a sequence in order)", s, batch.pos[t], next[s] - 1);
    next[s]++;
  }
  for (size_t s = 0; s < first.size(); ++s)
    if (first[s] > 0 && first[s] != rec_pos_[s]) restore_checkpoint(static_cast<int32_t>(s));
  rec_pos_.assign(next.begin(), next.end());
  return {};
}

}  // namespace corral
