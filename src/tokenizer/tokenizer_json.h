// Converts a Hugging Face tokenizer.json (+ tokenizer_config.json) into GGUF tokenizer metadata.
#pragma once

#include <string>

#include "base/result.h"
#include "gguf/gguf_writer.h"

namespace corral {

struct TokenizerJsonOptions {
  // tokenizer.ggml.pre to write; empty = detect from the pre_tokenizer regex (llama-bpe, qwen2).
  std::string pre;
};

// Writes tokenizer.ggml.{model,pre,tokens,token_type,merges}, the bos/eos/unk/pad ids,
// add_bos_token/add_eos_token when the config states them, and tokenizer.chat_template.
// Supports byte-level BPE tokenizers (model.type "BPE" with a ByteLevel pre-tokenizer); anything
// else is an error that says what was found.
Status tokenizer_json_to_gguf_metadata(const std::string& tokenizer_json,
                                       const std::string& tokenizer_config_json, GgufWriter& out,
                                       const TokenizerJsonOptions& options = {});

}  // namespace corral
