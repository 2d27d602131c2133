// The call bodies that are not JSON: Qwen 3.5's XML form and Gemma 4's call:NAME{...} form.
#include <cstdlib>

#include "chat/tool_calls.h"

namespace corral {

namespace {

using OJson = nlohmann::ordered_json;

constexpr int kMaxDepth = 64;  // nesting of Gemma 4 values (the input is model output)

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (char c : name)
    if (is_space(c) || c == '<' || c == '>' || c == '{' || c == '}') return false;
  return true;
}

// The JSON Schema type of parameter `key` of tool `name` in `tools`: "" when unknown. A list
// of types gives its first one other than "null".
std::string param_type(const OJson& tools, std::string_view name, const std::string& key) {
  if (!tools.is_array()) return "";
  for (const auto& t : tools) {
    const OJson& f = t.is_object() && t.contains("function") ? t["function"] : t;
    if (!f.is_object() || !f.contains("name") || f["name"] != name) continue;
    const auto p = f.find("parameters");
    if (p == f.end() || !p->is_object()) return "";
    const auto props = p->find("properties");
    if (props == p->end() || !props->is_object() || !props->contains(key)) return "";
    const OJson& prop = (*props)[key];
    if (!prop.is_object() || !prop.contains("type")) return "";
    const OJson& type = prop["type"];
    if (type.is_string()) return type.get<std::string>();
    if (type.is_array())
      for (const auto& x : type)
        if (x.is_string() && x != "null") return x.get<std::string>();
    return "";
  }
  return "";
}

OJson typed_value(std::string_view text, const std::string& type) {
  if (type == "string") return OJson(std::string(text));
  OJson v = OJson::parse(text, nullptr, false);
  if (v.is_discarded()) return OJson(std::string(text));
  if (type.empty()) return v.is_string() ? OJson(std::string(text)) : v;
  const bool fits = (type == "integer" && v.is_number_integer()) || (type == "number" && v.is_number()) ||
                    (type == "boolean" && v.is_boolean()) || (type == "object" && v.is_object()) ||
                    (type == "array" && v.is_array()) || (type == "null" && v.is_null()) || v.is_null();
  return fits ? v : OJson(std::string(text));
}

// Gemma 4 values: a small recursive reader over the text between the call's braces.
class GemmaReader {
 public:
  explicit GemmaReader(std::string_view s) : s_(s) {}

  bool object(OJson& out, int depth) {  // at '{'
    if (depth > kMaxDepth || !eat('{')) return false;
    out = OJson::object();
    skip_space();
    if (eat('}')) return true;
    for (;;) {
      std::string key;
      skip_space();
      if (at_delim()) {
        if (!string(key)) return false;
      } else {
        const size_t colon = s_.find(':', i_);
        if (colon == std::string_view::npos) return false;
        std::string_view bare = trim(s_.substr(i_, colon - i_));
        if (bare.size() >= 2 && bare.front() == '"' && bare.back() == '"') bare = bare.substr(1, bare.size() - 2);
        key = std::string(bare);
        i_ = colon;
        if (key.empty() || key.find_first_of("{}[],") != std::string::npos) return false;
      }
      skip_space();
      if (!eat(':')) return false;
      OJson v;
      if (!value(v, depth + 1)) return false;
      out[key] = std::move(v);
      skip_space();
      if (eat('}')) return true;
      if (!eat(',')) return false;
    }
  }

  bool done() {
    skip_space();
    return i_ == s_.size();
  }

 private:
  static constexpr std::string_view kDelim = "<|\"|>";

  bool at_delim() const { return s_.substr(i_, kDelim.size()) == kDelim; }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void skip_space() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }
  bool string(std::string& out) {  // at <|"|>
    i_ += kDelim.size();
    const size_t end = s_.find(kDelim, i_);
    if (end == std::string_view::npos) return false;
    out = std::string(s_.substr(i_, end - i_));
    i_ = end + kDelim.size();
    return true;
  }
  bool value(OJson& out, int depth) {
    skip_space();
    if (i_ >= s_.size()) return false;
    if (at_delim()) {
      std::string str;
      if (!string(str)) return false;
      out = std::move(str);
      return true;
    }
    if (s_[i_] == '{') return object(out, depth);
    if (s_[i_] == '[') {
      if (depth > kMaxDepth) return false;
      ++i_;
      out = OJson::array();
      skip_space();
      if (eat(']')) return true;
      for (;;) {
        OJson v;
        if (!value(v, depth + 1)) return false;
        out.push_back(std::move(v));
        skip_space();
        if (eat(']')) return true;
        if (!eat(',')) return false;
      }
    }
    // A bare literal runs to the next separator.
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']') ++i_;
    const std::string_view lit = trim(s_.substr(start, i_ - start));
    if (lit.empty()) return false;
    OJson v = OJson::parse(lit, nullptr, false);
    out = v.is_discarded() || v.is_object() || v.is_array() ? OJson(std::string(lit)) : std::move(v);
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<ToolCall> parse_qwen_xml_call(std::string_view body, const OJson& tools) {
  static constexpr std::string_view kFunction = "<function=", kFunctionEnd = "</function>";
  static constexpr std::string_view kParam = "<parameter=", kParamEnd = "</parameter>";
  body = trim(body);
  if (body.substr(0, kFunction.size()) != kFunction) return std::nullopt;
  body.remove_prefix(kFunction.size());
  const size_t gt = body.find('>');
  if (gt == std::string_view::npos) return std::nullopt;
  ToolCall call;
  call.name = std::string(trim(body.substr(0, gt)));
  if (!valid_name(call.name)) return std::nullopt;
  body.remove_prefix(gt + 1);
  for (;;) {
    body = trim(body);
    if (body.empty()) return call;  // </function> left out: the parameters are all closed
    if (body.substr(0, kFunctionEnd.size()) == kFunctionEnd) {
      return trim(body.substr(kFunctionEnd.size())).empty() ? std::optional<ToolCall>(std::move(call)) : std::nullopt;
    }
    if (body.substr(0, kParam.size()) != kParam) return std::nullopt;
    body.remove_prefix(kParam.size());
    const size_t key_end = body.find('>');
    if (key_end == std::string_view::npos) return std::nullopt;
    const std::string key(trim(body.substr(0, key_end)));
    if (!valid_name(key)) return std::nullopt;
    body.remove_prefix(key_end + 1);
    const size_t end = body.find(kParamEnd);
    if (end == std::string_view::npos) return std::nullopt;
    // The template writes "\n" + value + "\n" between the tags: one newline on each side is
    // the format's, the rest is the value's.
    std::string_view value = body.substr(0, end);
    if (!value.empty() && value.front() == '\n') value.remove_prefix(1);
    if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
    call.arguments[key] = typed_value(value, param_type(tools, call.name, key));
    body.remove_prefix(end + kParamEnd.size());
  }
}

std::optional<ToolCall> parse_gemma4_call(std::string_view body) {
  static constexpr std::string_view kCall = "call:";
  body = trim(body);
  if (body.substr(0, kCall.size()) != kCall) return std::nullopt;
  body.remove_prefix(kCall.size());
  const size_t brace = body.find('{');
  if (brace == std::string_view::npos) return std::nullopt;
  ToolCall call;
  call.name = std::string(trim(body.substr(0, brace)));
  if (!valid_name(call.name)) return std::nullopt;
  GemmaReader r(body.substr(brace));
  if (!r.object(call.arguments, 0) || !r.done()) return std::nullopt;
  return call;
}

size_t gemma4_close_position(std::string_view s) {
  static constexpr std::string_view kDelim = "<|\"|>", kClose = "<tool_call|>";
  bool in_string = false;
  for (size_t i = 0; i < s.size();) {
    if (s.substr(i, kDelim.size()) == kDelim) {
      in_string = !in_string;
      i += kDelim.size();
    } else if (!in_string && s.substr(i, kClose.size()) == kClose) {
      return i;
    } else {
      ++i;
    }
  }
  return std::string_view::npos;
}

}  // namespace corral
