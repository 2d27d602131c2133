// The pass of an encoder (bert, nomic-bert): whole sequences at once, bidirectional attention,
// no KV cache, and pooling of each sequence's output rows into one embedding. Several sequences
// are packed side by side into one pass: every matrix product runs over all their tokens
// together, and attention stays inside each sequence, so a sequence's embedding is the same,
// bit for bit, alone or packed with others.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "model/model.h"

namespace corral {

class Encoder {
 public:
  explicit Encoder(std::shared_ptr<const Model> model);

  // The longest sequence one pass takes: bert's position table (context_length), else the
  // trained context.
  int64_t max_tokens() const;

  // One pooled row (n_embd floats, not normalised) per sequence, in order. Sequences are packed
  // into passes of at most kPassTokens tokens (a longer sequence runs alone). Errors: an empty
  // or too long sequence, a token outside the vocabulary, Pooling::kNone or kRank.
  Result<std::vector<std::vector<float>>> embed(std::span<const std::vector<int32_t>> seqs, Pooling pooling);

  // Cross-encoder scores (pooling_type rank): one float per sequence, the classification head
  // over its first ([CLS]) row: tanh(cls * x + cls_b), then cls.output * y + its bias when the
  // file has it (as llama.cpp computes it; no sigmoid). `second_from[i]` is the first token of
  // sequence i's second segment (the document); from there on its rows get token type 1 when the
  // file has two token types (BERT's pairs), else type 0 (XLM-RoBERTa's single type). Packed as
  // embed() is. Errors as embed(), and a model without the classification head.
  Result<std::vector<float>> rank(std::span<const std::vector<int32_t>> seqs, std::span<const size_t> second_from);
  static constexpr size_t kPassTokens = 2048;

  // Passes run by embed() so far (tests check the packing with it).
  int64_t passes() const { return passes_; }

 private:
  // Checks ids and lengths, then calls `pooled(first, last)` after each pass over seqs[first, last).
  template <class Fn>
  Status passes_over(std::span<const std::vector<int32_t>> seqs, std::span<const size_t> second_from, Fn&& pooled);
  // One pass over seqs[first, last): leaves the final hidden rows in x_. `second_from` (empty, or
  // one entry per sequence) starts each sequence's token-type-1 rows.
  void forward(std::span<const std::vector<int32_t>> seqs, std::span<const size_t> second_from, size_t first,
               size_t last);

  std::shared_ptr<const Model> model_;
  int64_t passes_ = 0;
  std::vector<size_t> start_;   // [n_seq + 1]: first token of each packed sequence
  std::vector<int32_t> pos_;    // [n_tokens]: position inside its sequence
  std::vector<float> x_, xn_, q_, k_, v_, attn_, gate_, up_, rope_cs_, cls_in_, cls_mid_;
};

// v /= |v| (L2), as Ollama normalises every embedding; a zero vector stays zero.
void normalize_l2(std::span<float> v);

}  // namespace corral
