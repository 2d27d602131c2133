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
  static constexpr size_t kPassTokens = 2048;

  // Passes run by embed() so far (tests check the packing with it).
  int64_t passes() const { return passes_; }

 private:
  // One pass over seqs[first, last): leaves the final hidden rows in x_.
  void forward(std::span<const std::vector<int32_t>> seqs, size_t first, size_t last);

  std::shared_ptr<const Model> model_;
  int64_t passes_ = 0;
  std::vector<size_t> start_;   // [n_seq + 1]: first token of each packed sequence
  std::vector<int32_t> pos_;    // [n_tokens]: position inside its sequence
  std::vector<float> x_, xn_, q_, k_, v_, attn_, gate_, up_, rope_cs_;
};

// v /= |v| (L2), as Ollama normalises every embedding; a zero vector stays zero.
void normalize_l2(std::span<float> v);

}  // namespace corral
