// JSON Schema to GBNF conversion (see json_schema.h for what is supported and why).
#include "sampling/grammar/json_schema.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "base/utf8.h"
#include "sampling/grammar/regex_to_gbnf.h"

namespace corral::grammar {

using OJson = nlohmann::ordered_json;

namespace {

// Shared building blocks. Every value rule ends with `space`, as llama.cpp's converter does.
// Whitespace is bounded (one space, or a newline and at most four spaces or tabs): an answer
// cannot spend its token budget on runs of blanks, and the cost of closing stays small.
constexpr const char* kSpace = R"(space ::= | " " | "\n" [ \t]{0,4})";
constexpr const char* kChar =
    R"(char ::= [^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" ([0-9a-cA-CeEfF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2})))";
constexpr const char* kInt = R"(integer ::= "-"? ("0" | [1-9] [0-9]{0,15}) space)";
constexpr const char* kNumber =
    R"(number ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,15})? ([eE] [-+]? [1-9] [0-9]?)? space)";
constexpr const char* kString = R"(string ::= "\"" char* "\"" space)";
constexpr const char* kBool = R"(boolean ::= ("true" | "false") space)";
constexpr const char* kNull = R"(null ::= "null" space)";
constexpr const char* kValue = R"(value ::= object | array | string | number | boolean | null)";
constexpr const char* kObject =
    R"(object ::= "{" space (string ":" space value ("," space string ":" space value)*)? "}" space)";
constexpr const char* kArray = R"(array ::= "[" space (value ("," space value)*)? "]" space)";

// Formats, each a rule body for the string content (inside the quotes). Dates only produce
// days that exist in every year (Feb 1-28), so a strict validator always agrees.
const std::map<std::string, std::string>& format_rules() {
  static const std::map<std::string, std::string> m = {
      {"date",
       R"([0-9]{4} "-" ((("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01])) | (("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30")) | ("02-" ("0" [1-9] | "1" [0-9] | "2" [0-8]))))"},
      {"time",
       R"(([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]))"},
      {"uuid", R"([0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12})"},
      {"email",
       R"([a-z0-9_+]{1,12} ("." [a-z0-9_+]{1,12})? "@" ([a-z0-9] ([a-z0-9-]{0,8} [a-z0-9])? "."){1,2} [a-z]{2,6})"},
  };
  return m;
}

// The type each type-specific keyword belongs to.
const std::map<std::string, std::string>& keyword_owner() {
  static const std::map<std::string, std::string> m = {
      {"properties", "object"}, {"required", "object"}, {"additionalProperties", "object"},
      {"items", "array"}, {"prefixItems", "array"}, {"minItems", "array"}, {"maxItems", "array"},
      {"minLength", "string"}, {"maxLength", "string"}, {"pattern", "string"}, {"format", "string"},
      {"minimum", "number"}, {"maximum", "number"}, {"exclusiveMinimum", "number"}, {"exclusiveMaximum", "number"}};
  return m;
}

bool keyword_applies(const std::string& owner, const std::string& type) {
  return owner == type || (owner == "number" && type == "integer");
}

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

const std::set<std::string>& annotation_keywords() {
  static const std::set<std::string> s = {"$schema", "$id", "$comment", "title", "description", "default",
                                          "examples", "readOnly", "writeOnly", "deprecated", "$anchor",
                                          "contentEncoding", "contentMediaType"};
  return s;
}

std::string gbnf_literal(std::string_view bytes) {
  std::string out = "\"";
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (u < 0x20 || u == 0x7F) out += fmt::format("\\x{:02X}", u);
    else out += c;
  }
  return out + "\"";
}

std::string sanitize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out += c;
    else out += '-';
  }
  if (out.empty()) out = "r";
  if (out.size() > 40) out.resize(40);
  return out;
}

// ---- integer ranges as grammar ----

// All decimal strings of length d with value in [x, y] (both d digits, no sign).
std::string digits_range(const std::string& x, const std::string& y) {
  const size_t d = x.size();
  if (d == 0) return "";
  if (d == 1) return x == y ? gbnf_literal(x) : fmt::format("[{}-{}]", x[0], y[0]);
  if (x[0] == y[0]) return gbnf_literal(x.substr(0, 1)) + " " + digits_range(x.substr(1), y.substr(1));
  const std::string zeros(d - 1, '0'), nines(d - 1, '9');
  if (x.substr(1) == zeros && y.substr(1) == nines)
    return fmt::format("[{}-{}] [0-9]{{{}}}", x[0], y[0], d - 1);
  std::vector<std::string> alts;
  alts.push_back(gbnf_literal(x.substr(0, 1)) + " " + digits_range(x.substr(1), nines));
  if (x[0] + 1 <= y[0] - 1) alts.push_back(fmt::format("[{}-{}] [0-9]{{{}}}", static_cast<char>(x[0] + 1), static_cast<char>(y[0] - 1), d - 1));
  alts.push_back(gbnf_literal(y.substr(0, 1)) + " " + digits_range(zeros, y.substr(1)));
  std::string out = "(";
  for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
  return out + ")";
}

uint64_t pow10(size_t d) {
  uint64_t v = 1;
  for (size_t i = 0; i < d; ++i) v *= 10;
  return v;
}

// Non-negative integers in [a, b] (b may be UINT64_MAX: unbounded, capped at 16 digits).
std::string nonneg_range(uint64_t a, uint64_t b) {
  std::vector<std::string> alts;
  const size_t da = std::to_string(a).size();
  const size_t kMaxDigits = 16;
  const bool unbounded = b == UINT64_MAX;
  const size_t db = unbounded ? std::max(da, kMaxDigits) : std::to_string(b).size();
  for (size_t d = da; d <= db; ++d) {
    const uint64_t lo = std::max<uint64_t>(a, d == 1 ? 0 : pow10(d - 1));
    const uint64_t hi = unbounded ? pow10(d) - 1 : std::min<uint64_t>(b, pow10(d) - 1);
    if (lo > hi) continue;
    if (unbounded && d > da) {
      alts.push_back(fmt::format("[1-9] [0-9]{{{},{}}}", da, kMaxDigits - 1));
      break;
    }
    alts.push_back(digits_range(std::to_string(lo), std::to_string(hi)));
  }
  if (alts.empty()) return "";
  if (alts.size() == 1) return alts[0];
  std::string out = "(";
  for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
  return out + ")";
}

// Integers in [lo, hi]; nullopt bounds are open. Empty string: no integer fits.
std::string int_range(std::optional<int64_t> lo, std::optional<int64_t> hi) {
  std::vector<std::string> alts;
  // Negative part: "-" then magnitudes in [max(1, -hi), -lo].
  if (!lo || *lo < 0) {
    const uint64_t mag_lo = hi && *hi < 0 ? static_cast<uint64_t>(-*hi) : 1;
    const uint64_t mag_hi = lo ? static_cast<uint64_t>(-*lo) : UINT64_MAX;
    if (mag_lo <= mag_hi) {
      std::string r = nonneg_range(mag_lo, mag_hi);
      if (!r.empty()) alts.push_back("\"-\" " + r);
    }
  }
  if (!hi || *hi >= 0) {
    const uint64_t a = lo && *lo > 0 ? static_cast<uint64_t>(*lo) : 0;
    const uint64_t b = hi ? static_cast<uint64_t>(*hi) : UINT64_MAX;
    if (a <= b) {
      std::string r = nonneg_range(a, b);
      if (!r.empty()) alts.push_back(r);
    }
  }
  if (alts.empty()) return "";
  if (alts.size() == 1) return alts[0];
  return "(" + alts[0] + " | " + alts[1] + ")";
}

class Converter {
 public:
  Converter(const OJson& root, const SchemaLimits& lim) : root_(root), lim_(lim) {}

  Result<std::string> run() {
    auto r = visit(root_, "root", 0);
    if (!r.ok()) return r.error();
    std::string out = "root ::= " + *r + "\n";
    for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
    for (const std::string& b : builtins_) out += b + "\n";
    return out;
  }

 private:
  void need(const char* rule) {
    if (std::find(builtins_.begin(), builtins_.end(), rule) == builtins_.end()) builtins_.push_back(rule);
  }
  void need_value() {
    need(kSpace); need(kChar); need(kString); need(kNumber); need(kBool); need(kNull);
    need(kValue); need(kObject); need(kArray);
  }
  std::string add_rule(const std::string& base, const std::string& body) {
    std::string name = sanitize(base);
    if (name == "root" || name == "space" || name == "char" || name == "value" || name == "object" ||
        name == "array" || name == "string" || name == "number" || name == "integer" || name == "boolean" ||
        name == "null" || rules_.count(name)) {
      for (int i = 1;; ++i) {
        std::string n = fmt::format("{}-{}", name, i);
        if (!rules_.count(n)) { name = n; break; }
      }
    }
    rules_[name] = body;
    return name;
  }

  Result<const OJson*> resolve(const std::string& ref) {
    if (ref.empty() || ref[0] != '#') return make_error("schema: only local $ref (\"#...\") is supported, not \"{}\"", ref);
    const OJson* cur = &root_;
    if (ref.size() > 1) {
      if (ref[1] != '/') return make_error("schema: unsupported $ref \"{}\"", ref);
      size_t pos = 2;
      while (pos <= ref.size()) {
        size_t next = ref.find('/', pos);
        if (next == std::string::npos) next = ref.size();
        std::string tok = ref.substr(pos, next - pos);
        for (size_t k; (k = tok.find("~1")) != std::string::npos;) tok.replace(k, 2, "/");
        for (size_t k; (k = tok.find("~0")) != std::string::npos;) tok.replace(k, 2, "~");
        if (cur->is_object() && cur->contains(tok)) cur = &(*cur)[tok];
        else if (cur->is_array() && !tok.empty() && tok.size() < 10 && tok.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoull(tok) < cur->size())
          cur = &(*cur)[std::stoull(tok)];
        else return make_error("schema: $ref \"{}\" does not resolve", ref);
        pos = next + 1;
      }
    }
    return cur;
  }

  Status check_keywords(const OJson& s) {
    static const std::set<std::string> supported = {
        "type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems",
        "maxItems", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "minLength",
        "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "nullable"};
    for (const auto& [k, v] : s.items()) {
      if (supported.count(k) || annotation_keywords().count(k)) continue;
      return make_error("schema: unsupported keyword \"{}\"", k);
    }
    return {};
  }

  Result<uint32_t> get_count(const OJson& s, const char* key, uint32_t def) {
    if (!s.contains(key)) return def;
    const OJson& v = s[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0) return make_error("schema: \"{}\" must be a non-negative integer", key);
    if (v.get<int64_t>() > lim_.max_count)
      return make_error("schema: \"{}\" of {} is larger than the supported {}", key, v.get<int64_t>(), lim_.max_count);
    return static_cast<uint32_t>(v.get<int64_t>());
  }

  // Returns a GBNF expression (usually a rule name) for the schema.
  Result<std::string> visit(const OJson& s, const std::string& name, uint32_t depth) {
    if (++n_nodes_ > lim_.max_nodes) return make_error("schema too large: more than {} subschemas", lim_.max_nodes);
    if (depth > lim_.max_depth) return make_error("schema nested deeper than {}", lim_.max_depth);
    if (s.is_boolean()) {
      if (!s.get<bool>()) return make_error("schema: `false` accepts nothing");
      need_value();
      return std::string("value");
    }
    if (!s.is_object()) return make_error("schema: a schema must be an object or a boolean (at {})", name);
    CORRAL_TRY(check_keywords(s));

    if (s.contains("$ref")) {
      for (const auto& [k, v] : s.items())
        if (k != "$ref" && k != "$defs" && k != "definitions" && !annotation_keywords().count(k))
          return make_error("schema: \"{}\" next to \"$ref\" is unsupported", k);
      if (!s["$ref"].is_string()) return make_error("schema: \"$ref\" must be a string");
      const std::string ref = s["$ref"].get<std::string>();
      auto it = refs_.find(ref);
      if (it != refs_.end()) return it->second;
      auto target = resolve(ref);
      if (!target.ok()) return target.error();
      std::string base = ref.substr(ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/') + 1);
      const std::string rule = add_rule("ref-" + base, "");  // reserved first: refs may recurse
      refs_[ref] = rule;
      auto body = visit(**target, rule, depth + 1);
      if (!body.ok()) return body.error();
      rules_[rule] = *body;
      return rule;
    }

    // nullable / type arrays: alternatives over the types with the same keywords.
    if (s.contains("nullable") && s["nullable"].is_boolean() && s["nullable"].get<bool>()) {
      OJson copy = s;
      copy.erase("nullable");
      auto inner = visit(copy, name, depth + 1);
      if (!inner.ok()) return inner.error();
      need(kSpace); need(kNull);
      return add_rule(name, *inner + " | null");
    }
    if (s.contains("type") && s["type"].is_array()) {
      if (s["type"].empty()) return make_error("schema: empty \"type\" array");
      std::string body;
      for (const auto& t : s["type"]) {
        OJson copy = s;
        copy["type"] = t;
        if (t.is_string())  // keywords of the other listed types do not apply to this one
          for (const auto& [k, owner] : keyword_owner())
            if (!keyword_applies(owner, t.get<std::string>())) copy.erase(k);
        auto inner = visit(copy, name + "-" + (t.is_string() ? t.get<std::string>() : "t"), depth + 1);
        if (!inner.ok()) return inner.error();
        body += (body.empty() ? "" : " | ") + *inner;
      }
      return add_rule(name, body);
    }

    for (const char* comb : {"anyOf", "oneOf"}) {
      if (!s.contains(comb)) continue;
      for (const auto& [k, v] : s.items())
        if (k != comb && k != "$defs" && k != "definitions" && !annotation_keywords().count(k))
          return make_error("schema: \"{}\" next to \"{}\" is unsupported", k, comb);
      if (!s[comb].is_array() || s[comb].empty()) return make_error("schema: \"{}\" must be a non-empty array", comb);
      std::string body;
      size_t i = 0;
      for (const auto& sub : s[comb]) {
        auto inner = visit(sub, fmt::format("{}-{}", name, i++), depth + 1);
        if (!inner.ok()) return inner.error();
        body += (body.empty() ? "" : " | ") + *inner;
      }
      return add_rule(name, body);
    }
    if (s.contains("allOf")) return visit_all_of(s, name, depth);

    if (s.contains("const")) {
      need(kSpace);
      return add_rule(name, gbnf_literal(dump(s["const"])) + " space");
    }
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty()) return make_error("schema: \"enum\" must be a non-empty array");
      need(kSpace);
      std::string body = "(";
      bool first = true;
      for (const auto& v : s["enum"]) {
        body += (first ? "" : " | ") + gbnf_literal(dump(v));
        first = false;
      }
      return add_rule(name, body + ") space");
    }

    std::string type;
    if (s.contains("type")) {
      if (!s["type"].is_string()) return make_error("schema: \"type\" must be a string or an array");
      type = s["type"].get<std::string>();
    } else if (s.contains("properties") || s.contains("additionalProperties")) {
      type = "object";
    } else if (s.contains("items") || s.contains("prefixItems") || s.contains("minItems") || s.contains("maxItems")) {
      type = "array";
    } else if (s.contains("pattern") || s.contains("format") || s.contains("minLength") || s.contains("maxLength")) {
      type = "string";
    } else if (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") || s.contains("exclusiveMaximum")) {
      type = "number";
    } else {
      need_value();
      return std::string("value");
    }
    // Keywords of another type would be ignored: refuse them instead.
    for (const auto& [k, v] : s.items()) {
      auto it = keyword_owner().find(k);
      if (it == keyword_owner().end()) continue;
      if (!keyword_applies(it->second, type)) return make_error("schema: \"{}\" does not apply to type \"{}\"", k, type);
    }
    if (type == "object") return visit_object(s, name, depth);
    if (type == "array") return visit_array(s, name, depth);
    if (type == "string") return visit_string(s, name);
    if (type == "integer" || type == "number") return visit_number(s, name, type == "integer");
    if (type == "boolean") { need(kSpace); need(kBool); return std::string("boolean"); }
    if (type == "null") { need(kSpace); need(kNull); return std::string("null"); }
    return make_error("schema: unknown type \"{}\"", type);
  }

  Result<std::string> visit_all_of(const OJson& s, const std::string& name, uint32_t depth) {
    if (!s["allOf"].is_array() || s["allOf"].empty()) return make_error("schema: \"allOf\" must be a non-empty array");
    // Merge object schemas: properties and required add up; other keywords must not conflict.
    OJson merged = OJson::object();
    for (const auto& [k, v] : s.items())
      if (k != "allOf") merged[k] = v;
    for (const auto& part0 : s["allOf"]) {
      const OJson* part = &part0;
      for (int hops = 0; part->is_object() && part->contains("$ref"); ++hops) {
        if (hops > 32) return make_error("schema: $ref chain too long");
        auto t = resolve((*part)["$ref"].get<std::string>());
        if (!t.ok()) return t.error();
        part = *t;
      }
      if (!part->is_object()) return make_error("schema: \"allOf\" members must be schemas");
      for (const auto& [k, v] : part->items()) {
        if (annotation_keywords().count(k)) continue;
        if (k == "properties") {
          if (!merged.contains("properties")) merged["properties"] = OJson::object();
          for (const auto& [pk, pv] : v.items()) {
            if (merged["properties"].contains(pk)) return make_error("schema: property \"{}\" appears in two \"allOf\" members", pk);
            merged["properties"][pk] = pv;
          }
        } else if (k == "required") {
          if (!merged.contains("required")) merged["required"] = OJson::array();
          for (const auto& r : v) merged["required"].push_back(r);
        } else if (merged.contains(k) && merged[k] != v) {
          return make_error("schema: \"allOf\" members disagree on \"{}\"", k);
        } else {
          merged[k] = v;
        }
      }
    }
    if (merged.contains("allOf")) return make_error("schema: nested \"allOf\" is unsupported");
    return visit(merged, name, depth + 1);
  }

  Result<std::string> visit_object(const OJson& s, const std::string& name, uint32_t depth) {
    need(kSpace);
    std::vector<std::pair<std::string, std::string>> props;  // key, value expr
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) return make_error("schema: \"required\" must be an array");
      for (const auto& r : s["required"]) {
        if (!r.is_string()) return make_error("schema: \"required\" must list strings");
        required.insert(r.get<std::string>());
      }
    }
    if (s.contains("properties")) {
      if (!s["properties"].is_object()) return make_error("schema: \"properties\" must be an object");
      for (const auto& [k, v] : s["properties"].items()) {
        auto expr = visit(v, name + "-" + k, depth + 1);
        if (!expr.ok()) return expr.error();
        props.emplace_back(k, *expr);
      }
    }
    for (const std::string& r : required) {
      bool found = false;
      for (const auto& p : props) found |= p.first == r;
      if (!found) return make_error("schema: required property \"{}\" is not in \"properties\"", r);
    }
    // Extra keys: llama.cpp's rule, absent means none when properties exist.
    std::string extra;  // value expression, empty when no extra keys
    if (s.contains("additionalProperties")) {
      const OJson& ap = s["additionalProperties"];
      if (!(ap.is_boolean() && !ap.get<bool>())) {
        auto expr = visit(ap, name + "-additional", depth + 1);
        if (!expr.ok()) return expr.error();
        extra = *expr;
      }
    } else if (!s.contains("properties")) {
      need_value();
      extra = "value";
    }
    std::string extra_kv;
    if (!extra.empty()) {
      need(kChar);
      std::vector<std::string> keys;
      for (const auto& p : props) keys.push_back(p.first);
      const std::string key = other_key_rule(name, keys);
      extra_kv = add_rule(name + "-extra-kv", key + " \":\" space " + extra);
    }
    // F_i: the rest from property i, nothing written yet; T_i: something written (commas first).
    const size_t n = props.size();
    std::vector<std::string> kv(n);
    for (size_t i = 0; i < n; ++i)
      kv[i] = gbnf_literal(dump(OJson(props[i].first))) + " space \":\" space " + props[i].second;
    std::string t_next = extra_kv.empty() ? "" : fmt::format("(\",\" space {})*", extra_kv);
    std::string f_next = extra_kv.empty() ? "" : fmt::format("({} (\",\" space {})*)?", extra_kv, extra_kv);
    std::string t_rule = t_next.empty() ? "" : add_rule(name + "-t", t_next);
    std::string f_rule = f_next.empty() ? "" : add_rule(name + "-f", f_next);
    for (size_t i = n; i-- > 0;) {
      const bool req = required.count(props[i].first) > 0;
      std::string t_body = req ? "\",\" space " + kv[i] + " " + t_rule
                               : "(\",\" space " + kv[i] + ")? " + t_rule;
      std::string f_body = req ? kv[i] + " " + t_rule
                               : kv[i] + " " + t_rule + " | " + (f_rule.empty() ? "\"\"" : f_rule);
      t_rule = add_rule(fmt::format("{}-t{}", name, i), t_body);
      f_rule = add_rule(fmt::format("{}-f{}", name, i), f_body);
    }
    return add_rule(name, "\"{\" space " + (f_rule.empty() ? "" : f_rule + " ") + "\"}\" space");
  }

  // A JSON key that is not one of `keys`: a trie of the keys where every node may leave it by a
  // different character (then anything), or end if no key ends there. Unescaped characters only,
  // so no escape sequence can spell a declared key.
  std::string other_key_rule(const std::string& name, const std::vector<std::string>& keys) {
    const std::string any = add_rule(name + "-kc", R"([^"\\\x00-\x1F])");
    std::function<std::string(const std::string&)> node = [&](const std::string& prefix) -> std::string {
      std::set<std::string> next_chars;  // whole UTF-8 characters that continue a key
      bool is_key = false;
      for (const auto& k : keys) {
        if (k.size() < prefix.size() || k.compare(0, prefix.size(), prefix) != 0) continue;
        if (k.size() == prefix.size()) { is_key = true; continue; }
        uint32_t cp = 0;
        size_t len = decode_utf8(k, prefix.size(), &cp);
        if (len == 0) len = 1;
        next_chars.insert(k.substr(prefix.size(), len));
      }
      std::vector<std::string> alts;
      if (!is_key) alts.push_back("\"\"");
      std::string excl;
      for (const auto& c : next_chars) {
        alts.push_back(gbnf_literal(c) + " " + node(prefix + c));
        uint32_t cp = 0;
        if (decode_utf8(c, 0, &cp) == 0) continue;
        if (cp == ']' || cp == '\\' || cp == '-' || cp == '^') excl += '\\';
        if (cp < 0x20) excl += fmt::format("\\x{:02X}", cp); else excl += c;
      }
      alts.push_back(fmt::format("[^\"\\\\\\x00-\\x1F{}] {}*", excl, any));
      std::string body;
      for (size_t i = 0; i < alts.size(); ++i) body += (i ? " | " : "") + alts[i];
      return add_rule(name + "-k", body);
    };
    const std::string inner = node("");
    return add_rule(name + "-key", "\"\\\"\" " + inner + " \"\\\"\" space");
  }

  Result<std::string> visit_array(const OJson& s, const std::string& name, uint32_t depth) {
    need(kSpace);
    auto min_items = get_count(s, "minItems", 0);
    if (!min_items.ok()) return min_items.error();
    auto max_items = get_count(s, "maxItems", UINT32_MAX);
    if (!max_items.ok()) return max_items.error();
    const uint32_t lo = *min_items, hi = *max_items;
    if (lo > hi) return make_error("schema: minItems {} > maxItems {}", lo, hi);
    std::vector<std::string> tuple;
    if (s.contains("prefixItems")) {
      if (!s["prefixItems"].is_array()) return make_error("schema: \"prefixItems\" must be an array");
      size_t i = 0;
      for (const auto& sub : s["prefixItems"]) {
        auto e = visit(sub, fmt::format("{}-{}", name, i++), depth + 1);
        if (!e.ok()) return e.error();
        tuple.push_back(*e);
      }
    }
    std::string item;  // empty: no items after the tuple
    if (s.contains("items")) {
      const OJson& it = s["items"];
      if (!(it.is_boolean() && !it.get<bool>())) {
        auto e = visit(it, name + "-item", depth + 1);
        if (!e.ok()) return e.error();
        item = *e;
      }
    } else {
      need_value();
      item = "value";
    }
    const auto k = static_cast<uint32_t>(tuple.size());
    if (k > hi) return make_error("schema: {} prefixItems but maxItems {}", k, hi);
    if (item.empty() && lo > k) return make_error("schema: minItems {} needs more than the {} prefixItems", lo, k);
    // The tuple is always written in full (a subset of the valid arrays when minItems < its size).
    std::string body = "\"[\" space";
    for (uint32_t i = 0; i < k; ++i) body += (i ? " \",\" space " : " ") + tuple[i];
    if (!item.empty()) {
      const uint32_t extra_lo = lo > k ? lo - k : 0;
      const bool unbounded = hi == UINT32_MAX;
      const uint32_t extra_hi = unbounded ? 0 : hi - k;
      const std::string reps = unbounded ? fmt::format("{{{},}}", extra_lo) : fmt::format("{{{},{}}}", extra_lo, extra_hi);
      if (k > 0) {
        if (unbounded || extra_hi > 0) body += fmt::format(" (\",\" space {}){}", item, reps);
      } else if (unbounded || extra_hi > 0) {
        const std::string rest = unbounded ? fmt::format("{{{},}}", extra_lo > 0 ? extra_lo - 1 : 0)
                                           : fmt::format("{{{},{}}}", extra_lo > 0 ? extra_lo - 1 : 0, extra_hi - 1);
        std::string seq = fmt::format("{} (\",\" space {}){}", item, item, rest);
        body += extra_lo > 0 ? " " + seq : " (" + seq + ")?";
      }
    }
    return add_rule(name, body + " \"]\" space");
  }

  Result<std::string> visit_string(const OJson& s, const std::string& name) {
    need(kSpace);
    const bool has_len = s.contains("minLength") || s.contains("maxLength");
    if (s.contains("format")) {
      if (!s["format"].is_string()) return make_error("schema: \"format\" must be a string");
      const std::string f = s["format"].get<std::string>();
      if (s.contains("pattern") || has_len) return make_error("schema: \"format\" together with \"pattern\" or lengths is unsupported");
      if (f == "date-time") {
        const std::string d = add_rule("date", format_rules().at("date"));
        const std::string t = add_rule("time", format_rules().at("time"));
        return add_rule(name, "\"\\\"\" " + d + " \"T\" " + t + " \"\\\"\" space");
      }
      auto it = format_rules().find(f);
      if (it == format_rules().end()) return make_error("schema: unsupported string format \"{}\"", f);
      const std::string r = add_rule(f, it->second);
      return add_rule(name, "\"\\\"\" " + r + " \"\\\"\" space");
    }
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) return make_error("schema: \"pattern\" must be a string");
      if (has_len) return make_error("schema: \"pattern\" together with \"minLength\"/\"maxLength\" is unsupported");
      auto expr = regex_to_gbnf(s["pattern"].get<std::string>(), lim_.max_count);
      if (!expr.ok()) return make_error("schema: pattern: {}", expr.error().message);
      return add_rule(name, "\"\\\"\" " + *expr + " \"\\\"\" space");
    }
    need(kChar);
    if (!has_len) {
      need(kString);
      return std::string("string");
    }
    auto lo = get_count(s, "minLength", 0);
    if (!lo.ok()) return lo.error();
    auto hi = get_count(s, "maxLength", UINT32_MAX);
    if (!hi.ok()) return hi.error();
    if (*lo > *hi) return make_error("schema: minLength {} > maxLength {}", *lo, *hi);
    const std::string reps = *hi == UINT32_MAX ? fmt::format("{{{},}}", *lo) : fmt::format("{{{},{}}}", *lo, *hi);
    return add_rule(name, "\"\\\"\" char" + reps + " \"\\\"\" space");
  }

  Result<std::optional<double>> bound(const OJson& s, const char* key) {
    if (!s.contains(key)) return std::optional<double>{};
    const OJson& v = s[key];
    if (!v.is_number()) return make_error("schema: \"{}\" must be a number", key);
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 1e15) return make_error("schema: \"{}\" of {} is beyond the supported range (1e15)", key, d);
    return std::optional<double>(d);
  }

  Result<std::string> visit_number(const OJson& s, const std::string& name, bool integer) {
    need(kSpace);
    auto mn = bound(s, "minimum");
    if (!mn.ok()) return mn.error();
    auto mx = bound(s, "maximum");
    if (!mx.ok()) return mx.error();
    std::optional<double> xmn, xmx;
    // Draft 4 wrote exclusiveMinimum: true next to minimum.
    if (s.contains("exclusiveMinimum") && s["exclusiveMinimum"].is_boolean()) {
      if (s["exclusiveMinimum"].get<bool>()) { xmn = *mn; mn->reset(); }
    } else {
      auto b = bound(s, "exclusiveMinimum");
      if (!b.ok()) return b.error();
      xmn = *b;
    }
    if (s.contains("exclusiveMaximum") && s["exclusiveMaximum"].is_boolean()) {
      if (s["exclusiveMaximum"].get<bool>()) { xmx = *mx; mx->reset(); }
    } else {
      auto b = bound(s, "exclusiveMaximum");
      if (!b.ok()) return b.error();
      xmx = *b;
    }
    if (!*mn && !*mx && !xmn && !xmx) {
      if (integer) { need(kInt); return std::string("integer"); }
      need(kNumber);
      return std::string("number");
    }
    // Integer bounds: the smallest and largest integers inside.
    std::optional<int64_t> ilo, ihi;
    auto tighten_lo = [&](int64_t v) { if (!ilo || v > *ilo) ilo = v; };
    auto tighten_hi = [&](int64_t v) { if (!ihi || v < *ihi) ihi = v; };
    if (*mn) tighten_lo(static_cast<int64_t>(std::ceil(**mn)));
    if (xmn) tighten_lo(static_cast<int64_t>(std::floor(*xmn)) + 1);
    if (*mx) tighten_hi(static_cast<int64_t>(std::floor(**mx)));
    if (xmx) tighten_hi(static_cast<int64_t>(std::ceil(*xmx)) - 1);
    std::vector<std::string> alts;
    const std::string ints = int_range(ilo, ihi);
    if (!ints.empty()) alts.push_back(ints);
    if (!integer) {
      // k.fff with k >= 0 lies in [k, k+1); with k < 0 in (k-1, k].
      const std::string frac = "\".\" [0-9]{1,6}";
      std::optional<int64_t> hi_nonneg;
      if (*mx || xmx) hi_nonneg = static_cast<int64_t>(std::floor(*mx ? **mx : *xmx)) - 1;
      if (*mx && xmx) hi_nonneg = static_cast<int64_t>(std::floor(std::min(**mx, *xmx))) - 1;
      std::optional<int64_t> lo_nonneg = ilo ? std::max<int64_t>(*ilo, 0) : 0;
      if (!hi_nonneg || *hi_nonneg >= *lo_nonneg) {
        const std::string r = int_range(lo_nonneg, hi_nonneg);
        if (!r.empty()) alts.push_back(r + " " + frac);
      }
      std::optional<int64_t> lo_neg;
      if (*mn || xmn) lo_neg = static_cast<int64_t>(std::ceil(std::max(*mn ? **mn : -1e300, xmn ? *xmn : -1e300))) + 1;
      std::optional<int64_t> hi_neg = ihi ? std::min<int64_t>(*ihi, -1) : -1;
      if (!lo_neg || *lo_neg <= *hi_neg) {
        const std::string r = int_range(lo_neg, hi_neg);
        if (!r.empty()) alts.push_back(r + " " + frac);
      }
    }
    if (alts.empty()) return make_error("schema: no {} lies within the bounds", integer ? "integer" : "number");
    std::string body = "(";
    for (size_t i = 0; i < alts.size(); ++i) body += (i ? " | " : "") + alts[i];
    return add_rule(name, body + ") space");
  }

  const OJson& root_;
  SchemaLimits lim_;
  std::map<std::string, std::string> rules_;
  std::vector<std::string> builtins_;
  std::map<std::string, std::string> refs_;
  size_t n_nodes_ = 0;
};

}  // namespace

Result<std::string> json_value_schema_to_gbnf(const OJson& schema, const SchemaLimits& limits) {
  return Converter(schema, limits).run();
}

Result<std::string> json_schema_to_gbnf(std::string_view schema_json, const SchemaLimits& limits) {
  if (schema_json.size() > limits.max_schema_bytes)
    return make_error("schema is {} bytes, more than the limit of {}", schema_json.size(), limits.max_schema_bytes);
  OJson j = OJson::parse(schema_json, nullptr, false);
  if (j.is_discarded()) return make_error("schema is not valid JSON");
  return json_value_schema_to_gbnf(j, limits);
}

Result<Grammar> json_schema_to_grammar(std::string_view schema_json, const SchemaLimits& limits) {
  auto text = json_schema_to_gbnf(schema_json, limits);
  if (!text.ok()) return text.error();
  return parse_gbnf(*text);
}

std::string json_object_gbnf() {
  return fmt::format("root ::= object\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n", kValue, kObject, kArray, kString, kChar,
                     kNumber, kBool, kNull, kSpace);
}

}  // namespace corral::grammar
