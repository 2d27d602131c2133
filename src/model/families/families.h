// The families' entry points, for the table in family.cpp (one file per family).
#pragma once

#include "model/family.h"

namespace corral::families {

Status read_llama(const GgufFile& f, HParams& hp);
void llama_layer(LayerPass& p, const LayerWeights& L, int64_t il);

Status read_qwen3moe(const GgufFile& f, HParams& hp);

Status read_gemma2(const GgufFile& f, HParams& hp);
Status read_gemma3(const GgufFile& f, HParams& hp);
void gemma_layer(LayerPass& p, const LayerWeights& L, int64_t il);
// gemma_layer's first half: the normed attention, post-normed, added to the residual (Gemma 4's
// layers with experts follow it with their own feed-forward).
void gemma_attention(LayerPass& p, const LayerWeights& L, int64_t il);

Status read_smollm3(const GgufFile& f, HParams& hp);

Status read_phi3(const GgufFile& f, HParams& hp);

Status read_gptoss(const GgufFile& f, HParams& hp);
void gptoss_layer(LayerPass& p, const LayerWeights& L, int64_t il);
Status read_qwen35(const GgufFile& f, HParams& hp);
Status read_qwen35moe(const GgufFile& f, HParams& hp);
void qwen35_layer(LayerPass& p, const LayerWeights& L, int64_t il);
Status read_gemma4(const GgufFile& f, HParams& hp);
void gemma4_layer(LayerPass& p, const LayerWeights& L, int64_t il);

// bert, nomic-bert: encoders; their pass is model/encoder.cpp, so their rows have no layer.
Status read_bert(const GgufFile& f, HParams& hp);

}  // namespace corral::families
