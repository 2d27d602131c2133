// A Runner owns one loaded model with n_parallel sequence slots and a decode thread. Requests
// join the running batch at the next step (continuous batching), reuse the longest matching
// prompt prefix already in a slot's KV cache, and can be cancelled between steps.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/result.h"
#include "engine/request.h"
#include "model/context.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace corral {

struct RunnerParams {
  int64_t n_ctx = 2048;       // context per slot
  int32_t n_parallel = 1;     // slots decoding together
  int32_t n_batch = 512;      // tokens per forward pass
  KvType kv_type = KvType::kF16;
  // Recurrent models (qwen35, qwen35moe): the prompt cache keeps up to n_checkpoints copies of
  // a slot's states, taken before the last token of each prompt, at every multiple of
  // checkpoint_interval in a prompt or an answer, and at the end of an answer when the next
  // request continues from it; a later prompt resumes from the newest one within its common
  // prefix. Each costs one slot's states (Context::recurrent_elements_for).
  int32_t n_checkpoints = 4;
  int32_t checkpoint_interval = 1024;
  // Pause before every forward pass (0: none). A test hook that makes a model stall; the pause
  // ends early on cancel, shutdown or a request's deadline.
  int32_t step_delay_ms = 0;
};

class Runner {
 public:
  static Result<std::unique_ptr<Runner>> create(std::shared_ptr<const Model> model,
                                                std::shared_ptr<const Tokenizer> tokenizer,
                                                const RunnerParams& params);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Validates and queues a request; on_event is then called from the decode thread until an
  // event with done = true. Errors here (empty or too long prompt, bad token) are synchronous.
  Result<uint64_t> submit(GenerateRequest request, EventFn on_event);
  void cancel(uint64_t id);

  // Runs a request to completion on the calling thread's behalf (blocks until done).
  Result<GenerateEvent> generate(GenerateRequest request, const EventFn& on_event = nullptr);

  const Model& model() const { return *model_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const RunnerParams& params() const { return params_; }
  // Bytes of the recurrent layers' states and their prompt-cache checkpoints (0 for a model
  // without recurrent layers): constant in the context length, counted in the memory a loaded
  // model is charged with.
  size_t recurrent_state_bytes() const;
  // The KV cache: its bytes in the type in use (kv_type(): params().kv_type, or f16 where a
  // quantized type was asked for and a head size is not a multiple of 32).
  size_t kv_bytes() const;
  KvType kv_type() const;

  // What a load with `params` holds beside the weights, known before loading from the file's
  // header alone (no weights are read): the context once clamped to the training context (as
  // the server's loader does, like Ollama), the KV cache in the type it will have, and the
  // recurrent states with their checkpoints (0 without recurrent layers; constant in n_ctx).
  // An encoder (embedding model) holds neither.
  struct MemoryEstimate {
    int64_t n_ctx = 0;
    size_t kv_bytes = 0;
    size_t recurrent_state_bytes = 0;
  };
  static Result<MemoryEstimate> estimate_memory(const std::string& gguf_path, const RunnerParams& params);
  // n_ctx no larger than the model's training context (when the file gives one).
  static int64_t clamp_n_ctx(const HParams& hp, int64_t n_ctx);
  size_t n_active() const { return n_active_.load(); }
  size_t n_queued() const;

 private:
  struct Pending {
    uint64_t id;
    GenerateRequest request;
    std::vector<int32_t> tokens;
    EventFn on_event;
  };
  struct Slot;

  Runner() = default;
  void loop();
  void start_slot(Slot& slot, Pending&& p);
  void shift_context(Slot& slot);  // the slot filled num_ctx: drop old tokens, re-evaluate the rest
  bool step();  // one forward pass over all active slots; false when idle
  size_t next_checkpoint(size_t n) const;  // the first multiple of checkpoint_interval after n
  void pause_before_step();
  // Ends queued requests whose deadline has passed (mu_ held); their events go to `expired`.
  void take_expired_queued(int64_t now, std::vector<Pending>& expired);

  std::shared_ptr<const Model> model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  RunnerParams params_;
  std::unique_ptr<Context> ctx_;
  std::vector<std::unique_ptr<Slot>> slots_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::vector<uint64_t> cancelled_;
  uint64_t next_id_ = 1;
  bool stop_ = false;
  std::atomic<size_t> n_active_{0};
  std::thread thread_;
};

}  // namespace corral
