// The server's view of models: name resolution (store, GGUF paths), the loader injected into the
// scheduler, prompt rendering (template layer, GGUF Jinja template, or a plain fallback) and
// embeddings over a loaded model.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "engine/scheduler.h"
#include "model/context.h"
#include "model/encoder.h"
#include "server/embed_batcher.h"
#include "server/resilience.h"
#include "store/store.h"

namespace corral::server {

struct HttpError {
  int status = 500;
  std::string message;
};

template <class T>
struct Expected {  // a value or an HTTP error
  std::optional<T> value;
  HttpError error;
  Expected(T v) : value(std::move(v)) {}                    // NOLINT
  Expected(HttpError e) : error(std::move(e)) {}            // NOLINT
  bool ok() const { return value.has_value(); }
  T& operator*() { return *value; }
  T* operator->() { return &*value; }
};

inline std::string not_found_message(const std::string& name) {
  return "model \"" + name + "\" not found, try pulling it first";
}

// A model as named by a request, before loading.
struct ModelRef {
  std::string name;        // as shown to clients ("stories:latest" or the path)
  std::string path;        // GGUF file
  std::string digest;      // manifest digest (sha256:<hex>), or "" for a bare path
  bool has_template = false;
  std::string template_text;
  std::string system;
  api::Options params;     // the model's params layer
  std::vector<std::string> stop_from_params;
  std::vector<std::string> licenses;
  std::vector<std::string> fallbacks;  // Modelfile FALLBACK lines, in order (params "fallback")
  int64_t size_bytes = 0;
  int64_t modified_unix_s = 0;
};

// Per loaded model, next to its Runner: the weights and tokenizer, the GGUF chat template, and
// for decoder models a lazily made single-sequence context for embeddings (one embedding request
// at a time, embed_mu); encoder models pack concurrent requests instead (embed_batcher).
struct ModelExtras {
  std::shared_ptr<const Model> model;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::string gguf_chat_template;
  std::mutex embed_mu;
  std::unique_ptr<Context> embed_ctx;
  // Encoder (embedding-only) models: their pass, instead of a runner; chat and generate are a
  // 400 ("does not support ...").
  std::unique_ptr<Encoder> encoder;
  EmbedBatcher embed_batcher;  // packs concurrent requests' inputs into shared encoder calls
};

class ModelHost {
 public:
  // `store` may be null (GGUF paths only).
  ModelHost(std::unique_ptr<Store> store, SchedulerConfig config);

  Store* store() { return store_.get(); }
  Scheduler& scheduler() { return *scheduler_; }
  Resilience& resilience() { return resilience_; }

  // Resolves a request's model name: a store name, a CORRAL_MODEL_PATHS alias (name=path,...),
  // or an absolute path to a .gguf file. 404 when none matches.
  Expected<ModelRef> resolve(const std::string& name) const;

  // Load-time choices for a request (num_ctx, OLLAMA_NUM_PARALLEL), as a scheduler spec. Its
  // memory estimate is the file's size plus, for a recurrent model (qwen35, qwen35moe), the
  // states and checkpoints of every slot, read from the file's header (cached per file).
  LoadSpec load_spec(const ModelRef& ref, const api::Options& opts) const;

  // Acquires a loaded instance, mapping scheduler errors to HTTP statuses (503 queue full,
  // 500 load failure, 504 `deadline` passed while waiting).
  Expected<Scheduler::Lease> acquire(const ModelRef& ref, const api::Options& opts,
                                     const std::optional<std::string>& keep_alive,
                                     std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt,
                                     const std::function<bool()>& client_connected = nullptr);
  // Parses keep_alive text (400 on bad input); nullopt when absent.
  static Expected<std::optional<std::chrono::nanoseconds>> keep_alive(const std::optional<std::string>& text);

  static ModelExtras& extras(const Scheduler::Lease& lease) {
    return *std::static_pointer_cast<ModelExtras>(lease.instance().user);
  }

  // L2-normalised embeddings of `texts`, pooled as the model's pooling_type says (mean when the
  // file names none): an encoder packs all of them into shared passes; a decoder runs them one
  // at a time. `truncate` false refuses an input longer than the context (400 naming both
  // lengths); true cuts it, keeping an encoder's closing [SEP]. `dimensions` > 0 cuts each vector
  // to that many values and normalises again (Matryoshka). `n_tokens` gets the tokens evaluated.
  static Expected<std::vector<std::vector<float>>> embed(ModelExtras& ex, const std::vector<std::string>& texts,
                                                         bool truncate, int64_t n_ctx, int64_t dimensions,
                                                         int64_t* n_tokens);
  // Relevance scores of `docs` for `query`, in document order (engine/rerank.h): a cross-encoder
  // (pooling_type rank) scores every (query, document) pair in shared passes, its raw
  // classification output as llama.cpp's server reports it; a decoder reranker (Qwen3-Reranker)
  // scores one prompt at a time, sigmoid(logit_yes - logit_no). A model that is neither is a 400
  // `"<model>" does not support reranking`; a pair longer than the context loses the document's
  // tail. `n_tokens` gets the tokens evaluated.
  static Expected<std::vector<float>> rerank(ModelExtras& ex, const std::string& model, const std::string& query,
                                             const std::vector<std::string>& docs, int64_t n_ctx, int64_t* n_tokens);
  // 400 `"<model>" does not support <what>` for an embedding-only model, as Ollama answers.
  static std::optional<HttpError> check_completion(const ModelExtras& ex, const std::string& model, const char* what);

 private:
  std::unique_ptr<Store> store_;
  Resilience resilience_;  // before scheduler_: the loader uses its faults
  std::unique_ptr<Scheduler> scheduler_;
  int32_t num_parallel_ = 1;
  int64_t default_num_ctx_ = 4096;
  int32_t n_checkpoints_ = RunnerParams{}.n_checkpoints;              // CORRAL_CHECKPOINTS
  int32_t checkpoint_interval_ = RunnerParams{}.checkpoint_interval;  // CORRAL_CHECKPOINT_INTERVAL
  // OLLAMA_KV_CACHE_TYPE (f16, q8_0, q4_0; default and unknown values: f16), for every model.
  KvType kv_type_ = KvType::kF16;
  // Runner::estimate_memory by "path|modified|slots|checkpoints|ctx|type": a header read per
  // file and shape, not per request. A file whose header cannot be read is estimated as its
  // weights alone (with n_ctx as asked); its load reports the error.
  Runner::MemoryEstimate memory_estimate(const std::string& path, int64_t modified, const RunnerParams& p) const;
  mutable std::mutex memory_estimate_mu_;
  mutable std::map<std::string, Runner::MemoryEstimate> memory_estimates_;
};

// Renders the prompt text for /api/generate and /api/chat. Messages is empty for generate.
struct PromptInput {
  std::vector<api::Message> messages;
  api::Json tools = api::Json::array();
  std::string prompt, suffix, system;
  std::optional<std::string> template_override;
  api::Json think;
};
Expected<std::string> render_prompt(const ModelRef& ref, const ModelExtras& ex, const PromptInput& in);

// Chat history truncation as Ollama does: drop whole old messages (system and the last message
// are kept) until the rendered prompt fits `n_ctx` tokens. Returns the rendered prompt.
Expected<std::string> render_chat_fitting(const ModelRef& ref, const ModelExtras& ex, PromptInput in,
                                          int64_t n_ctx);

}  // namespace corral::server
