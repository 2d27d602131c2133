// Attention of a group of queries over the same cached rows: the table's group kernel, or (a
// table without one, the scalar reference) its one-query kernel per query, which gives the same
// bits by the group kernels' contract (kernel_abi.h AttentionGroupFn).
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace corral {
namespace {

inline float sink_of(const AttnQueries& qs, int i) { return qs.sink != nullptr ? qs.sink[i] : kNoSink; }

}  // namespace

void attention_group_f16(const AttnQueries& qs, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                         int64_t head_dim, float scale, float cap) {
  const KernelTable& t = kernel_table();
  if (t.attention_group_f16 != nullptr) {
    t.attention_group_f16(qs, reinterpret_cast<const uint8_t*>(k), reinterpret_cast<const uint8_t*>(v),
                          kv_stride * sizeof(uint16_t), head_dim, scale, cap);
    return;
  }
  for (int i = 0; i < qs.n_q; ++i)
    t.attention_ext_f16(qs.q[i], k, v, kv_stride, qs.n_pos[i], head_dim, scale, cap, sink_of(qs, i), qs.out[i]);
}

void attention_group_f32(const AttnQueries& qs, const float* k, const float* v, size_t kv_stride, int64_t head_dim,
                         float scale, float cap) {
  const KernelTable& t = kernel_table();
  if (t.attention_group_f32 != nullptr) {
    t.attention_group_f32(qs, reinterpret_cast<const uint8_t*>(k), reinterpret_cast<const uint8_t*>(v),
                          kv_stride * sizeof(float), head_dim, scale, cap);
    return;
  }
  for (int i = 0; i < qs.n_q; ++i)
    t.attention_ext_f32(qs.q[i], k, v, kv_stride, qs.n_pos[i], head_dim, scale, cap, sink_of(qs, i), qs.out[i]);
}

void attention_group_q8_0(const AttnQueries& qs, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                          int64_t head_dim, float scale, float cap) {
  const KernelTable& t = kernel_table();
  if (t.attention_group_q8_0 != nullptr) {
    t.attention_group_q8_0(qs, k, v, kv_stride_bytes, head_dim, scale, cap);
    return;
  }
  for (int i = 0; i < qs.n_q; ++i)
    attention_q8_0(qs.q[i], k, v, kv_stride_bytes, qs.n_pos[i], head_dim, scale, cap, sink_of(qs, i), qs.out[i]);
}

void attention_group_q4_0(const AttnQueries& qs, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                          int64_t head_dim, float scale, float cap) {
  const KernelTable& t = kernel_table();
  if (t.attention_group_q4_0 != nullptr) {
    t.attention_group_q4_0(qs, k, v, kv_stride_bytes, head_dim, scale, cap);
    return;
  }
  for (int i = 0; i < qs.n_q; ++i)
    attention_q4_0(qs.q[i], k, v, kv_stride_bytes, qs.n_pos[i], head_dim, scale, cap, sink_of(qs, i), qs.out[i]);
}

}  // namespace corral
