// Gated DeltaNet (qwen35's linear-attention layers), as the reference engines compute it. Per
// token, from the branch x:
//   [q k v] = conv(W_qkv x), then SiLU: a causal convolution of ssm_d_conv taps per channel over
//           this token and the previous d_conv - 1 (the convolution's state);
//   q, k    per q/k head, scaled to unit L2 norm (divided by max(|x|, eps));
//   beta    = sigmoid(W_beta x), per value head;
//   decay   = exp(min(softplus(W_alpha x + dt_bias) * a, 50)), per value head (a < 0);
//   value head h reads q/k head h mod n_group; its state S is [d_state x head_v] (row i: key
//   component i), and with scale = 1/sqrt(d_state):
//     S    = decay * S
//     u    = beta * (v - S^T k)
//     S    = S + k u^T, each entry clamped to [-1e6, 1e6]
//     o    = scale * S^T q
//   out     = rmsnorm(o) * norm_w * silu(W_z x), per value head, then W_out.
// A sequence's first token (position 0) starts from zero states. The state has a fixed size
// whatever the context length: HParams::recurrent_state_floats() per layer and sequence.
//
// The chunked form. The recurrence runs in chunks of C = HParams::kDeltaChunk tokens aligned to
// absolute positions ([0, C), [C, 2C), ...). With G_i the cumulative log decay of the chunk's
// tokens 0..i and S0 the state at the chunk's start, the state after token i is
//   S_i = e^{G_i} S0 + sum_{j<=i} e^{G_i - G_j} k_j w_j^T,
// where the corrected values w (the WY / UT form: a forward substitution with the strictly lower
// triangular matrix A_ij = beta_i (k_i . k_j) e^{G_i - G_j}) are
//   w_i = beta_i (v_i - e^{G_i} S0^T k_i) - sum_{j<i} A_ij w_j,
// the output is o_i = scale (e^{G_i} S0^T q_i + sum_{j<=i} e^{G_i - G_j} (q_i . k_j) w_j), and at
// the chunk's end S0 becomes S_{C-1}, each entry clamped to [-1e6, 1e6] (once per chunk, where
// the token form clamps every token). The state keeps S0 and the chunk's tokens so far (k_j,
// w_j, G_j): token i's output and the next S0 are computed by the same operations in the same
// order however the tokens arrive: a whole prompt, micro-batches of any size, one token at a
// time, or beside other sequences. A sequence's bits therefore do not depend on how its tokens
// are batched, and a checkpoint may be taken at any position.
//
// A batch runs the projections once for all its tokens (the weights are read once per
// micro-batch) and then the recurrence within each (sequence, value head), the heads in
// parallel.
#pragma once

#include <cstdint>

namespace corral {

// The token form of the recurrence, for one token and one value head: updates `state`
// ([dk][dv]) and writes the head's output `out` (dv floats). q and k are unit-norm; decay and
// beta as above. The chunked form below is what the model runs; this is its reference.
void delta_rule_step(float* state, const float* q, const float* k, const float* v, float decay, float beta,
                     int64_t dk, int64_t dv, float* out);

// Floats of one value head's chunked state: S0 ([dk][dv]), then `chunk` keys (dk each),
// `chunk` corrected values (dv each) and `chunk` cumulative log decays.
int64_t delta_chunk_head_floats(int64_t dk, int64_t dv, int64_t chunk);

// The chunked form for one value head: `n` consecutive tokens of one sequence, the first at
// index `first` of its chunk (its position mod `chunk`). Token t is row rows[t] of the batch:
// its q, k and v at q/k/v + rows[t] * qkv_stride, its log decay (<= 50; the decay is e^g) and
// beta at g/beta + rows[t] * gb_stride; it writes dv floats at out + rows[t] * out_stride.
// `head` is the head's chunked state (zero at position 0); whenever a chunk completes, its S0
// advances. Any split of a sequence's tokens into calls gives the same bits.
void delta_chunk_run(float* head, int64_t chunk, int64_t first, const int64_t* rows, int64_t n, const float* q,
                     const float* k, const float* v, int64_t qkv_stride, const float* g, const float* beta,
                     int64_t gb_stride, int64_t dk, int64_t dv, float* out, int64_t out_stride);

// One token through the short causal convolution, for `channels` channels with `taps` taps
// each (weights [channels][taps], oldest tap first): out = taps · [window, x]; the window
// ([channels][taps - 1], oldest first) then drops its oldest input and takes x. out may alias x.
void causal_conv_step(float* window, const float* weights, const float* x, int64_t channels, int64_t taps, float* out);

}  // namespace corral
