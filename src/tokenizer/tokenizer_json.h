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

// Writes tokenizer.ggml.{model,pre,tokens,token_type}, the bos/eos/unk/pad ids,
// add_bos_token/add_eos_token when the config states them, and tokenizer.chat_template.
// Supports two kinds of model.type "BPE":
//  - byte-level (a ByteLevel pre-tokenizer: Llama 3, Qwen): model "gpt2" with the merges;
//  - SentencePiece-style (spaces turned into U+2581 by a Replace normaliser or a non-splitting
//    Metaspace, optional Prepend, <0xNN> byte fallback: Gemma, Llama 2): model "llama" with
//    scores that make corral's SentencePiece tokenizer apply the merges in their order, token
//    types (control, user-defined, byte, unused) and add_space_prefix.
// Anything else is an error that says what was found.
Status tokenizer_json_to_gguf_metadata(const std::string& tokenizer_json,
                                       const std::string& tokenizer_config_json, GgufWriter& out,
                                       const TokenizerJsonOptions& options = {});

}  // namespace corral
