// smollm3 (SmolLM3-3B): llama layers, except that every fourth layer has no rotary position
// embedding (NoPE). No GGUF key records it: the reference engines fix the step by architecture
// (Hugging Face's no_rope_layer_interval = 4), and so does this file.
#include "model/families/families.h"

namespace corral::families {

namespace {
constexpr int64_t kNoRopeLayerStep = 4;  // layers 3, 7, 11, ... (0-based) are NoPE
}

Status read_smollm3(const GgufFile&, HParams& hp) {
  for (int64_t il = 0; il < hp.n_layer; ++il)
    hp.layers[static_cast<size_t>(il)].rope = (il + 1) % kNoRopeLayerStep != 0;
  return {};
}

}  // namespace corral::families
