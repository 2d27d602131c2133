// Jinja values: construction from JSON, truthiness, Python str()/repr(), equality, json.dumps.
#include "chat/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace corral::jinja {

const Value* CallArgs::get(size_t index, const char* name) const {
  if (index < pos.size()) return &pos[index];
  if (name)
    for (const auto& [k, v] : kw)
      if (k == name) return &v;
  return nullptr;
}

Value* Dict::find(const std::string& key) {
  for (auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

const Value* Dict::find(const std::string& key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::set(const std::string& key, Value v) {
  if (Value* p = find(key)) *p = std::move(v);
  else items.emplace_back(key, std::move(v));
}

Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.s_ = std::make_shared<const std::string>(std::move(s));
  return v;
}

Value Value::list(std::vector<Value> items, bool tuple) {
  Value v;
  v.kind_ = Kind::kList;
  v.tuple_ = tuple;
  v.list_ = std::make_shared<std::vector<Value>>(std::move(items));
  return v;
}

Value Value::dict(std::shared_ptr<Dict> d, bool ns) {
  Value v;
  v.kind_ = Kind::kDict;
  v.namespace_ = ns;
  v.dict_ = d ? std::move(d) : std::make_shared<Dict>();
  return v;
}

Value Value::function(NativeFn fn, std::string name) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.fn_ = std::make_shared<NativeFn>(std::move(fn));
  v.s_ = std::make_shared<const std::string>(std::move(name));
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return number(static_cast<double>(u));
      return integer(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return number(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> out;
      out.reserve(j.size());
      for (const auto& e : j) out.push_back(from_json(e));
      return list(std::move(out));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto d = std::make_shared<Dict>();
      for (auto it = j.begin(); it != j.end(); ++it) d->set(it.key(), from_json(it.value()));
      return dict(std::move(d));
    }
    default: return Value();
  }
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool:
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return f_ != 0.0;
    case Kind::kString: return !s_->empty();
    case Kind::kList: return !list_->empty();
    case Kind::kDict: return namespace_ || !dict_->items.empty();
    case Kind::kFunction: return true;
  }
  return false;
}

std::string float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  if (f == 0.0) return std::signbit(f) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  const auto e = s.find('e');
  std::string mant = s.substr(0, e);
  const int exp10 = std::stoi(s.substr(e + 1));
  const bool neg = mant[0] == '-';
  if (neg) mant = mant.substr(1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (exp10 < -4 || exp10 >= 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += 'e';
    out += exp10 < 0 ? '-' : '+';
    const int a = std::abs(exp10);
    out += (a < 10 ? "0" : "") + std::to_string(a);
  } else {
    const int nd = static_cast<int>(digits.size());
    const int dp = exp10 + 1;
    if (dp <= 0) {
      out = "0." + std::string(static_cast<size_t>(-dp), '0') + digits;
    } else if (dp >= nd) {
      out = digits + std::string(static_cast<size_t>(dp - nd), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<size_t>(dp)) + "." + digits.substr(static_cast<size_t>(dp));
    }
  }
  return (neg ? "-" : "") + out;
}

namespace {

std::string py_str_repr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char q = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, q);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == q || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (ch == '\n') out += "\\n";
    else if (ch == '\r') out += "\\r";
    else if (ch == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
    else out += ch;
  }
  out += q;
  return out;
}

}  // namespace

WorkMeter& work_meter() {
  thread_local WorkMeter meter;
  return meter;
}

std::string Value::repr() const {
  WorkMeter& meter = work_meter();
  switch (kind_) {
    case Kind::kString:
      if (!meter.add(s_->size())) return std::string();  // the render fails: skip the copy
      return py_str_repr(*s_);
    case Kind::kList: {
      std::string out = tuple_ ? "(" : "[";
      for (size_t k = 0; k < list_->size(); ++k) {
        // Elements may share one large value: stop once the render's work is spent.
        if (!meter.add(8)) return out;
        if (k) out += ", ";
        out += (*list_)[k].repr();
        if (meter.exceeded()) return out;
      }
      if (tuple_ && list_->size() == 1) out += ",";
      out += tuple_ ? ")" : "]";
      return out;
    }
    case Kind::kDict: {
      if (namespace_) return "<Namespace " + Value::dict(dict_).repr() + ">";
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : dict_->items) {
        if (!meter.add(8 + k.size())) return out;
        if (!first) out += ", ";
        first = false;
        out += py_str_repr(k) + ": " + v.repr();
      }
      return out + "}";
    }
    default: return to_str();
  }
}

std::string Value::to_str() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return i_ ? "True" : "False";
    case Kind::kInt: return std::to_string(i_);
    case Kind::kFloat: return float_repr(f_);
    case Kind::kString: return *s_;
    case Kind::kList:
    case Kind::kDict: return repr();
    case Kind::kFunction: return "<function " + *s_ + ">";
  }
  return "";
}

bool Value::equals(const Value& o) const {
  if (is_number() || is_bool()) {
    if (!(o.is_number() || o.is_bool())) return false;
    if (is_float() || o.is_float()) return as_double() == o.as_double();
    return i_ == o.i_;
  }
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    // Like Python, an object equals itself without a look inside (lists compare elements by
    // identity first), so shared values compare in constant time.
    case Kind::kString:
      if (s_ == o.s_) return true;
      work_meter().add(std::min(s_->size(), o.s_->size()));
      return *s_ == *o.s_;
    case Kind::kList: {
      if (list_ == o.list_) return true;
      if (list_->size() != o.list_->size()) return false;
      for (size_t k = 0; k < list_->size(); ++k) {
        // Deep equality of shared elements can be exponential: the render's meter bounds it.
        if (!work_meter().add(8)) return false;
        if (!(*list_)[k].equals((*o.list_)[k])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      if (dict_ == o.dict_) return true;
      if (namespace_ || o.namespace_) return false;
      if (dict_->items.size() != o.dict_->items.size()) return false;
      for (const auto& [k, v] : dict_->items) {
        if (!work_meter().add(8 + k.size())) return false;
        const Value* ov = o.dict_->find(k);
        if (!ov || !v.equals(*ov)) return false;
      }
      return true;
    }
    case Kind::kFunction: return fn_ == o.fn_;
    default: return false;
  }
}

const void* Value::identity() const {
  switch (kind_) {
    case Kind::kList: return list_.get();
    case Kind::kDict: return dict_.get();
    case Kind::kFunction: return fn_.get();
    default: return nullptr;
  }
}

std::string Value::type_name() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return tuple_ ? "tuple" : "list";
    case Kind::kDict: return namespace_ ? "Namespace" : "dict";
    case Kind::kFunction: return "function";
  }
  return "?";
}

namespace {

// Bytes of the character starting at s[i].
size_t utf8_char_size(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (c >= 0x80 && c < 0xC0) n = 1;  // stray continuation byte: one "character"
  return std::min(n, s.size() - i);
}

}  // namespace

std::vector<std::string> utf8_chars(const std::string& s) {
  // One small string per character: charged above its bytes (an allocation each).
  work_meter().add(s.size() * 16);
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_char_size(s, i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

size_t utf8_length(const std::string& s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); i += utf8_char_size(s, i)) ++count;
  return count;
}

namespace {

void json_escape(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20 || (ensure_ascii && c == 0x7F)) {
      out += fmt::format("\\u{:04x}", c);
      continue;
    }
    if (c >= 0x80 && ensure_ascii) {
      size_t n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      if (i + n > s.size()) n = s.size() - i;
      uint32_t cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
      for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      i += n - 1;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
      } else {
        out += fmt::format("\\u{:04x}", cp);
      }
      continue;
    }
    out += static_cast<char>(c);
  }
  out += '"';
}

Status dump(const Value& v, const JsonOptions& o, int depth, std::string& out) {
  if (depth > 512) return make_error("tojson: value nested too deeply");
  if (!work_meter().add(v.is_string() ? v.str().size() : 8)) return make_error("tojson: the template's work limit is spent");
  const std::string nl = o.indent >= 0 ? "\n" + std::string(static_cast<size_t>(o.indent * (depth + 1)), ' ') : "";
  const std::string nl_close = o.indent >= 0 ? "\n" + std::string(static_cast<size_t>(o.indent * depth), ' ') : "";
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: out += "null"; return {};
    case Value::Kind::kBool: out += v.as_bool() ? "true" : "false"; return {};
    case Value::Kind::kInt: out += std::to_string(v.as_int()); return {};
    case Value::Kind::kFloat: {
      const double f = v.as_double();
      if (std::isnan(f)) out += "NaN";
      else if (std::isinf(f)) out += f > 0 ? "Infinity" : "-Infinity";
      else out += float_repr(f);
      return {};
    }
    case Value::Kind::kString: json_escape(v.str(), o.ensure_ascii, out); return {};
    case Value::Kind::kList: {
      const auto& items = v.items();
      if (items.empty()) {
        out += "[]";
        return {};
      }
      out += '[';
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += o.item_sep;
        out += nl;
        CORRAL_TRY(dump(items[k], o, depth + 1, out));
      }
      out += nl_close + "]";
      return {};
    }
    case Value::Kind::kDict: {
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.dict_ref().items) items.push_back(&kv);
      if (o.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      if (items.empty()) {
        out += "{}";
        return {};
      }
      out += '{';
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += o.item_sep;
        out += nl;
        json_escape(items[k]->first, o.ensure_ascii, out);
        out += o.key_sep;
        CORRAL_TRY(dump(items[k]->second, o, depth + 1, out));
      }
      out += nl_close + "}";
      return {};
    }
    case Value::Kind::kFunction: return make_error("Object of type function is not JSON serializable");
  }
  return {};
}

}  // namespace

Result<std::string> to_json(const Value& v, const JsonOptions& opts) {
  std::string out;
  auto st = dump(v, opts, 0, out);
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace corral::jinja
