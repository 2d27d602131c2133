// The context's recurrent states (Gated DeltaNet layers): per recurrent layer one region per
// sequence slot of HParams::recurrent_state_floats() floats (the convolution's window, then per
// value head the state matrix S0 and the unfinished chunk's keys, corrected values and log
// decays). Unlike the KV cache they cannot be rewound, so the context records how many tokens
// of each sequence they have read, and keeps up to n_checkpoints copies per slot to resume from.
// A copy holds the unfinished chunk too, so resuming at any position gives the same bits as
// reading the sequence in one go.
#include <algorithm>
#include <string>

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
  params_.n_checkpoints = std::max(params_.n_checkpoints, 1);
  const auto n_ckpt = static_cast<size_t>(params_.n_checkpoints);
  rec_.assign(total, 0.0f);
  rec_ckpt_.assign(n_ckpt * total, 0.0f);
  rec_pos_.assign(static_cast<size_t>(params_.n_seq), 0);
  ckpt_pos_.assign(static_cast<size_t>(params_.n_seq) * n_ckpt, -1);
}

int64_t Context::find_checkpoint(int32_t seq, int64_t pos) const {
  const auto n_ckpt = static_cast<size_t>(params_.n_checkpoints);
  for (size_t c = 0; c < n_ckpt; ++c)
    if (ckpt_pos_[static_cast<size_t>(seq) * n_ckpt + c] == pos) return static_cast<int64_t>(c);
  return -1;
}

std::vector<int64_t> Context::checkpoint_positions(int32_t seq) const {
  std::vector<int64_t> out;
  if (rec_pos_.empty()) return out;
  const auto n_ckpt = static_cast<size_t>(params_.n_checkpoints);
  for (size_t c = 0; c < n_ckpt; ++c)
    if (const int64_t p = ckpt_pos_[static_cast<size_t>(seq) * n_ckpt + c]; p >= 0) out.push_back(p);
  std::sort(out.begin(), out.end());
  return out;
}

void Context::checkpoint(int32_t seq) {
  if (rec_pos_.empty()) return;
  const int64_t pos = rec_pos_[static_cast<size_t>(seq)];
  if (pos <= 0 || find_checkpoint(seq, pos) >= 0) return;  // nothing read yet, or already kept
  // A free entry, else the one at the lowest position.
  const auto n_ckpt = static_cast<size_t>(params_.n_checkpoints);
  int64_t* positions = &ckpt_pos_[static_cast<size_t>(seq) * n_ckpt];
  size_t index = 0;
  for (size_t c = 0; c < n_ckpt; ++c) {
    if (positions[c] < 0) {
      index = c;
      break;
    }
    if (positions[c] < positions[index]) index = c;
  }
  const HParams& h = model_->hp;
  const size_t per_seq = h.recurrent_state_floats();
  for (int64_t il = 0; il < h.n_layer; ++il) {
    if (!h.layers[static_cast<size_t>(il)].recurrent) continue;
    const size_t off = rec_offset_[static_cast<size_t>(il)] + static_cast<size_t>(seq) * per_seq;
    std::copy_n(&rec_[off], per_seq, &rec_ckpt_[index * rec_.size() + off]);
  }
  positions[index] = pos;
}

void Context::restore_checkpoint(int32_t seq, size_t index) {
  const HParams& h = model_->hp;
  const size_t per_seq = h.recurrent_state_floats();
  for (int64_t il = 0; il < h.n_layer; ++il) {
    if (!h.layers[static_cast<size_t>(il)].recurrent) continue;
    const size_t off = rec_offset_[static_cast<size_t>(il)] + static_cast<size_t>(seq) * per_seq;
    std::copy_n(&rec_ckpt_[index * rec_.size() + off], per_seq, &rec_[off]);
  }
  const auto n_ckpt = static_cast<size_t>(params_.n_checkpoints);
  const int64_t pos = ckpt_pos_[static_cast<size_t>(seq) * n_ckpt + index];
  rec_pos_[static_cast<size_t>(seq)] = pos;
  // The checkpoints beyond it were of the tokens the sequence now replaces.
  for (size_t c = 0; c < n_ckpt; ++c)
    if (int64_t& p = ckpt_pos_[static_cast<size_t>(seq) * n_ckpt + c]; p > pos) p = -1;
}

int64_t Context::recurrent_prefix(int32_t seq, int64_t n) const {
  if (rec_pos_[static_cast<size_t>(seq)] == n) return n;
  int64_t best = 0;
  for (const int64_t p : checkpoint_positions(seq))
    if (p <= n) best = p;
  return best;
}

void Context::copy_recurrent(int32_t src, int32_t dst, int64_t n) {
  // The states hold a prefix only when they have read exactly n tokens; the destination keeps
  // no checkpoints.
  const bool whole = rec_pos_[static_cast<size_t>(src)] == n;
  for (int64_t il = 0; il < model_->hp.n_layer && whole; ++il)
    if (model_->hp.layers[static_cast<size_t>(il)].recurrent)
      std::copy_n(recurrent_state(il, src), model_->hp.recurrent_state_floats(), recurrent_state(il, dst));
  rec_pos_[static_cast<size_t>(dst)] = whole ? n : -1;
  const auto n_ckpt = static_cast<size_t>(params_.n_checkpoints);
  std::fill_n(&ckpt_pos_[static_cast<size_t>(dst) * n_ckpt], n_ckpt, int64_t{-1});
}

float* Context::recurrent_state(int64_t il, int32_t seq) {
  return &rec_[rec_offset_[static_cast<size_t>(il)] +
               static_cast<size_t>(seq) * model_->hp.recurrent_state_floats()];
}

Status Context::advance_recurrent(const Batch& batch) {
  if (rec_pos_.empty()) return {};
  // Where the batch starts each sequence (-1: not in it): at 0 (a restart), where its state
  // is, or at one of its checkpoints; then each of its tokens follows the previous one.
  // (Kept between passes: generation does not allocate per token.)
  thread_local std::vector<int64_t> first, next;
  first.assign(rec_pos_.size(), -1);
  next.assign(rec_pos_.begin(), rec_pos_.end());
  for (size_t t = 0; t < batch.size(); ++t) {
    const auto s = static_cast<size_t>(batch.seq[t]);
    if (first[s] >= 0) continue;
    first[s] = batch.pos[t];
    if (first[s] != 0 && first[s] != rec_pos_[s] && find_checkpoint(batch.seq[t], first[s]) < 0) {
      std::string kept;
      for (const int64_t p : checkpoint_positions(batch.seq[t])) kept += (kept.empty() ? "" : ", ") + std::to_string(p);
      return make_error("sequence {}: position {} cannot follow: the recurrent state has read {} tokens and its "
                        "checkpoints are at [{}] (a recurrent model continues a sequence there or restarts it at 0)",
                        s, first[s], rec_pos_[s], kept);
    }
    next[s] = first[s];
  }
  for (size_t t = 0; t < batch.size(); ++t) {
    const auto s = static_cast<size_t>(batch.seq[t]);
    if (batch.pos[t] != next[s])
      return make_error("sequence {}: position {} does not follow position {} in the batch (a recurrent model "
                        "reads a sequence in order)", s, batch.pos[t], next[s] - 1);
    next[s]++;
  }
  const auto n_ckpt = static_cast<size_t>(params_.n_checkpoints);
  for (size_t s = 0; s < first.size(); ++s) {
    if (first[s] == 0)  // a restart: the checkpoints were of other tokens
      std::fill_n(&ckpt_pos_[s * n_ckpt], n_ckpt, int64_t{-1});
    else if (first[s] > 0 && first[s] != rec_pos_[s])
      restore_checkpoint(static_cast<int32_t>(s), static_cast<size_t>(find_checkpoint(static_cast<int32_t>(s), first[s])));
  }
  rec_pos_.assign(next.begin(), next.end());
  return {};
}

}  // namespace corral
