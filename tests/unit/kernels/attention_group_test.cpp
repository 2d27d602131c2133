// The group attention kernels (several queries over the same cached rows: a GQA group's heads,
// for one token or a block of a prompt's tokens), on every kernel table this CPU runs and for
// every cache type (f32, f16, q8_0, q4_0): each query of a group has exactly the bits of the
// table's one-query kernel over its own n_pos (so grouping and batching change no result),
// whatever the group's size, its other queries' lengths, soft-capping or sinks; the table's
// one-query kernels agree with the scalar reference within float rounding; and the q8_0 / q4_0
// kernels give the bits of the same table's f32 kernel over the dequantized rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/fp16.h"
#include "kernels/dispatch.h"
#include "kernels/ops.h"
#include "tensor/quant.h"

namespace corral {
namespace {

enum class Kind { kF32, kF16, kQ8_0, kQ4_0 };
const char* name(Kind k) {
  switch (k) {
    case Kind::kF32: return "f32";
    case Kind::kF16: return "f16";
    case Kind::kQ8_0: return "q8_0";
    case Kind::kQ4_0: return "q4_0";
  }
  return "?";
}

// One layer's cache rows: n_kv heads of hd per position, in the kind's encoding.
struct Rows {
  Kind kind;
  int64_t hd, n_kv, n_pos;
  size_t stride_bytes;
  std::vector<uint8_t> k, v;
  std::vector<float> kd, vd;  // what the rows hold, as floats (dequantized / widened)
};

Rows make_rows(Kind kind, int64_t hd, int64_t n_kv, int64_t n_pos, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t row = hd * n_kv;
  Rows r{kind, hd, n_kv, n_pos, 0, {}, {}, {}, {}};
  switch (kind) {
    case Kind::kF32: r.stride_bytes = static_cast<size_t>(row) * 4; break;
    case Kind::kF16: r.stride_bytes = static_cast<size_t>(row) * 2; break;
    case Kind::kQ8_0: r.stride_bytes = ggml_row_bytes(GgmlType::kQ8_0, row); break;
    case Kind::kQ4_0: r.stride_bytes = ggml_row_bytes(GgmlType::kQ4_0, row); break;
  }
  r.k.resize(r.stride_bytes * static_cast<size_t>(n_pos));
  r.v.resize(r.k.size());
  r.kd.resize(static_cast<size_t>(row * n_pos));
  r.vd.resize(r.kd.size());
  std::vector<float> x(static_cast<size_t>(row));
  for (int64_t p = 0; p < n_pos; ++p) {
    for (int which = 0; which < 2; ++which) {
      for (auto& e : x) e = nd(rng);
      uint8_t* dst = (which == 0 ? r.k : r.v).data() + static_cast<size_t>(p) * r.stride_bytes;
      float* back = (which == 0 ? r.kd : r.vd).data() + static_cast<size_t>(p * row);
      switch (kind) {
        case Kind::kF32:
          std::memcpy(dst, x.data(), x.size() * 4);
          std::memcpy(back, x.data(), x.size() * 4);
          break;
        case Kind::kF16:
          for (size_t i = 0; i < x.size(); ++i) {
            const uint16_t h = f32_to_fp16(x[i]);
            std::memcpy(dst + 2 * i, &h, 2);
            back[i] = fp16_to_f32(h);
          }
          break;
        case Kind::kQ8_0:
        case Kind::kQ4_0: {
          const GgmlType t = kind == Kind::kQ8_0 ? GgmlType::kQ8_0 : GgmlType::kQ4_0;
          quantize_row(t, x.data(), dst, row);
          dequantize_row(t, dst, back, row);
          break;
        }
      }
    }
  }
  return r;
}

// Head `kvh`'s rows for the one-query kernel of `t`.
void one_query(const KernelTable& t, const Rows& r, int64_t kvh, const float* q, int64_t n_pos, float scale,
               float cap, float sink, float* out) {
  const size_t hb = r.stride_bytes / static_cast<size_t>(r.n_kv) * static_cast<size_t>(kvh);  // bytes to the head
  const uint8_t* k = r.k.data() + hb;
  const uint8_t* v = r.v.data() + hb;
  const auto es = static_cast<size_t>(r.hd * r.n_kv);
  switch (r.kind) {
    case Kind::kF32:
      t.attention_ext_f32(q, reinterpret_cast<const float*>(k), reinterpret_cast<const float*>(v), es, n_pos, r.hd,
                          scale, cap, sink, out);
      break;
    case Kind::kF16:
      t.attention_ext_f16(q, reinterpret_cast<const uint16_t*>(k), reinterpret_cast<const uint16_t*>(v), es, n_pos,
                          r.hd, scale, cap, sink, out);
      break;
    case Kind::kQ8_0: t.attention_q8_0(q, k, v, r.stride_bytes, n_pos, r.hd, scale, cap, sink, out); break;
    case Kind::kQ4_0: t.attention_q4_0(q, k, v, r.stride_bytes, n_pos, r.hd, scale, cap, sink, out); break;
  }
}

AttentionGroupFn group_fn(const KernelTable& t, Kind kind) {
  switch (kind) {
    case Kind::kF32: return t.attention_group_f32;
    case Kind::kF16: return t.attention_group_f16;
    case Kind::kQ8_0: return t.attention_group_q8_0;
    case Kind::kQ4_0: return t.attention_group_q4_0;
  }
  return nullptr;
}

struct Variant {
  float cap;
  bool sinks;
  const char* name;
};
const Variant kVariants[] = {{0.0f, false, "plain"}, {3.0f, false, "capped"}, {0.0f, true, "sinks"}};

TEST(AttentionGroup, EveryQueryHasTheBitsOfTheOneQueryKernel) {
  std::mt19937 rng(41);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const std::string& path : runnable_kernel_paths()) {
    const KernelTable& table = *kernel_table_by_name(path);
    for (Kind kind : {Kind::kF32, Kind::kF16, Kind::kQ8_0, Kind::kQ4_0}) {
      const bool blocks = kind == Kind::kQ8_0 || kind == Kind::kQ4_0;
      for (int64_t hd : {32, 64, 80, 128, 256}) {
        if (blocks && hd % 32 != 0) continue;
        const int64_t n_kv = 2, n_pos = 300;
        const Rows r = make_rows(kind, hd, n_kv, n_pos, rng);
        // A GQA group of 4 heads for a block of tokens at the end of the rows (a prompt at depth),
        // lengths crossing tile edges, plus one decoded token alone; and a group past kAttnGroupMax.
        for (int n_q : {1, 4, 28, kAttnGroupMax + 6}) {
          std::vector<float> qv(static_cast<size_t>(n_q * hd)), got(qv.size()), want(qv.size());
          for (auto& e : qv) e = 2.0f * nd(rng);
          std::vector<const float*> qp(static_cast<size_t>(n_q));
          std::vector<float*> op(qp.size());
          std::vector<int64_t> np(qp.size());
          std::vector<float> sk(qp.size());
          for (int i = 0; i < n_q; ++i) {
            qp[static_cast<size_t>(i)] = &qv[static_cast<size_t>(i * hd)];
            op[static_cast<size_t>(i)] = &got[static_cast<size_t>(i * hd)];
            np[static_cast<size_t>(i)] = n_q == 1 ? n_pos : std::max<int64_t>(1, n_pos - 1 - (n_q - 1 - i) / 4 * 5);
            sk[static_cast<size_t>(i)] = 0.5f * static_cast<float>(i % 5) - 1.0f;
          }
          const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
          const int64_t kvh = 1;
          const size_t hb = r.stride_bytes / static_cast<size_t>(n_kv) * static_cast<size_t>(kvh);
          for (const Variant& var : kVariants) {
            const std::string what = path + " " + name(kind) + " " + var.name + " hd " + std::to_string(hd) +
                                     " n_q " + std::to_string(n_q);
            const AttnQueries qs{qp.data(), op.data(), np.data(), var.sinks ? sk.data() : nullptr, n_q};
            const AttentionGroupFn fn = group_fn(table, kind);
            if (fn == nullptr) continue;  // the reference table: the caller runs one query at a time
            fn(qs, r.k.data() + hb, r.v.data() + hb, r.stride_bytes, hd, scale, var.cap);
            for (int i = 0; i < n_q; ++i)
              one_query(table, r, kvh, qp[static_cast<size_t>(i)], np[static_cast<size_t>(i)], scale, var.cap,
                        var.sinks ? sk[static_cast<size_t>(i)] : kNoSink, &want[static_cast<size_t>(i * hd)]);
            EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << what;
            // Within float rounding of the scalar reference over the same rows.
            double err = 0.0;
            std::vector<float> ref(static_cast<size_t>(hd));
            for (int i = 0; i < n_q; ++i) {
              one_query(reference_kernel_table(), r, kvh, qp[static_cast<size_t>(i)], np[static_cast<size_t>(i)], scale,
                        var.cap, var.sinks ? sk[static_cast<size_t>(i)] : kNoSink, ref.data());
              for (int64_t d = 0; d < hd; ++d)
                err = std::max(err, static_cast<double>(std::fabs(ref[static_cast<size_t>(d)] -
                                                                  got[static_cast<size_t>(i * hd + d)])));
            }
            EXPECT_LE(err, 1e-5) << what;
            if (blocks) {  // the f32 kernel over the dequantized rows: the same bits
              for (int i = 0; i < n_q; ++i) {
                table.attention_ext_f32(qp[static_cast<size_t>(i)], &r.kd[static_cast<size_t>(kvh * hd)],
                                        &r.vd[static_cast<size_t>(kvh * hd)], static_cast<size_t>(hd * n_kv),
                                        np[static_cast<size_t>(i)], hd, scale, var.cap,
                                        var.sinks ? sk[static_cast<size_t>(i)] : kNoSink, ref.data());
                EXPECT_EQ(std::memcmp(ref.data(), &got[static_cast<size_t>(i * hd)], ref.size() * sizeof(float)), 0)
                    << what << " query " << i;
              }
            }
          }
        }
      }
    }
  }
}

// The dispatching entry points (ops.h) give every table's bits, the reference's one query at a time
// included: what the model's attention calls.
TEST(AttentionGroup, TheDispatchedGroupMatchesOneQueryAtATime) {
  std::mt19937 rng(43);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t hd = 64, n_pos = 100, n_q = 8;
  const Rows r = make_rows(Kind::kQ8_0, hd, 1, n_pos, rng);
  std::vector<float> qv(static_cast<size_t>(n_q * hd)), got(qv.size()), want(qv.size());
  for (auto& e : qv) e = nd(rng);
  std::vector<const float*> qp;
  std::vector<float*> op;
  std::vector<int64_t> np;
  for (int64_t i = 0; i < n_q; ++i) {
    qp.push_back(&qv[static_cast<size_t>(i * hd)]);
    op.push_back(&got[static_cast<size_t>(i * hd)]);
    np.push_back(n_pos - i);
  }
  attention_group_q8_0(AttnQueries{qp.data(), op.data(), np.data(), nullptr, static_cast<int>(n_q)}, r.k.data(),
                       r.v.data(), r.stride_bytes, hd, 0.125f, 0.0f);
  for (int64_t i = 0; i < n_q; ++i)
    attention_q8_0(qp[static_cast<size_t>(i)], r.k.data(), r.v.data(), r.stride_bytes, np[static_cast<size_t>(i)], hd,
                   0.125f, 0.0f, kNoSink, &want[static_cast<size_t>(i * hd)]);
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
  // and each query really saw its own length: the shortest one differs from the longest.
  EXPECT_NE(std::memcmp(&got[0], &got[static_cast<size_t>((n_q - 1) * hd)], static_cast<size_t>(hd) * sizeof(float)), 0);
}

}  // namespace
}  // namespace corral
