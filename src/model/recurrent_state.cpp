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
  rec_pos_.assign(static_cast<size_t>(params_.n_seq), 0);
}

float* Context::recurrent_state(int64_t il, int32_t seq) {
  return &rec_[rec_offset_[static_cast<size_t>(il)] +
               static_cast<size_t>(seq) * model_->hp.recurrent_state_floats()];
}

Status Context::advance_recurrent(const Batch& batch) {
  if (rec_pos_.empty()) return {};
  std::vector<int64_t> next = rec_pos_;
  std::vector<uint8_t> seen(rec_pos_.size(), 0);
  for (size_t t = 0; t < batch.size(); ++t) {
    const auto s = static_cast<size_t>(batch.seq[t]);
    const int64_t p = batch.pos[t];
    if (!seen[s] && p == 0) next[s] = 0;  // a restart
    seen[s] = 1;
    if (p != next[s])
      return make_error("sequence {}: position {} cannot follow: the recurrent state has read {} tokens "
                        "(a recurrent model continues a sequence where it stopped or restarts it at 0)",
                        s, p, next[s]);
    next[s] = p + 1;
  }
  rec_pos_ = std::move(next);
  return {};
}

}  // namespace corral
