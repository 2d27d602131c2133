// Inference state for one model: a KV cache with one region per sequence slot, and the scratch
// buffers of the forward pass. Not thread-safe; one forward() at a time (it is itself parallel).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "model/kv_type.h"
#include "model/model.h"

namespace corral {

struct ContextParams {
  int64_t n_ctx = 2048;      // positions per sequence slot
  int32_t n_seq = 1;         // sequence slots (parallel requests)
  KvType kv_type = KvType::kF16;
  int32_t n_checkpoints = 1;  // recurrent models: state checkpoints kept per sequence slot (>= 1)
  // Test hook (tests/golden/kv_quant_test.cpp): stores q8_0 / q4_0 blocks with their two
  // halves swapped (q4_0: each byte's nibbles), as a kernel with a wrong element order would
  // read them, to show that the conformance bounds catch such a mistake. Never set otherwise.
  bool kv_test_misread = false;
};

// One entry per token to evaluate. Tokens of different sequences may share a batch; the
// result for each token is independent of what else is in the batch.
struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> pos;
  std::vector<int32_t> seq;
  std::vector<uint8_t> want_logits;
  // Embedding mode: forward() returns the final-norm hidden state (n_embd floats) of each
  // want_logits token instead of its logits.
  bool embeddings = false;

  void add(int32_t token, int32_t position, int32_t sequence, bool logits) {
    tokens.push_back(token);
    pos.push_back(position);
    seq.push_back(sequence);
    want_logits.push_back(logits ? 1 : 0);
  }
  size_t size() const { return tokens.size(); }
  void clear() { tokens.clear(); pos.clear(); seq.clear(); want_logits.clear(); }
};

class Context {
 public:
  static Result<std::unique_ptr<Context>> create(std::shared_ptr<const Model> model, const ContextParams& params);

  // Evaluates the batch: writes K/V for each token at (seq, pos) and returns the logits of the
  // tokens with want_logits set, in batch order (n_vocab floats each). Positions attended to
  // are 0..pos of the token's sequence, which the caller must have filled. A long batch whose
  // positions rise within each sequence runs in slices of kMicroBatch tokens (the same results,
  // bit for bit), so a long prompt's scratch memory stays that of kMicroBatch tokens.
  Result<std::span<const float>> forward(const Batch& batch);
  static constexpr size_t kMicroBatch = 128;

  const Model& model() const { return *model_; }
  const ContextParams& params() const { return params_; }
  int64_t n_vocab() const { return model_->hp.n_vocab; }

  // Copies cached positions [0, n) of sequence `src` to `dst` (prompt prefix sharing).
  void copy_sequence(int32_t src, int32_t dst, int64_t n);

  // How many of the first `n` cached positions of `seq` a continuation can build on: `n`, or 0
  // when a sliding-window layer has already dropped positions the token at `n` would attend to
  // (the cache then has to be filled again from the start). With recurrent layers: `n` where
  // the states are, else the newest checkpoint's position that is at most `n`, else 0.
  int64_t reusable_prefix(int32_t seq, int64_t n) const;

  // KV cache elements (K and V together) the context holds; sliding-window layers hold only
  // their window plus one micro-batch, whatever n_ctx is; recurrent layers hold none.
  size_t kv_elements() const { return 2 * kv_total_; }
  // Bytes those elements take in the cache's type (params().kv_type: the type in use, f16 where
  // a quantized type was asked for and a head size is not a multiple of 32).
  size_t kv_bytes() const { return 2 * kv_bytes_of(params_.kv_type, kv_total_); }
  // What kv_elements() will be, known before the weights are loaded (the scheduler's estimate).
  static size_t kv_elements_for(const HParams& h, int64_t n_ctx, int32_t n_seq);
  // The KV type a context of this model gets when `want` is asked for: `want`, or f16 for a
  // block type when some layer's head size is not a multiple of 32 (as Ollama falls back).
  static KvType kv_type_for(const HParams& h, KvType want);

  // Recurrent layers (Gated DeltaNet; recurrent_state.cpp): per layer and sequence slot a
  // fixed-size state, F32, whatever n_ctx is, and up to n_checkpoints copies of it per slot. A
  // state cannot be rewound: it has read the first recurrent_position(seq) tokens of its
  // sequence, and a batch must continue a sequence there, at one of its checkpoints, or restart
  // it at position 0.
  bool recurrent() const { return !rec_pos_.empty(); }
  // Floats of the states and their checkpoints together.
  size_t recurrent_elements() const { return rec_.size() + rec_ckpt_.size(); }
  // What recurrent_elements() will be for a context of `n_seq` slots keeping `n_checkpoints`
  // checkpoints each, known before the weights are loaded (the scheduler's memory estimate):
  // per recurrent layer and slot, the live state and its checkpoints. A unit test holds the two
  // equal (engine/state_estimate_test.cpp).
  static size_t recurrent_elements_for(const HParams& h, int32_t n_seq, int32_t n_checkpoints) {
    const auto copies = static_cast<size_t>(1 + (n_checkpoints > 1 ? n_checkpoints : 1));
    return copies * static_cast<size_t>(h.n_recurrent_layers()) * static_cast<size_t>(n_seq) * h.recurrent_state_floats();
  }
  int64_t recurrent_position(int32_t seq) const {
    return rec_pos_.empty() ? -1 : rec_pos_[static_cast<size_t>(seq)];
  }
  // Keeps a copy of `seq`'s states at their current position. When the slot already keeps
  // n_checkpoints, the one at the lowest position goes (the newest positions are kept: the end
  // of the latest prompt and the interval checkpoints just before it). A batch that starts the
  // sequence at a checkpoint's position resumes from the copy, and the checkpoints beyond that
  // position go (they were of tokens the sequence no longer has); a restart at 0 drops them
  // all. reusable_prefix counts them.
  void checkpoint(int32_t seq);
  // The positions of `seq`'s checkpoints, ascending.
  std::vector<int64_t> checkpoint_positions(int32_t seq) const;

 private:
  friend class LayerPass;
  Context() = default;
  // The pass itself, for a validated batch; in embedding mode it returns rows of xn_.
  std::span<const float> forward_validated(const Batch& batch);
  bool positions_rise_per_sequence(const Batch& batch);
  void attention(const Batch& batch, int64_t il);
  void store_kv(int64_t il, int32_t seq, int32_t pos, const float* k, const float* v);
  // Element offset of `slot` of sequence `seq` in layer `il`'s cache.
  size_t kv_offset(int64_t il, int32_t seq, int64_t slot) const;
  // The slot of position `pos`: pos itself, or for a sliding-window layer pos minus the first
  // position its buffer holds.
  int64_t kv_slot(int64_t il, int32_t seq, int64_t pos) const;
  // Makes room in the sliding-window buffers for this batch: slides each window so that it
  // starts where the batch's earliest token of a sequence needs it. Fails when the batch needs
  // positions a window has dropped, or spans more than a buffer holds.
  Status prepare_windows(const Batch& batch);
  // Gemma 4: fills ple_ with the batch's per-layer inputs (forward.cpp).
  void per_layer_inputs(const Batch& batch);
  // Finishes output rows: final soft-capping where the family has it.
  void finish_logits(float* logits, size_t n) const;
  // Recurrent states (recurrent_state.cpp): allocation, the state of (layer, sequence), and the
  // check that a batch continues each sequence where its states are (which it then records).
  void init_recurrent();
  float* recurrent_state(int64_t il, int32_t seq);
  Status advance_recurrent(const Batch& batch);
  void restore_checkpoint(int32_t seq, size_t index);
  // The checkpoint of `seq` at position `pos` (its index), or -1.
  int64_t find_checkpoint(int32_t seq, int64_t pos) const;
  // reusable_prefix's answer for the recurrent states alone; copy_sequence's for them.
  int64_t recurrent_prefix(int32_t seq, int64_t n) const;
  void copy_recurrent(int32_t src, int32_t dst, int64_t n);

  std::shared_ptr<const Model> model_;
  ContextParams params_;
  std::vector<uint16_t> k_f16_, v_f16_;
  std::vector<float> k_f32_, v_f32_;
  // q8_0 / q4_0: each position's row of kv_dim elements as kv_dim / 32 GGUF blocks; element
  // offset e (a multiple of 32) is byte e / 32 * kv_block_bytes(type).
  std::vector<uint8_t> k_q_, v_q_;
  size_t kv_qbytes(size_t elements) const { return elements / static_cast<size_t>(kKvBlockElems) * kv_block_bytes(params_.kv_type); }
  size_t kv_total_ = 0;                 // elements of K (= of V) over all layers
  std::vector<size_t> layer_offset_;    // [n_layer]: where a layer's cache starts
  std::vector<int64_t> layer_slots_;    // [n_layer]: positions a sequence holds in that layer
  std::vector<int64_t> window_first_;   // [n_layer * n_seq]: first position in a window buffer
  // Recurrent states: rec_offset_[il] is where layer il's states start (one per sequence,
  // HParams::recurrent_state_floats() each); rec_pos_[seq] the tokens they have read (-1:
  // unusable, the sequence must restart at 0).
  std::vector<float> rec_;
  std::vector<size_t> rec_offset_;
  std::vector<int64_t> rec_pos_;
  std::vector<float> rec_ckpt_;      // [n_checkpoints]: the checkpoints, each laid out as rec_
  std::vector<int64_t> ckpt_pos_;    // [n_seq][n_checkpoints]: each checkpoint's position (-1: none)
  // scratch, [n_tokens][dim]
  std::vector<float> x_, xn_, q_, k_, v_, attn_, gate_, up_, logits_;
  std::vector<float> q_gate_;  // [n_tokens][2 * q_dim]: attn_q's output where it carries a gate
  // Gated DeltaNet (delta_net.cpp): q/k/v after the convolution, the gate z, beta and decay per
  // value head, the heads' outputs
  std::vector<float> dn_qkv_, dn_z_, dn_beta_, dn_decay_, dn_out_;
  std::vector<int64_t> dn_rows_;  // DeltaNet: n_seq + 1 offsets, then the batch rows grouped by sequence
  // mixture of experts (moe.cpp): router logits [n_tokens][n_expert]; per (token, rank) the
  // expert, its weight and its output [n_embd]; the counting sort by expert; gathered rows
  std::vector<float> moe_logits_, moe_w_, moe_y_, moe_x_;
  std::vector<float> moe_shared_, moe_shared_gate_;  // the shared expert's output and gate logit per token
  std::vector<int32_t> moe_sel_, moe_count_, moe_order_;
  // [rope set][n_tokens][rope_width_]: each token's cos/sin pairs, computed once per pass for all the
  // layers that share a set of frequencies
  std::vector<float> rope_cs_;
  int64_t rope_width_ = 0;           // floats per token and set in rope_cs_ (the largest n_rot)
  // Gemma 4: each token's per-layer inputs [n_tokens][n_layer * n_embd_per_layer]
  std::vector<float> ple_;
  std::vector<float> freq_factors_;  // RoPE frequency factors in use (Llama 3's, or a LongRoPE set)
  Batch slice_;                   // one micro-batch of a long batch
  std::vector<float> hidden_;     // [n_out][n_embd]: final-norm rows gathered over the micro-batches
  std::vector<int32_t> last_pos_;  // [n_seq]: for positions_rise_per_sequence
};

}  // namespace corral
