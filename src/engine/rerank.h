// Reranking: how a (query, document) pair becomes one input of a cross-encoder (bert with a
// classification head), and Qwen3-Reranker's prompt and yes/no score over a decoder.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "model/context.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace corral {

// One cross-encoder input: the pair's token ids and the first token of the document segment
// (Encoder::rank gives it token type 1 when the model has two types).
struct RerankPair {
  std::vector<int32_t> ids;
  size_t second_from = 0;
};

// Frames a pair as the vocabulary's model was trained on it. WordPiece (BERT):
// [CLS] query [SEP] document [SEP]. Others (XLM-RoBERTa, as BGE-reranker; llama.cpp's server
// frames every pair this way): BOS query EOS SEP document EOS, each special token only where the
// vocabulary has it. A pair longer than `max_tokens` loses the document's tail (its closing token
// kept); a query that leaves the document no room is an error naming both lengths.
Result<RerankPair> frame_rerank_pair(const Tokenizer& tok, std::string_view query, std::string_view doc,
                                     int64_t max_tokens);

// Qwen3-Reranker, a qwen3 decoder scored by its next-token logits (not supported by either
// reference engine snapshot; the model card's formula): the prompt below, then
// score = softmax(logit_no, logit_yes)[yes] = sigmoid(logit_yes - logit_no) at its last token.
// A decoder is a reranker when its file says pooling_type rank, or (files converted as a plain
// qwen3) its general.name contains "reranker" (any case).
bool is_decoder_reranker(const Model& model);
inline constexpr std::string_view kQwen3RerankInstruction =
    "Given a web search query, retrieve relevant passages that answer the query";
std::string qwen3_rerank_prompt(std::string_view query, std::string_view doc, std::string_view instruction);

struct YesNoTokens {
  int32_t yes = -1, no = -1;
};
// The vocabulary's "yes" and "no" tokens; nullopt when either is missing.
std::optional<YesNoTokens> yes_no_tokens(const Tokenizer& tok);

// sigmoid(logit_yes - logit_no) at the last of `ids`, evaluated from position 0 of sequence 0 of
// `ctx` (a context of at least ids.size() positions; what it held before is overwritten).
Result<float> decoder_rerank_score(Context& ctx, std::span<const int32_t> ids, YesNoTokens yn);

}  // namespace corral
