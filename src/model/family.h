// The architecture table: one row per `general.architecture` corral runs, naming the family's
// hyper-parameter rules and its layer recipe (families/<name>.cpp). Adding a family is one new
// file and one row here; "supported: ..." in error messages comes from this table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "gguf/gguf_file.h"
#include "model/hparams.h"

namespace corral {

struct LayerWeights;
class LayerPass;

struct Family {
  const char* arch;  // general.architecture, as llama.cpp's converters write it
  Arch id;
  bool rope_neox;    // RoPE rotates (i, i + n_rot/2) pairs rather than (2i, 2i + 1)
  // Tensors the family cannot run without (otherwise they are used when the file has them).
  bool qkv_biases;   // attn_{q,k,v}.bias
  bool qk_norms;     // attn_{q,k}_norm.weight, per head
  bool post_norms;   // post_attention_norm.weight and post_ffw_norm.weight (Gemma)
  // Reads the family's own keys after the common ones and applies the rules the file does not
  // record (fixed layer patterns, fixed RoPE bases); fills HParams::layers.
  Status (*read_hparams)(const GgufFile& file, HParams& hp);
  // One transformer layer as a straight line of block calls (LayerPass).
  void (*layer)(LayerPass& pass, const LayerWeights& weights, int64_t il);
};

const Family* find_family(std::string_view arch);
const Family& family_of(Arch arch);
std::string supported_architectures();  // "llama, qwen2, ..."

}  // namespace corral
