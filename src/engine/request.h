// What a caller asks of the engine and what it gets back, token by token.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sampling/sampling_params.h"

namespace corral {

// Restricts which tokens may come next (grammar / JSON-schema constrained output). The engine
// calls mask() with the raw logits before sampling and accept() with each chosen token.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  virtual void mask(float* logits, int32_t n_vocab) = 0;  // set forbidden tokens to -inf
  virtual void accept(int32_t token) = 0;
  virtual bool done() const = 0;  // the constrained output is complete: end generation
  // Budgets: the engine says before each mask() how many tokens may still be generated (this one
  // included), so that a constraint can keep a complete answer within reach. The defaults suit a
  // constraint that knows nothing of budgets.
  virtual void set_tokens_left(int32_t /*tokens_left*/) {}
  // Upper bound on the tokens the shortest complete answer needs from here (0: unknown or none).
  virtual uint32_t min_tokens() const { return 0; }
  // The budget removed tokens the constraint alone allowed (the answer was closed early).
  virtual bool budget_forced() const { return false; }
};

struct GenerateRequest {
  std::string prompt;                  // rendered prompt text (tokenized by the engine)
  std::vector<int32_t> prompt_tokens;  // used instead of `prompt` when not empty
  bool add_special = true;             // BOS/EOS as the model's metadata says
  bool parse_special = true;           // "<|im_start|>" etc. in the text are control tokens
  SamplingParams sampling;
  // -1: until the end of generation; with `shift`, at most 10 × num_ctx tokens (as Ollama caps it)
  int32_t num_predict = -1;
  // A prompt of num_ctx tokens or more: `truncate` keeps its first `num_keep` tokens and as many
  // of its newest as fit (one position stays free for the answer); otherwise it is refused with
  // the sizes named. Reaching num_ctx while generating: `shift` drops half of the tokens after
  // the first `num_keep` and goes on (the rest are evaluated again at their new positions, so
  // the result equals a fresh pass over the kept tokens); otherwise it ends with "length".
  bool truncate = true;
  bool shift = true;
  int32_t num_keep = 4;  // at most half of what is kept, so the newest tokens always dominate
  std::vector<std::string> stop;       // stop strings; never emitted
  int32_t top_logprobs = 0;            // alternatives per token when logprobs is set
  bool logprobs = false;
  std::shared_ptr<TokenConstraint> constraint;
  // Steady-clock nanoseconds (time_since_epoch) after which the request stops: still queued,
  // it ends with done_reason "deadline" and no text; generating, it ends with what it has and
  // done_reason "deadline". 0: no deadline.
  int64_t deadline_ns = 0;
};

struct TokenLogprob {
  int32_t token = 0;
  std::string text;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // (token, logprob), most likely first
};

struct GenerateEvent {
  std::string text;                    // new text since the previous event (whole UTF-8 only)
  std::vector<TokenLogprob> logprobs;  // one per token behind `text` when asked
  bool done = false;
  std::string done_reason;             // "stop", "length", "deadline", "cancel", "error"
  std::string error;                   // when done_reason == "error"
  int32_t prompt_eval_count = 0;       // prompt tokens evaluated (excluding reused cache)
  int32_t prompt_tokens = 0;           // prompt length in tokens
  int32_t eval_count = 0;              // tokens generated
  int64_t prompt_eval_ns = 0;
  int64_t eval_ns = 0;
  std::vector<int32_t> context;        // prompt + generated tokens (on the final event)
};

// Called on the engine thread for every event; return false to cancel the request.
using EventFn = std::function<bool(const GenerateEvent&)>;

}  // namespace corral
