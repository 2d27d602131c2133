// Packs the inputs of concurrent embedding requests into shared encoder calls.
//
// An encoder pass costs about the same for a few more sequences (the matrix products run over
// all their tokens together), so requests that arrive while a pass runs should not each wait
// for a pass of their own. The first caller with nothing running becomes the leader: it takes
// every request queued so far (its own included), runs one call over all their sequences, hands
// each request its rows and wakes the others; a request that arrived meanwhile finds its rows
// done or leads the next call. Results do not depend on the packing (the encoder keeps attention
// inside each sequence; model/encoder.h), so a request gets the same vectors alone or packed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"

namespace corral::server {

class EmbedBatcher {
 public:
  using Rows = std::vector<std::vector<float>>;
  using Seqs = std::vector<std::vector<int32_t>>;
  // Runs the model over `seqs` (in order), one row per sequence.
  using EmbedFn = std::function<Result<Rows>(const Seqs& seqs)>;

  // `seqs`' rows, computed in a call shared with the requests queued beside it. An error of the
  // shared call is every packed request's error.
  Result<Rows> embed(Seqs seqs, const EmbedFn& fn);

  // Calls of `fn` made so far and requests served (tests check the packing with them).
  int64_t calls() const;
  int64_t requests() const;

 private:
  struct Job {
    Seqs seqs;
    Rows rows;
    std::string error;
    bool done = false;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  bool running_ = false;
  int64_t calls_ = 0, requests_ = 0;
};

}  // namespace corral::server
