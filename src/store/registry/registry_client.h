// OCI distribution client: pull (ranged parallel parts, resume, retry, stall restart, SHA-256
// check before a blob is admitted) and push (HEAD check, monolithic or chunked upload, manifest
// PUT), with bearer tokens from WWW-Authenticate challenges.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"
#include "store/manifest.h"
#include "store/model_name.h"
#include "store/store.h"

namespace corral::registry {

// One progress event, shaped like Ollama's pull/push stream lines.
struct Progress {
  std::string status;  // "pulling manifest", "pulling <12 hex>", "verifying sha256 digest", ...
  std::string digest;  // set for per-layer events
  int64_t total = 0;
  int64_t completed = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

// The JSON object Ollama streams for /api/pull and /api/push (empty fields omitted), no newline:
// {"status":"pulling 6a0746a1ec1a","digest":"sha256:...","total":4661224676,"completed":1000}
std::string progress_json(const Progress& p);

struct Options {
  // Plain HTTP: required for http:// names; names without a scheme then use http too.
  bool insecure = false;
  // Ollama's part sizing: total/16 clamped to [100 MB, 1000 MB], at most 16 parts.
  int max_parts = 16;
  int64_t min_part_bytes = 100'000'000;
  int64_t max_part_bytes = 1'000'000'000;
  int max_tries = 6;             // per part, for 5xx and transport errors
  int backoff_base_ms = 1000;    // 1 s, 2 s, 4 s, ...
  int stall_timeout_s = 30;      // no byte for this long restarts the part (not counted as a try)
  int max_stall_restarts = 10;
  int connect_timeout_s = 30;
  int64_t upload_chunk_bytes = 100'000'000;  // blobs larger than this are pushed in chunks
  std::string user_agent = "corral/0.1";
};

class Client {
 public:
  Client(Store& store, Options opts);
  ~Client();

  Status pull(const ModelName& name, const ProgressFn& progress);
  Status push(const ModelName& name, const ProgressFn& progress);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Short status label for a digest: "sha256:abcdef..." -> "abcdef012345".
std::string short_digest(const std::string& digest);

}  // namespace corral::registry
