// The model store: Ollama's layout (manifests/<host>/<ns>/<model>/<tag>, blobs/sha256-<hex>),
// atomic commits, case-insensitive lookup, garbage collection, and one-call model resolution.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/manifest.h"
#include "store/model_name.h"

namespace corral {

// What the server and `run` need to load a model, resolved from its manifest in one call.
struct ResolvedModel {
  ModelName name;
  Manifest manifest;
  std::string manifest_digest;  // "sha256:<hex>" of the manifest file; ID = first 12 hex
  std::string model_path;       // GGUF weights blob
  std::vector<std::string> projector_paths;
  std::vector<std::string> adapter_paths;
  bool has_template = false;
  std::string template_text;    // Go template (template or legacy prompt layer)
  bool has_system = false;
  std::string system;
  std::string params_json = "{}";   // object of default options
  std::vector<std::string> licenses;
  std::string messages_json = "[]"; // array of {role, content}
};

struct ModelEntry {
  ModelName name;
  std::string manifest_path;
  std::string manifest_digest;  // sha256:<hex> of the manifest bytes
  Manifest manifest;
  int64_t size_bytes = 0;
  int64_t modified_unix_s = 0;
};

struct PruneStats {
  int n_removed = 0;
  int64_t bytes_removed = 0;
};

// An flock on <root>/.corral.lock. Writers that add blobs before their manifest (pull, create)
// hold it shared; garbage collection holds it exclusive, so GC never deletes a blob whose
// manifest is about to be written.
class StoreLock {
 public:
  StoreLock() = default;
  StoreLock(StoreLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  StoreLock& operator=(StoreLock&& o) noexcept;
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  friend class Store;
  int fd_ = -1;
};

class Store {
 public:
  // Opens (creating manifests/ and blobs/ if needed) the store at `root`.
  static Result<Store> open(const std::string& root);
  // CORRAL_MODELS, else OLLAMA_MODELS, else ~/.corral/models.
  static std::string default_root();
  static Result<Store> open_default() { return open(default_root()); }

  const std::string& root() const { return root_; }
  std::string blobs_dir() const { return root_ + "/blobs"; }
  std::string manifests_dir() const { return root_ + "/manifests"; }
  // blobs/sha256-<hex>; `digest` must be valid (sha256:<hex> or sha256-<hex>).
  std::string blob_path(std::string_view digest) const;
  // blobs/sha256-<hex>-partial: a download in progress (resume state beside it, -partial-<N>).
  std::string partial_path(std::string_view digest) const;
  // True when the blob exists (and has `size_bytes` bytes, when that is >= 0).
  bool has_blob(std::string_view digest, int64_t size_bytes = -1) const;

  Result<StoreLock> lock_shared() const;
  Result<StoreLock> lock_exclusive() const;

  // The existing manifest file for `name`, matched case-insensitively; error if none.
  Result<std::string> find_manifest_path(const ModelName& name) const;
  // Raw manifest bytes (parsed by resolve()).
  Result<std::string> read_manifest_bytes(const ModelName& name) const;
  Result<Manifest> resolve(const ModelName& name) const;
  Result<ResolvedModel> resolve_model(const ModelName& name) const;
  Result<ResolvedModel> resolve_model(std::string_view name) const;

  // Writes the manifest atomically, only if every blob it names is present with its size.
  // `raw`, when given, is written byte for byte (a pulled manifest keeps the registry's bytes).
  Status write_manifest(const ModelName& name, const Manifest& m, std::string_view raw = {});

  Result<std::vector<ModelEntry>> list() const;
  Status copy(const ModelName& src, const ModelName& dst);
  // Deletes the manifest, then garbage-collects blobs nothing references any more.
  Status remove(const ModelName& name, PruneStats* stats = nullptr);
  // Deletes every blob no manifest references (and stale temp files); takes the exclusive lock.
  Result<PruneStats> prune();
  // Deletes those of `digests` that no manifest references (exclusive lock).
  Result<PruneStats> remove_unreferenced(const std::vector<std::string>& digests);

  // Adds a file to blobs/ and returns its digest. With `allow_link` the file is hard-linked
  // when on the same filesystem (else copied); a blob already present is never written twice.
  Result<std::string> import_blob_file(const std::string& path, bool allow_link);
  Result<std::string> import_blob_bytes(std::string_view data);
  Result<std::string> read_blob_text(std::string_view digest, int64_t max_bytes = 64 << 20) const;

  // Every digest referenced by some manifest (config and layers).
  Result<std::vector<std::string>> referenced_digests() const;

 private:
  Result<StoreLock> lock(int op) const;
  Result<PruneStats> prune_unlocked();

  std::string root_;
};

// "sha256:<hex>" of a byte string.
std::string digest_of(std::string_view bytes);

}  // namespace corral
