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
// A batch runs the projections once for all its tokens (the weights are read once per
// micro-batch) and then the recurrence token after token within each (sequence, value head),
// the heads in parallel; one token at a time and batched give the same bits.
#pragma once

#include <cstdint>

namespace corral {

// The recurrence for one token and one value head: updates `state` ([dk][dv]) and writes the
// head's output `out` (dv floats). q and k are unit-norm; decay and beta as above.
void delta_rule_step(float* state, const float* q, const float* k, const float* v, float decay, float beta,
                     int64_t dk, int64_t dv, float* out);

// One token through the short causal convolution, for `channels` channels with `taps` taps
// each (weights [channels][taps], oldest tap first): out = taps · [window, x]; the window
// ([channels][taps - 1], oldest first) then drops its oldest input and takes x. out may alias x.
void causal_conv_step(float* window, const float* weights, const float* x, int64_t channels, int64_t taps, float* out);

}  // namespace corral
