// Manifest JSON parsing (untrusted) and serialisation.
#include "store/manifest.h"

#include <nlohmann/json.hpp>

#include "store/model_name.h"

namespace corral {
namespace {

using nlohmann::json;

// Layer sizes beyond 1 PiB are refused: no model is that large and it keeps sums far from overflow.
constexpr int64_t kMaxLayerBytes = int64_t{1} << 50;
constexpr size_t kMaxLayers = 4096;

Result<Layer> parse_layer(const json& j, const std::string& where) {
  if (!j.is_object()) return make_error("manifest: {} is not an object", where);
  Layer l;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string()) return make_error("manifest: {} has no mediaType", where);
  l.media_type = mt->get<std::string>();
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return make_error("manifest: {} has no digest", where);
  const std::string digest = dg->get<std::string>();
  if (digest.size() != 71 || digest[6] != ':' || !is_valid_digest(digest)) {
    return make_error("manifest: {} has invalid digest \"{}\"", where, digest.substr(0, 80));
  }
  l.digest = digest;
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer()) return make_error("manifest: {} has no size", where);
  if (sz->is_number_unsigned()) {
    auto u = sz->get<uint64_t>();
    if (u > static_cast<uint64_t>(kMaxLayerBytes)) return make_error("manifest: {} size too large", where);
    l.size = static_cast<int64_t>(u);
  } else {
    l.size = sz->get<int64_t>();
  }
  if (l.size < 0 || l.size > kMaxLayerBytes) return make_error("manifest: {} has invalid size", where);
  if (auto f = j.find("from"); f != j.end() && f->is_string()) l.from = f->get<std::string>();
  if (auto n = j.find("name"); n != j.end() && n->is_string()) l.name = n->get<std::string>();
  return l;
}

// nlohmann's default object type sorts keys; write layers by hand to keep Ollama's field order
// (mediaType, digest, size, then from and name).
std::string layer_text(const Layer& l) {
  std::string out = "{\"mediaType\":" + json(l.media_type).dump() +
                    ",\"digest\":" + json(l.digest).dump() + ",\"size\":" + std::to_string(l.size);
  if (!l.from.empty()) out += ",\"from\":" + json(l.from).dump();
  if (!l.name.empty()) out += ",\"name\":" + json(l.name).dump();
  return out + "}";
}

}  // namespace

Result<Manifest> Manifest::parse(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error("manifest: invalid JSON");
  if (!j.is_object()) return make_error("manifest: not a JSON object");
  Manifest m;
  auto sv = j.find("schemaVersion");
  if (sv == j.end() || !sv->is_number_integer() || sv->get<int64_t>() != 2) {
    return make_error("manifest: schemaVersion must be 2");
  }
  if (auto mt = j.find("mediaType"); mt != j.end()) {
    if (!mt->is_string()) return make_error("manifest: mediaType is not a string");
    m.media_type = mt->get<std::string>();
    if (m.media_type != kManifestMediaType && m.media_type != kOciManifestMediaType) {
      return make_error("manifest: unsupported mediaType \"{}\"", m.media_type.substr(0, 100));
    }
  }
  auto cfg = j.find("config");
  if (cfg == j.end()) return make_error("manifest: no config");
  auto config = parse_layer(*cfg, "config");
  if (!config) return config.error();
  m.config = std::move(*config);
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) return make_error("manifest: no layers array");
  if (layers->size() > kMaxLayers) return make_error("manifest: too many layers");
  for (size_t i = 0; i < layers->size(); ++i) {
    auto l = parse_layer((*layers)[i], "layer " + std::to_string(i));
    if (!l) return l.error();
    m.layers.push_back(std::move(*l));
  }
  return m;
}

std::string Manifest::serialize() const {
  std::string out = "{\"schemaVersion\":" + std::to_string(schema_version) +
                    ",\"mediaType\":" + json(media_type).dump() +
                    ",\"config\":" + layer_text(config) + ",\"layers\":[";
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i) out += ',';
    out += layer_text(layers[i]);
  }
  return out + "]}";
}

int64_t Manifest::total_size() const {
  int64_t total = config.size;
  for (const auto& l : layers) total += l.size;
  return total;
}

std::vector<Layer> Manifest::all_blobs() const {
  std::vector<Layer> out;
  out.push_back(config);
  out.insert(out.end(), layers.begin(), layers.end());
  return out;
}

const Layer* Manifest::find_layer(std::string_view type) const {
  for (const auto& l : layers) {
    if (l.media_type == type) return &l;
  }
  return nullptr;
}

}  // namespace corral
