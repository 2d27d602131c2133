// Model names `[scheme://][host/][namespace/]model[:tag]` with Ollama's defaults and character rules.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace corral {

inline constexpr std::string_view kDefaultHost = "registry.ollama.ai";
inline constexpr std::string_view kDefaultNamespace = "library";
inline constexpr std::string_view kDefaultTag = "latest";

struct ModelName {
  std::string scheme = "https";  // "http" only when the name says http:// (needs --insecure)
  std::string host;
  std::string ns;  // namespace
  std::string model;
  std::string tag;

  // Parses and fills defaults; every part is checked (characters, first character, length).
  static Result<ModelName> parse(std::string_view s);

  // host/namespace/model:tag.
  std::string display_long() const;
  // Drops the default host and namespace, as Ollama shows names ("llama3.2:latest").
  std::string display_shortest() const;
  // Relative path under manifests/: host/namespace/model/tag (case as given).
  std::string filepath() const;
  // namespace/model, the repository path in registry URLs.
  std::string repository() const { return ns + "/" + model; }

  // Names are compared case-insensitively (scheme ignored).
  bool equal_fold(const ModelName& other) const;
};

// True for `sha256:<64 lowercase hex>` or `sha256-<64 hex>`.
bool is_valid_digest(std::string_view digest);
// Normalises `sha256-<hex>` to `sha256:<hex>`; returns an error if not a digest.
Result<std::string> normalize_digest(std::string_view digest);

}  // namespace corral
