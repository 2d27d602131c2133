// Attention of a group of queries over the same cached rows: the table's group kernel, or (a
// table without one, the scalar reference) its one-query kernel per query, which gives the same
// bits by the group kernels' contract (kernel_abi.h AttentionGroupFn).
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace corral {
namespace {

// The four row types differ only in which group kernel the table has and which one-query kernel
// stands in for it; `kv_stride` is in the row type's elements (bytes for q8_0 / q4_0), the group
// kernels take bytes.
template <class Row, class OneQuery>
void run_group(AttentionGroupFn group, OneQuery one, const AttnQueries& qs, const Row* k, const Row* v,
               size_t kv_stride, int64_t head_dim, float scale, float cap) {
  if (group != nullptr) {
    group(qs, reinterpret_cast<const uint8_t*>(k), reinterpret_cast<const uint8_t*>(v), kv_stride * sizeof(Row),
          head_dim, scale, cap);
    return;
  }
  for (int i = 0; i < qs.n_q; ++i)
    one(qs.q[i], k, v, kv_stride, qs.n_pos[i], head_dim, scale, cap, qs.sink != nullptr ? qs.sink[i] : kNoSink,
        qs.out[i]);
}

}  // namespace

void attention_group_f16(const AttnQueries& qs, const uint16_t* k, const uint16_t* v, size_t kv_stride,
                         int64_t head_dim, float scale, float cap) {
  const KernelTable& t = kernel_table();
  run_group(t.attention_group_f16, t.attention_ext_f16, qs, k, v, kv_stride, head_dim, scale, cap);
}

void attention_group_f32(const AttnQueries& qs, const float* k, const float* v, size_t kv_stride, int64_t head_dim,
                         float scale, float cap) {
  const KernelTable& t = kernel_table();
  run_group(t.attention_group_f32, t.attention_ext_f32, qs, k, v, kv_stride, head_dim, scale, cap);
}

void attention_group_q8_0(const AttnQueries& qs, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                          int64_t head_dim, float scale, float cap) {
  run_group(kernel_table().attention_group_q8_0, attention_q8_0, qs, k, v, kv_stride_bytes, head_dim, scale, cap);
}

void attention_group_q4_0(const AttnQueries& qs, const uint8_t* k, const uint8_t* v, size_t kv_stride_bytes,
                          int64_t head_dim, float scale, float cap) {
  run_group(kernel_table().attention_group_q4_0, attention_q4_0, qs, k, v, kv_stride_bytes, head_dim, scale, cap);
}

}  // namespace corral
