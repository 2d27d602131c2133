// bert and nomic-bert: encoders (bidirectional attention, one pass over whole sequences, no KV
// cache). Their pass is model/encoder.cpp; this file reads their own keys.
#include "model/families/families.h"

namespace corral::families {

Status read_bert(const GgufFile& f, HParams& hp) {
  const std::string p = std::string(arch_name(hp.arch)) + ".";
  hp.encoder = true;
  hp.norm_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_epsilon").value_or(1e-12));
  if (!(hp.norm_eps > 0.0f)) return make_error("{}: bad {}attention.layer_norm_epsilon", f.path(), p);
  // Both read `causal`; a causal bert is not a thing the converters write, and the pass here is
  // bidirectional only.
  if (f.get_bool(p + "attention.causal").value_or(false))
    return make_error("{}: {}attention.causal = true is not supported for an encoder", f.path(), p);
  if (hp.n_head_kv != hp.n_head)
    return make_error("{}: an encoder needs as many KV heads as query heads", f.path());
  for (LayerShape& l : hp.layers) l.rope = hp.arch == Arch::kNomicBert;
  return {};
}

}  // namespace corral::families
