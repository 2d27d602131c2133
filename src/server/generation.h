// One running generation as the HTTP handlers see it: the lease on the loaded model, the
// runner request, and a queue of events from the decode thread to the HTTP thread. Destroying
// it (client gone, response finished) cancels the request and waits for the runner to let go.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "api/types.h"
#include "engine/request.h"
#include "engine/scheduler.h"
#include "server/lifecycle.h"
#include "server/metrics.h"
#include "server/model_host.h"

namespace corral::server {

class Generation {
 public:
  ~Generation();
  // Blocks until the next event; false after the final (done) event has been returned.
  bool next(GenerateEvent* ev);
  // The same, but while waiting asks `client_connected` every 50 ms and cancels the generation
  // once it answers false (a non-streaming client that hung up); the final event still follows.
  bool next(GenerateEvent* ev, const std::function<bool()>& client_connected);
  // Stops the generation (client disconnected) within one decode step.
  void cancel();
  // Stops it because the server is shutting down: the final event says done_reason "shutdown".
  void shutdown();
  // Waits for the first event (a token, or the end) without taking it, until `deadline_ns`
  // (mono_ns clock; 0: no limit). False on timeout; else *first is a copy of that event. When
  // `client_connected` turns false meanwhile, cancels: the first event is then the cancel.
  bool wait_first(int64_t deadline_ns, GenerateEvent* first,
                  const std::function<bool()>& client_connected = nullptr);

  int64_t load_ns() const { return load_ns_; }
  int64_t start_ns() const { return start_ns_; }

 private:
  friend Expected<std::shared_ptr<Generation>> start_generation(Scheduler::Lease lease,
                                                                GenerateRequest req, int64_t start_ns,
                                                                Metrics* metrics, Resilience* resilience,
                                                                Lifecycle* lifecycle);
  Generation() = default;

  Scheduler::Lease lease_;
  uint64_t id_ = 0;
  Metrics* metrics_ = nullptr;
  Resilience* resilience_ = nullptr;
  Lifecycle* lifecycle_ = nullptr;
  int64_t start_ns_ = 0, load_ns_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<GenerateEvent> events_;
  bool runner_done_ = false;   // the runner sent its final event
  bool reader_done_ = false;   // next() returned the final event
  bool first_text_ = false;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> shutdown_{false};
  std::chrono::steady_clock::time_point next_client_check_{};  // next(ev, client_connected)
};

// A non-streaming generation read to its end: the text and logprobs of every event, and the
// final event. Cancels the generation when `client_connected` turns false while waiting.
struct CollectedGeneration {
  std::string text;
  std::vector<TokenLogprob> logprobs;
  GenerateEvent last;
};
CollectedGeneration collect_generation(Generation& gen, const std::function<bool()>& client_connected);

// Submits `req` to the leased runner. 400 for requests the runner refuses (prompt too long).
// `resilience` (optional) counts generations stopped by their deadline; `lifecycle` (optional)
// registers it so a drain deadline can end it.
Expected<std::shared_ptr<Generation>> start_generation(Scheduler::Lease lease, GenerateRequest req,
                                                       int64_t start_ns, Metrics* metrics,
                                                       Resilience* resilience = nullptr,
                                                       Lifecycle* lifecycle = nullptr);

// The engine request for merged options (model params, then request options).
GenerateRequest engine_request(const api::Options& o);

// Monotonic nanoseconds (durations in responses).
int64_t mono_ns();

// Ollama's logprobs entries: {token, logprob, bytes, top_logprobs: [...]}.
api::OJson logprobs_json(const Tokenizer& tk, const std::vector<TokenLogprob>& lps);

}  // namespace corral::server
