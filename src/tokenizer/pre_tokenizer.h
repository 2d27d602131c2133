// Pre-tokenizers: split text into words before byte-level BPE, one hand-written matcher per
// regex of the reference tokenizers (no std::regex: it is slow and lacks Unicode categories).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace corral {

enum class PreTokenizerKind {
  kDefault,        // llama.cpp's fallback when tokenizer.ggml.pre is missing or "default"
  kLlama3,         // "llama-bpe", "llama3"
  kQwen2,          // "qwen2": like llama3 but single digits
  kQwen35,         // "qwen35" (Qwen 3.5 / 3.6): qwen2 with marks (\p{M}) counted as letters
  kO200k,          // "gpt-4o" (gpt-oss, o200k): case-aware letter runs, contractions attached
  kDeepseekLlm,    // "deepseek-llm"
  kDeepseekCoder,  // "deepseek-coder"
  kFalcon,         // "falcon"
  kGpt2,           // "gpt-2", "mpt", "olmo", ...
  kStarcoder,      // "starcoder", "refact", "smollm", ...
};

// Maps a tokenizer.ggml.pre value to a pre-tokenizer; nullopt for an unknown name.
std::optional<PreTokenizerKind> pre_tokenizer_from_name(std::string_view name);

// Splits `text` into consecutive words that cover it exactly (the regex matches and the gaps
// between them, as the reference "Isolated" split does). Invalid UTF-8 bytes are kept in place.
std::vector<std::string_view> pre_tokenize(PreTokenizerKind kind, std::string_view text);

}  // namespace corral
