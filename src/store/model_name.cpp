// Model name parsing: parse from the right (tag, model, namespace, host), then validate each part.
#include "store/model_name.h"

#include <cctype>

namespace corral {
namespace {

enum class Part { kHost, kNamespace, kModel, kTag };

const char* part_name(Part p) {
  switch (p) {
    case Part::kHost: return "host";
    case Part::kNamespace: return "namespace";
    case Part::kModel: return "model";
    case Part::kTag: return "tag";
  }
  return "?";
}

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

Status check_part(Part p, std::string_view s, std::string_view whole) {
  const size_t max_len = p == Part::kHost ? 350 : 80;
  if (s.empty()) return make_error("invalid model name \"{}\": empty {}", whole, part_name(p));
  if (s.size() > max_len) {
    return make_error("invalid model name \"{}\": {} longer than {} characters", whole,
                      part_name(p), max_len);
  }
  if (!is_alnum(s[0]) && s[0] != '_') {
    return make_error("invalid model name \"{}\": {} must start with a letter, digit or '_'",
                      whole, part_name(p));
  }
  for (char c : s) {
    bool ok = is_alnum(c) || c == '_' || c == '-';
    if (p != Part::kNamespace) ok = ok || c == '.';
    if (p == Part::kHost) ok = ok || c == ':';
    if (!ok) {
      return make_error("invalid model name \"{}\": character '{}' not allowed in {}", whole,
                        c == '\0' ? std::string("\\0") : std::string(1, c), part_name(p));
    }
  }
  return {};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_hex_lower(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<ModelName> ModelName::parse(std::string_view whole) {
  ModelName n;
  std::string_view s = whole;
  if (s.empty()) return make_error("invalid model name: empty");
  // Scheme first: "http://host/ns/model" (a "://" can only be a scheme, ':' and '/' never pair
  // that way elsewhere).
  if (auto pos = s.find("://"); pos != std::string_view::npos) {
    std::string scheme = lower(s.substr(0, pos));
    if (scheme != "http" && scheme != "https") {
      return make_error("invalid model name \"{}\": unsupported scheme \"{}\"", whole, scheme);
    }
    n.scheme = scheme;
    s.remove_prefix(pos + 3);
  }
  // The tag is after the last ':' unless a '/' follows it (then the ':' is a host port).
  const size_t colon = s.rfind(':');
  const size_t slash = s.rfind('/');
  bool has_tag = colon != std::string_view::npos &&
                 (slash == std::string_view::npos || colon > slash);
  std::string_view rest = s;
  if (has_tag) {
    n.tag = std::string(s.substr(colon + 1));
    rest = s.substr(0, colon);
    if (n.tag.empty()) return make_error("invalid model name \"{}\": empty tag", whole);
  } else {
    n.tag = std::string(kDefaultTag);
  }
  // Split the rest at '/' into at most host/namespace/model.
  std::string_view parts[3];
  int count = 0;
  while (true) {
    size_t p = rest.rfind('/');
    if (count == 2) {
      parts[count++] = rest;
      break;
    }
    if (p == std::string_view::npos) {
      parts[count++] = rest;
      break;
    }
    parts[count++] = rest.substr(p + 1);
    rest = rest.substr(0, p);
  }
  n.model = std::string(parts[0]);
  n.ns = count >= 2 ? std::string(parts[1]) : std::string(kDefaultNamespace);
  n.host = count >= 3 ? std::string(parts[2]) : std::string(kDefaultHost);
  if (count >= 3 && n.host.find('/') != std::string::npos) {
    return make_error("invalid model name \"{}\": too many '/' separators", whole);
  }
  CORRAL_TRY(check_part(Part::kHost, n.host, whole));
  CORRAL_TRY(check_part(Part::kNamespace, n.ns, whole));
  CORRAL_TRY(check_part(Part::kModel, n.model, whole));
  CORRAL_TRY(check_part(Part::kTag, n.tag, whole));
  return n;
}

std::string ModelName::display_long() const { return host + "/" + ns + "/" + model + ":" + tag; }

std::string ModelName::display_shortest() const {
  std::string out;
  if (lower(host) != kDefaultHost) {
    out = host + "/" + ns + "/";
  } else if (lower(ns) != kDefaultNamespace) {
    out = ns + "/";
  }
  return out + model + ":" + tag;
}

std::string ModelName::filepath() const { return host + "/" + ns + "/" + model + "/" + tag; }

bool ModelName::equal_fold(const ModelName& o) const {
  return lower(host) == lower(o.host) && lower(ns) == lower(o.ns) &&
         lower(model) == lower(o.model) && lower(tag) == lower(o.tag);
}

bool is_valid_digest(std::string_view d) {
  if (d.size() != 71 || d.substr(0, 6) != "sha256" || (d[6] != ':' && d[6] != '-')) return false;
  return is_hex_lower(d.substr(7));
}

Result<std::string> normalize_digest(std::string_view d) {
  if (!is_valid_digest(d)) return make_error("invalid digest \"{}\"", d);
  std::string out(d);
  out[6] = ':';
  return out;
}

}  // namespace corral
