// libFuzzer target for model loading: a GGUF that parses is handed to Model::from_gguf, which
// reads the hyper-parameters and binds every tensor by name and shape. Whatever it accepts, every
// bound view must lie inside the input (checked here, then its first and last bytes are read so
// ASan sees any extent the checks missed); whatever it refuses, it refuses with a message.
#include <cstddef>
#include <cstdint>

#include "gguf/gguf_file.h"
#include "model/model.h"

namespace {

volatile uint64_t g_sink;  // keeps the reads below from being optimised away

struct Extent {
  const uint8_t* begin;
  const uint8_t* end;
};

void check(const corral::TensorView& v, Extent in) {
  if (v.data == nullptr) return;  // an optional tensor the file does not have
  const auto* p = static_cast<const uint8_t*>(v.data);
  const size_t bytes = static_cast<size_t>(v.n_rows()) * v.row_bytes;
  if (bytes == 0) return;
  if (p < in.begin || p + bytes > in.end) __builtin_trap();  // a view past the file's bytes
  g_sink = g_sink + p[0] + p[bytes - 1];
}

void check_layer(const corral::LayerWeights& l, Extent in) {
  for (const corral::TensorView* v :
       {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm, &l.attn_post_norm,
        &l.ffn_norm, &l.ffn_gate, &l.ffn_up, &l.ffn_down, &l.ffn_post_norm, &l.ffn_gate_inp, &l.ffn_gate_exps,
        &l.ffn_up_exps, &l.ffn_down_exps, &l.bo, &l.attn_sinks, &l.ffn_gate_inp_b, &l.ffn_gate_exps_b,
        &l.ffn_up_exps_b, &l.ffn_down_exps_b, &l.ffn_gate_shexp, &l.ffn_up_shexp, &l.ffn_down_shexp,
        &l.ffn_gate_inp_shexp, &l.delta_qkv, &l.delta_z, &l.delta_beta, &l.delta_alpha, &l.delta_conv, &l.delta_dt,
        &l.delta_a, &l.delta_norm, &l.delta_out, &l.ple_gate, &l.ple_proj, &l.ple_post_norm, &l.out_scale,
        &l.ffn_gate_up_exps, &l.ffn_gate_inp_s, &l.ffn_down_exps_s, &l.ffn_pre_norm_2, &l.ffn_post_norm_1,
        &l.ffn_post_norm_2})
    check(*v, in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = corral::GgufFile::parse(data, size, "fuzz.gguf");
  if (!file.ok()) return 0;
  auto model = corral::Model::from_gguf(*file);
  if (!model.ok()) {
    if (model.error().message.empty()) __builtin_trap();  // a refusal must say why
    return 0;
  }
  const corral::Model& m = **model;
  const Extent in{data, data + size};
  check(m.token_embd, in);
  check(m.output_norm, in);
  check(m.output, in);
  for (const auto& l : m.layers) check_layer(l, in);
  for (const corral::TensorView* v : {&m.token_types, &m.pos_embd, &m.embd_norm, &m.embd_norm_b, &m.cls, &m.cls_b,
                                      &m.cls_out, &m.cls_out_b, &m.per_layer_token_embd, &m.per_layer_model_proj,
                                      &m.per_layer_proj_norm})
    check(*v, in);
  for (const auto& e : m.encoder_layers)
    for (const corral::TensorView* v : {&e.bo, &e.attn_out_norm, &e.attn_out_norm_b, &e.ffn_up_b, &e.ffn_down_b,
                                        &e.out_norm, &e.out_norm_b})
      check(*v, in);
  g_sink = g_sink + static_cast<uint64_t>(m.hp.n_layer) + m.layers.size();
  return 0;
}
