// Model hyper-parameters read from GGUF metadata, with llama.cpp's defaults where keys are absent.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "gguf/gguf_file.h"

namespace corral {

enum class Arch { kLlama, kQwen2, kQwen3 };

const char* arch_name(Arch a);

struct HParams {
  Arch arch = Arch::kLlama;
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t n_ff = 0;
  int64_t head_dim = 0;   // key_length; n_embd / n_head unless the file says otherwise
  int64_t n_rot = 0;      // rope dimension count; head_dim unless given
  float rms_eps = 1e-5f;
  double rope_freq_base = 10000.0;
  bool rope_neox = false;  // qwen2/qwen3 rotate (i, i + d/2) pairs; llama (2i, 2i+1)

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
};

// Reads and validates hyper-parameters; errors name the file and the missing/bad key.
Result<HParams> read_hparams(const GgufFile& file);

}  // namespace corral
