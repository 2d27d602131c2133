// What `show` and `list` report about a GGUF model: architecture, size, quantisation, lengths.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace corral {

struct GgufSummary {
  std::string architecture;
  int64_t n_params = 0;
  std::string parameter_size;  // "8.0B", "260.1K", as Ollama shows it
  std::string quantization;    // "Q4_K_M", "F16", ...
  int64_t context_length = 0;
  int64_t embedding_length = 0;
};

Result<GgufSummary> summarize_gguf(const std::string& path);

// llama.cpp's general.file_type numbers -> names ("Q4_K_M"); "unknown" otherwise.
std::string file_type_name(int64_t file_type);
// 8030261248 -> "8.0B", 260000 -> "260K"; Ollama's format.HumanNumber.
std::string human_number(uint64_t n);
// 1234567 -> "1.2 MB"; Ollama's format.HumanBytes (decimal units).
std::string human_bytes(int64_t n);

}  // namespace corral
