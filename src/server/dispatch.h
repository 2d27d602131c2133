// The one path every generating route (/api/generate, /api/chat, /v1/chat/completions,
// /v1/completions) takes from a resolved model to a running generation: the request's deadline,
// the fallback chain (the request's options.fallback, else the model's Modelfile FALLBACK lines),
// the circuit breakers, acquiring a model within the deadline, starting the generation and
// waiting for its first token. A model that is overloaded (queue full), fails to load, gives no
// first token in its share of the deadline, fails to start, or is marked unhealthy by its
// breaker gives way to the next one; the response names the model that answered (`model`
// field, X-Corral-Model header).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/generation.h"
#include "server/server.h"

namespace corral::server {

// The header that carries a deadline in seconds (decimals allowed): "X-Request-Timeout: 2.5".
inline constexpr const char* kDeadlineHeader = "X-Request-Timeout";
// Response headers: the model that answered, and the models left behind with their reasons
// ("primary:load_failed, second:overloaded").
inline constexpr const char* kModelHeader = "X-Corral-Model";
inline constexpr const char* kFallbacksHeader = "X-Corral-Fallbacks";

// Deadline and fallback choices of one request.
struct RequestPolicy {
  int64_t deadline_ms = 0;  // 0: none
  std::optional<std::vector<std::string>> fallback;  // replaces the model's FALLBACK list
};

// Reads options.deadline_ms and options.fallback (with `openai`, the top-level deadline_ms and
// fallback too) and the X-Request-Timeout header (`header`, "" when absent). When both the body
// and the header give a deadline the earlier wins; with neither, `default_ms` applies. 400 on
// wrong types or values.
Expected<RequestPolicy> request_policy(const api::Json& body, const std::string& header, bool openai,
                                       int64_t default_ms);

// Builds the engine request for one candidate once it is leased (renders the prompt with that
// model's template, applies constraints). Called once per model tried; errors go to the client.
using BuildRequestFn =
    std::function<Expected<GenerateRequest>(const ModelRef& ref, const api::Options& opts, Scheduler::Lease& lease)>;

struct DispatchInput {
  ModelRef primary;                       // resolved by the route (404 before we get here)
  api::Options options;                   // the request's own options, merged over each model's
  std::optional<std::string> keep_alive;
  RequestPolicy policy;
  int64_t start_ns = 0;                   // when the request arrived (queue time counts)
  // False once the client has hung up: stops waiting for a model or its first token (499).
  std::function<bool()> client_connected;
  // Models the request's API key may use (null: any). A forbidden primary is a 403; forbidden
  // fallbacks are skipped.
  std::function<bool(const std::string&)> model_allowed;
};

struct Dispatched {
  std::shared_ptr<Generation> gen;
  ModelRef ref;                           // the model that answers
  api::Options options;                   // its merged options
  std::shared_ptr<const Tokenizer> tokenizer;
  std::function<bool()> client_connected;  // the input's, for waiting on the rest of the answer
};

// Runs the chain. On success the generation has produced its first event (a token or the end)
// and `res` carries X-Corral-Model; on failure the error of the last model tried (504 when the
// deadline passed before any output).
Expected<Dispatched> dispatch(ServerState& st, DispatchInput in, const BuildRequestFn& build,
                              httplib::Response& res);

}  // namespace corral::server
