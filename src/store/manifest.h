// Docker distribution schema-2 manifests as Ollama writes them, and the Ollama layer media types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace corral {

inline constexpr std::string_view kManifestMediaType =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kOciManifestMediaType =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kConfigMediaType =
    "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kMediaModel = "application/vnd.ollama.image.model";
inline constexpr std::string_view kMediaTemplate = "application/vnd.ollama.image.template";
inline constexpr std::string_view kMediaSystem = "application/vnd.ollama.image.system";
inline constexpr std::string_view kMediaParams = "application/vnd.ollama.image.params";
inline constexpr std::string_view kMediaLicense = "application/vnd.ollama.image.license";
inline constexpr std::string_view kMediaMessages = "application/vnd.ollama.image.messages";
inline constexpr std::string_view kMediaAdapter = "application/vnd.ollama.image.adapter";
inline constexpr std::string_view kMediaProjector = "application/vnd.ollama.image.projector";
inline constexpr std::string_view kMediaPrompt = "application/vnd.ollama.image.prompt";  // legacy

struct Layer {
  std::string media_type;
  std::string digest;  // "sha256:<64 hex>"
  int64_t size = 0;
  std::string from;  // optional, kept when present
  std::string name;  // optional (tensor layers)
};

struct Manifest {
  int schema_version = 2;
  std::string media_type = std::string(kManifestMediaType);
  Layer config;
  std::vector<Layer> layers;

  // Untrusted JSON: every field's type, every digest and every size is checked.
  static Result<Manifest> parse(std::string_view json);
  // Compact JSON with Ollama's field order (schemaVersion, mediaType, config, layers).
  std::string serialize() const;
  // Sum of config and layer sizes (what `list` shows).
  int64_t total_size() const;
  // Config plus layers, config first.
  std::vector<Layer> all_blobs() const;
  // First layer of a media type, or nullptr.
  const Layer* find_layer(std::string_view type) const;
};

}  // namespace corral
