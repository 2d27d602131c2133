// Jinja filters, tests, attribute/item access and operators with Python semantics.
#include "chat/jinja_builtins.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <set>

namespace corral::jinja {
namespace {

// Template integers are 64-bit; Python's are unbounded. A result that does not fit is an error,
// never a wrapped number (and never undefined behaviour).
Error int_overflow(const char* op) {
  return make_error("integer overflow in {}: the result does not fit in 64 bits", op);
}

Result<Value> checked_int(bool overflow, int64_t r, const char* op) {
  if (overflow) return int_overflow(op);
  return Value::integer(r);
}

// b != 0. Only INT64_MIN // -1 overflows (and INT64_MIN % -1 is 0, but traps in C++).
Result<Value> py_floordiv(int64_t a, int64_t b) {
  if (a == INT64_MIN && b == -1) return int_overflow("//");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return Value::integer(q);
}

int64_t py_mod(int64_t a, int64_t b) {
  if (b == -1) return 0;
  int64_t m = a % b;
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

// base ** exp for exp >= 0 by repeated squaring: at most 63 squarings whatever exp is.
Result<Value> int_pow(int64_t base, int64_t exp) {
  int64_t r = 1;
  while (exp > 0) {
    if ((exp & 1) && __builtin_mul_overflow(r, base, &r)) return int_overflow("**");
    exp >>= 1;
    // Squaring past 64 bits while bits remain means the result does too (|base| >= 2 here).
    if (exp > 0 && __builtin_mul_overflow(base, base, &base)) return int_overflow("**");
  }
  return Value::integer(r);
}

// Builds n copies of `seq` (a string or a list), refusing results over the size limits.
Result<Value> repeat(const Value& seq, int64_t n) {
  const size_t count = n <= 0 ? 0 : static_cast<size_t>(n);
  if (seq.is_string()) {
    const size_t unit = seq.str().size();
    if (unit != 0 && count > kMaxValueBytes / unit) return make_error("sequence repetition too large (over {} bytes)", kMaxValueBytes);
    if (!work_meter().add(unit * count)) return make_error("sequence repetition exceeds the template's work limit");
    std::string out;
    out.reserve(unit * count);
    for (size_t k = 0; k < count; ++k) out += seq.str();
    return Value::string(std::move(out));
  }
  const size_t unit = seq.items().size();
  if (unit != 0 && count > kMaxListItems / unit) return make_error("sequence repetition too large (over {} items)", kMaxListItems);
  if (!work_meter().add(8 * unit * count)) return make_error("sequence repetition exceeds the template's work limit");
  std::vector<Value> out;
  out.reserve(unit * count);
  for (size_t k = 0; k < count; ++k) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return Value::list(std::move(out));
}

bool is_numeric(const Value& v) { return v.is_number() || v.is_bool(); }

Result<Value> get_path(const Value& item, const std::string& path) {
  Value cur = item;
  size_t p = 0;
  while (true) {
    size_t dot = path.find('.', p);
    std::string part = path.substr(p, dot == std::string::npos ? std::string::npos : dot - p);
    bool all_digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    Result<Value> next = all_digits && cur.is_list() ? get_item(cur, Value::integer(part.size() > 18 ? INT64_MAX : std::stoll(part))) : get_item(cur, Value::string(part));
    if (!next.ok()) return next.error();
    cur = *next;
    if (dot == std::string::npos) return cur;
    p = dot + 1;
  }
}

Result<std::string> join_values(const std::vector<Value>& items, const std::string& sep) {
  std::string out;
  for (size_t k = 0; k < items.size(); ++k) {
    const std::string text = items[k].to_str();
    if (!work_meter().add(sep.size() + text.size())) return make_error("join exceeds the template's work limit");
    if (k) out += sep;
    out += text;
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Python's int(float): NaN is a ValueError (the filter's default), infinity and values past
// 64 bits are errors here (Python would make a big integer).
Result<Value> float_to_int(double d, const Value& fallback) {
  if (std::isnan(d)) return fallback;
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return int_overflow("int()");
  return Value::integer(static_cast<int64_t>(d));
}

Result<Value> to_int(const Value& v, const Value* dflt) {
  const Value fallback = dflt ? *dflt : Value::integer(0);
  if (v.is_int()) return v;
  if (v.is_bool()) return Value::integer(v.as_bool() ? 1 : 0);
  if (v.is_float()) return float_to_int(v.as_double(), fallback);
  if (v.is_string()) {
    std::string s = strip_chars(v.str(), nullptr, true, true);
    try {
      size_t used = 0;
      long long x = std::stoll(s, &used, 10);
      if (used == s.size()) return Value::integer(x);
      double d = std::stod(s, &used);
      if (used == s.size()) return float_to_int(d, fallback);
    } catch (...) {
    }
    return fallback;
  }
  return fallback;
}

Result<Value> to_float(const Value& v, const Value* dflt) {
  const Value fallback = dflt ? *dflt : Value::number(0.0);
  if (v.is_number() || v.is_bool()) return Value::number(v.as_double());
  if (v.is_string()) {
    try {
      size_t used = 0;
      std::string s = strip_chars(v.str(), nullptr, true, true);
      double d = std::stod(s, &used);
      if (used == s.size()) return Value::number(d);
    } catch (...) {
    }
  }
  return fallback;
}

}  // namespace

std::string utf8_lower(const std::string& s) {
  std::string out = s;
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string utf8_upper(const std::string& s) {
  std::string out = s;
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Result<std::vector<Value>> iterate(const Value& v) {
  if (v.is_list()) return v.items();
  if (v.is_dict()) {
    std::vector<Value> keys;
    for (const auto& kv : v.dict_ref().items) keys.push_back(Value::string(kv.first));
    return keys;
  }
  if (v.is_string()) {
    std::vector<Value> out;
    for (auto& c : utf8_chars(v.str())) out.push_back(Value::string(c));
    return out;
  }
  if (v.is_undefined()) return std::vector<Value>{};
  return make_error("'{}' object is not iterable", v.type_name());
}

Result<Value> get_attr(const Value& obj, const std::string& name) {
  if (obj.is_dict()) {
    if (!obj.is_namespace()) {
      auto m = dict_method(obj, name);
      if (!m.ok() || !m->is_undefined()) return m;
    }
    if (const Value* v = obj.dict_ref().find(name)) return *v;
    return Value();
  }
  if (obj.is_string()) return string_method(obj, name);
  return Value();
}

Result<Value> get_item(const Value& obj, const Value& key) {
  if (obj.is_dict()) {
    if (key.is_string()) {
      if (const Value* v = obj.dict_ref().find(key.str())) return *v;
      if (!obj.is_namespace()) return dict_method(obj, key.str());
    } else if (key.is_int() || key.is_bool()) {
      // JSON objects only have string keys; Python would look up the int key and miss.
    }
    return Value();
  }
  if (obj.is_list() || obj.is_string()) {
    if (key.is_int() || key.is_bool()) {
      int64_t i = key.as_int();
      if (obj.is_list()) {
        const auto n = static_cast<int64_t>(obj.items().size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value();
        return obj.items()[static_cast<size_t>(i)];
      }
      auto chars = utf8_chars(obj.str());
      const auto n = static_cast<int64_t>(chars.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value();
      return Value::string(chars[static_cast<size_t>(i)]);
    }
    if (key.is_string() && obj.is_string()) return string_method(obj, key.str());
    return Value();
  }
  return Value();
}

Result<Value> get_slice(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto as_opt = [](const Value& v, const char* what) -> Result<std::optional<int64_t>> {
    if (v.is_undefined() || v.is_none()) return std::optional<int64_t>{};
    if (v.is_int() || v.is_bool()) return std::optional<int64_t>{v.as_int()};
    return make_error("slice {} must be an integer or None", what);
  };
  auto a = as_opt(start_v, "start");
  auto b = as_opt(stop_v, "stop");
  auto c = as_opt(step_v, "step");
  if (!a.ok()) return a.error();
  if (!b.ok()) return b.error();
  if (!c.ok()) return c.error();
  const int64_t step = c->value_or(1);
  if (step == 0) return make_error("slice step cannot be zero");
  std::vector<Value> src;
  std::vector<std::string> chars;
  int64_t n = 0;
  if (obj.is_list()) n = static_cast<int64_t>(obj.items().size());
  else if (obj.is_string()) { chars = utf8_chars(obj.str()); n = static_cast<int64_t>(chars.size()); }
  else if (obj.is_undefined()) return Value();
  else return make_error("'{}' object is not subscriptable", obj.type_name());
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) -> int64_t {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  const int64_t start = clamp(*a, step > 0 ? 0 : n - 1);
  const int64_t stop = clamp(*b, step > 0 ? n : -1);
  std::vector<Value> out;
  std::string sout;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (obj.is_list()) out.push_back(obj.items()[static_cast<size_t>(i)]);
    else sout += chars[static_cast<size_t>(i)];
  }
  if (obj.is_list()) return Value::list(std::move(out));
  return Value::string(sout);
}

Result<int> compare_values(const Value& a, const Value& b, bool case_sensitive) {
  if (is_numeric(a) && is_numeric(b)) {
    if (a.is_float() || b.is_float()) {
      const double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    if (case_sensitive) return a.str() < b.str() ? -1 : a.str() > b.str() ? 1 : 0;
    const std::string x = utf8_lower(a.str()), y = utf8_lower(b.str());
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_list() && b.is_list()) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t k = 0; k < std::min(x.size(), y.size()); ++k) {
      auto c = compare_values(x[k], y[k], case_sensitive);
      if (!c.ok()) return c;
      if (*c != 0) return *c;
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  return make_error("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name());
}

Result<bool> compare_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return a.equals(b);
  if (op == "!=") return !a.equals(b);
  if (op == "in" || op == "not in") {
    bool found = false;
    if (b.is_string()) {
      if (!a.is_string()) return make_error("'in <string>' requires string as left operand, not {}", a.type_name());
      found = b.str().find(a.str()) != std::string::npos;
    } else if (b.is_list()) {
      for (const auto& e : b.items())
        if (e.equals(a)) { found = true; break; }
    } else if (b.is_dict()) {
      found = a.is_string() && b.dict_ref().find(a.str()) != nullptr;
    } else if (b.is_undefined()) {
      found = false;
    } else {
      return make_error("argument of type '{}' is not iterable", b.type_name());
    }
    return op == "in" ? found : !found;
  }
  auto c = compare_values(a, b);
  if (!c.ok()) return c.error();
  if (op == "<") return *c < 0;
  if (op == ">") return *c > 0;
  if (op == "<=") return *c <= 0;
  if (op == ">=") return *c >= 0;
  return make_error("unknown comparison operator {}", op);
}

Result<std::string> percent_format(const std::string& f, const Value& args) {
  std::vector<Value> list;
  if (args.is_tuple()) list = args.items();
  else list.push_back(args);
  std::string out;
  size_t ai = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i >= f.size()) return make_error("incomplete format");
    std::string spec;
    while (i < f.size() && std::string("-+ #0123456789.").find(f[i]) != std::string::npos) spec += f[i++];
    if (i >= f.size()) return make_error("incomplete format");
    const char conv = f[i];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (ai >= list.size()) return make_error("not enough arguments for format string");
    const Value& v = list[ai++];
    switch (conv) {
      case 's': out += v.to_str(); break;
      case 'r': out += v.repr(); break;
      case 'd': case 'i': {
        auto iv = to_int(v, nullptr);
        if (!is_numeric(v)) return make_error("%d format: a real number is required, not {}", v.type_name());
        out += std::to_string(iv->as_int());
        break;
      }
      case 'f': case 'F': {
        if (!is_numeric(v)) return make_error("must be real number, not {}", v.type_name());
        int prec = 6;
        auto dot = spec.find('.');
        if (dot != std::string::npos) prec = std::atoi(spec.c_str() + dot + 1);
        out += fmt::format("{:.{}f}", v.as_double(), std::clamp(prec, 0, 100));
        break;
      }
      case 'x': {
        if (!v.is_int()) return make_error("%x format: an integer is required");
        out += fmt::format("{:x}", v.as_int());
        break;
      }
      default: return make_error("unsupported format character '{}'", std::string(1, conv));
    }
  }
  if (ai < list.size()) return make_error("not all arguments converted during string formatting");
  return out;
}

Result<Value> binary_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "+") {
    if (is_numeric(a) && is_numeric(b)) {
      if (a.is_float() || b.is_float()) return Value::number(a.as_double() + b.as_double());
      int64_t r = 0;
      const bool overflow = __builtin_add_overflow(a.as_int(), b.as_int(), &r);
      return checked_int(overflow, r, "+");
    }
    if (a.is_string() && b.is_string()) {
      if (a.str().size() + b.str().size() > kMaxValueBytes) return make_error("string too large (over {} bytes)", kMaxValueBytes);
      return Value::string(a.str() + b.str());
    }
    if (a.is_list() && b.is_list()) {
      if (a.items().size() + b.items().size() > kMaxListItems) return make_error("list too large (over {} items)", kMaxListItems);
      std::vector<Value> out = a.items();
      out.insert(out.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(out), a.is_tuple() && b.is_tuple());
    }
    if ((a.is_string() && b.is_undefined()) || (a.is_undefined() && b.is_string()))
      return Value::string(a.to_str() + b.to_str());
    return make_error("unsupported operand type(s) for +: '{}' and '{}'", a.type_name(), b.type_name());
  }
  if (op == "*") {
    if (is_numeric(a) && is_numeric(b)) {
      if (a.is_float() || b.is_float()) return Value::number(a.as_double() * b.as_double());
      int64_t r = 0;
      const bool overflow = __builtin_mul_overflow(a.as_int(), b.as_int(), &r);
      return checked_int(overflow, r, "*");
    }
    const Value* seq = a.is_string() || a.is_list() ? &a : b.is_string() || b.is_list() ? &b : nullptr;
    const Value* cnt = seq == &a ? &b : &a;
    if (seq && (cnt->is_int() || cnt->is_bool())) return repeat(*seq, cnt->as_int());
    return make_error("unsupported operand type(s) for *: '{}' and '{}'", a.type_name(), b.type_name());
  }
  if (op == "%" && a.is_string()) {
    auto s = percent_format(a.str(), b);
    if (!s.ok()) return s.error();
    return Value::string(*s);
  }
  if (!is_numeric(a) || !is_numeric(b))
    return make_error("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
  const bool fl = a.is_float() || b.is_float();
  if (op == "-") {
    if (fl) return Value::number(a.as_double() - b.as_double());
    int64_t r = 0;
    const bool overflow = __builtin_sub_overflow(a.as_int(), b.as_int(), &r);
    return checked_int(overflow, r, "-");
  }
  if (op == "/") {
    if (b.as_double() == 0.0) return make_error("division by zero");
    return Value::number(a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (b.as_double() == 0.0) return make_error("integer division or modulo by zero");
    if (fl) {
      const double x = a.as_double(), y = b.as_double();
      const double q = std::floor(x / y);
      return op == "//" ? Value::number(q) : Value::number(x - q * y);
    }
    return op == "//" ? py_floordiv(a.as_int(), b.as_int()) : Value::integer(py_mod(a.as_int(), b.as_int()));
  }
  if (op == "**") {
    if (!fl && b.as_int() >= 0) return int_pow(a.as_int(), b.as_int());
    if (a.as_double() == 0.0 && b.as_double() < 0) return make_error("0.0 cannot be raised to a negative power");
    return Value::number(std::pow(a.as_double(), b.as_double()));
  }
  return make_error("unknown operator {}", op);
}

Result<bool> apply_test(const std::string& name, const Value& v, CallArgs& a) {
  const Value* x = a.get(0, nullptr);
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "mapping") return v.is_dict() && !v.is_namespace();
  if (name == "iterable") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "sequence") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "callable") return v.is_function();
  if (name == "odd" || name == "even") {
    if (!v.is_int()) return make_error("'{}' test needs an integer", name);
    return (py_mod(v.as_int(), 2) == 1) == (name == "odd");
  }
  if (name == "divisibleby") {
    if (!x || !v.is_int() || !x->is_int() || x->as_int() == 0) return make_error("divisibleby needs integers");
    return py_mod(v.as_int(), x->as_int()) == 0;
  }
  if (name == "lower") return v.is_string() && utf8_lower(v.str()) == v.str();
  if (name == "upper") return v.is_string() && utf8_upper(v.str()) == v.str();
  if (name == "sameas") {
    if (!x) return make_error("sameas needs an argument");
    if (v.identity() || x->identity()) return v.identity() == x->identity();
    return v.kind() == x->kind() && v.equals(*x);
  }
  if (name == "escaped") return false;
  static const std::pair<const char*, const char*> kCmp[] = {
      {"eq", "=="}, {"equalto", "=="}, {"==", "=="}, {"ne", "!="}, {"!=", "!="}, {"lt", "<"}, {"lessthan", "<"},
      {"<", "<"}, {"le", "<="}, {"<=", "<="}, {"gt", ">"}, {"greaterthan", ">"}, {">", ">"}, {"ge", ">="},
      {">=", ">="}, {"in", "in"}};
  for (const auto& [n, op] : kCmp) {
    if (name == n) {
      if (!x) return make_error("test '{}' needs an argument", name);
      return compare_op(op, v, *x);
    }
  }
  return make_error("no test named '{}'", name);
}

Result<Value> apply_filter(const std::string& name, const Value& v, CallArgs& a) {
  if (name == "safe" || name == "forceescape_off") return v;
  if (name == "string") return v.is_string() ? v : Value::string(v.to_str());
  if (name == "tojson") {
    JsonOptions o;
    const Value* indent = a.get(0, "indent");
    if (indent && indent->is_int()) o.indent = static_cast<int>(std::clamp<int64_t>(indent->as_int(), 0, 64));
    const Value* seps = a.get(1, "separators");
    if (seps && seps->is_list() && seps->items().size() == 2 && seps->items()[0].is_string() && seps->items()[1].is_string()) {
      o.item_sep = seps->items()[0].str();
      o.key_sep = seps->items()[1].str();
    } else {
      o.item_sep = o.indent >= 0 ? "," : ", ";
      o.key_sep = ": ";
    }
    const Value* sk = a.get(3, "sort_keys");
    o.sort_keys = sk && sk->truthy();
    const Value* ea = a.get(2, "ensure_ascii");
    o.ensure_ascii = ea && ea->truthy();
    auto s = to_json(v, o);
    if (!s.ok()) return s.error();
    return Value::string(*s);
  }
  if (name == "default" || name == "d") {
    const Value* dflt = a.get(0, "default_value");
    const Value* boolean = a.get(1, "boolean");
    const bool use = v.is_undefined() || (boolean && boolean->truthy() && !v.truthy());
    if (use) return dflt ? *dflt : Value::string("");
    return v;
  }
  if (name == "length" || name == "count") {
    if (v.is_string()) return Value::integer(static_cast<int64_t>(utf8_length(v.str())));
    if (v.is_list()) return Value::integer(static_cast<int64_t>(v.items().size()));
    if (v.is_dict()) return Value::integer(static_cast<int64_t>(v.dict_ref().items.size()));
    if (v.is_undefined()) return Value::integer(0);
    return make_error("object of type '{}' has no len()", v.type_name());
  }
  if (name == "trim") {
    if (!v.is_string()) return make_error("trim needs a string, got {}", v.type_name());
    return Value::string(strip_chars(v.str(), a.get(0, "chars"), true, true));
  }
  if (name == "lower" || name == "upper" || name == "title" || name == "capitalize") {
    const std::string s = v.to_str();
    if (name == "lower") return Value::string(utf8_lower(s));
    if (name == "upper") return Value::string(utf8_upper(s));
    if (name == "title") return Value::string(title_case(s));
    std::string r = utf8_lower(s);
    if (!r.empty()) r[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(r[0])));
    return Value::string(r);
  }
  if (name == "replace") {
    const Value* from = a.get(0, "old");
    const Value* to = a.get(1, "new");
    const Value* count = a.get(2, "count");
    if (!from || !to) return make_error("replace needs two arguments");
    return Value::string(replace_all(v.to_str(), from->to_str(), to->to_str(), count && count->is_int() ? count->as_int() : -1));
  }
  if (name == "escape" || name == "e" || name == "forceescape") return Value::string(html_escape(v.to_str()));
  if (name == "int") return to_int(v, a.get(0, "default"));
  if (name == "float") return to_float(v, a.get(0, "default"));
  if (name == "abs") {
    if (v.is_int()) {
      if (v.as_int() == INT64_MIN) return int_overflow("abs");
      return Value::integer(std::abs(v.as_int()));
    }
    if (v.is_float()) return Value::number(std::fabs(v.as_double()));
    return make_error("bad operand type for abs(): '{}'", v.type_name());
  }
  if (name == "round") {
    if (!is_numeric(v)) return make_error("round needs a number");
    const Value* prec = a.get(0, "precision");
    const Value* meth = a.get(1, "method");
    const double p = std::pow(10.0, prec && prec->is_int() ? static_cast<double>(prec->as_int()) : 0.0);
    const std::string m = meth && meth->is_string() ? meth->str() : "common";
    const double x = v.as_double() * p;
    double r = m == "floor" ? std::floor(x) : m == "ceil" ? std::ceil(x) : std::round(x);
    return Value::number(r / p);
  }
  if (name == "indent") {
    const Value* width = a.get(0, "width");
    const Value* first = a.get(1, "first");
    const Value* blank = a.get(2, "blank");
    std::string ind = width && width->is_string() ? width->str()
                      : std::string(static_cast<size_t>(std::clamp<int64_t>(width && width->is_int() ? width->as_int() : 4, 0, 1024)), ' ');
    std::string s = v.to_str() + "\n";
    std::vector<std::string> lines;
    size_t p = 0;
    while (p < s.size()) {
      size_t e = s.find('\n', p);
      lines.push_back(s.substr(p, e - p));
      p = e + 1;
    }
    if (!ind.empty() && lines.size() > kMaxValueBytes / ind.size()) return make_error("indent: result too large (over {} bytes)", kMaxValueBytes);
    if (!work_meter().add(s.size() + lines.size() * ind.size())) return make_error("indent exceeds the template's work limit");
    std::string rv;
    if (blank && blank->truthy()) {
      for (size_t k = 0; k < lines.size(); ++k) rv += (k ? "\n" + ind : "") + lines[k];
    } else {
      rv = lines.empty() ? "" : lines[0];
      for (size_t k = 1; k < lines.size(); ++k) rv += "\n" + (lines[k].empty() ? "" : ind + lines[k]);
    }
    if (first && first->truthy()) rv = ind + rv;
    return Value::string(rv);
  }
  if (name == "list") {
    auto items = iterate(v);
    if (!items.ok()) return items.error();
    return Value::list(std::move(*items));
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::list();
    if (!v.is_dict()) return make_error("items needs a mapping, got {}", v.type_name());
    std::vector<Value> out;
    for (const auto& [k, e] : v.dict_ref().items) out.push_back(Value::list({Value::string(k), e}, true));
    return Value::list(std::move(out));
  }
  if (name == "dictsort") {
    if (!v.is_dict()) return make_error("dictsort needs a mapping");
    const Value* cs = a.get(0, "case_sensitive");
    const Value* by = a.get(1, "by");
    const Value* rev = a.get(2, "reverse");
    const bool by_value = by && by->is_string() && by->str() == "value";
    std::vector<Value> out;
    for (const auto& [k, e] : v.dict_ref().items) out.push_back(Value::list({Value::string(k), e}, true));
    Status st;
    std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
      auto c = compare_values(x.items()[by_value ? 1 : 0], y.items()[by_value ? 1 : 0], cs && cs->truthy());
      if (!c.ok()) { st = c.error(); return false; }
      return rev && rev->truthy() ? *c > 0 : *c < 0;
    });
    if (!st.ok()) return st.error();
    return Value::list(std::move(out));
  }
  if (name == "first" || name == "last") {
    if (v.is_string()) {
      auto c = utf8_chars(v.str());
      if (c.empty()) return Value();
      return Value::string(name == "first" ? c.front() : c.back());
    }
    auto items = iterate(v);
    if (!items.ok()) return items.error();
    if (items->empty()) return Value();
    return name == "first" ? items->front() : items->back();
  }
  if (name == "reverse") {
    if (v.is_string()) {
      auto c = utf8_chars(v.str());
      std::string out;
      for (auto it = c.rbegin(); it != c.rend(); ++it) out += *it;
      return Value::string(out);
    }
    auto items = iterate(v);
    if (!items.ok()) return items.error();
    std::reverse(items->begin(), items->end());
    return Value::list(std::move(*items));
  }
  if (name == "join") {
    const Value* sep = a.get(0, "d");
    const Value* attr = a.get(1, "attribute");
    auto items = iterate(v);
    if (!items.ok()) return items.error();
    if (attr && attr->is_string()) {
      for (auto& e : *items) {
        auto r = get_path(e, attr->str());
        if (!r.ok()) return r.error();
        e = *r;
      }
    }
    auto s = join_values(*items, sep ? sep->to_str() : "");
    if (!s.ok()) return s.error();
    return Value::string(*s);
  }
  if (name == "unique") {
    auto items = iterate(v);
    if (!items.ok()) return items.error();
    std::vector<Value> out;
    for (const auto& e : *items) {
      bool seen = false;
      for (const auto& o : out)
        if (o.equals(e)) { seen = true; break; }
      if (!seen) out.push_back(e);
    }
    return Value::list(std::move(out));
  }
  if (name == "sort") {
    const Value* rev = a.get(0, "reverse");
    const Value* cs = a.get(1, "case_sensitive");
    const Value* attr = a.get(2, "attribute");
    auto items = iterate(v);
    if (!items.ok()) return items.error();
    Status st;
    std::stable_sort(items->begin(), items->end(), [&](const Value& x, const Value& y) {
      Value kx = x, ky = y;
      if (attr && attr->is_string()) {
        auto rx = get_path(x, attr->str());
        auto ry = get_path(y, attr->str());
        if (rx.ok()) kx = *rx;
        if (ry.ok()) ky = *ry;
      }
      auto c = compare_values(kx, ky, cs && cs->truthy());
      if (!c.ok()) { st = c.error(); return false; }
      return rev && rev->truthy() ? *c > 0 : *c < 0;
    });
    if (!st.ok()) return st.error();
    return Value::list(std::move(*items));
  }
  if (name == "min" || name == "max" || name == "sum") {
    auto items = iterate(v);
    if (!items.ok()) return items.error();
    const Value* attr = a.get(name == "sum" ? 0 : 1, "attribute");
    if (attr && attr->is_string()) {
      for (auto& e : *items) {
        auto r = get_path(e, attr->str());
        if (!r.ok()) return r.error();
        e = *r;
      }
    }
    if (name == "sum") {
      const Value* start = a.get(1, "start");
      Value acc = start ? *start : Value::integer(0);
      for (const auto& e : *items) {
        auto r = binary_op("+", acc, e);
        if (!r.ok()) return r.error();
        acc = *r;
      }
      return acc;
    }
    if (items->empty()) return Value();
    Value best = items->front();
    for (const auto& e : *items) {
      auto c = compare_values(e, best, false);
      if (!c.ok()) return c.error();
      if ((name == "min" && *c < 0) || (name == "max" && *c > 0)) best = e;
    }
    return best;
  }
  if (name == "map") {
    auto items = iterate(v);
    if (!items.ok()) return items.error();
    const Value* attr = nullptr;
    const Value* dflt = nullptr;
    for (const auto& [k, e] : a.kw) {
      if (k == "attribute") attr = &e;
      if (k == "default") dflt = &e;
    }
    std::vector<Value> out;
    if (attr) {
      for (const auto& e : *items) {
        auto r = attr->is_int() ? get_item(e, *attr) : get_path(e, attr->to_str());
        if (!r.ok()) return r.error();
        out.push_back(r->is_undefined() && dflt ? *dflt : *r);
      }
      return Value::list(std::move(out));
    }
    if (a.pos.empty() || !a.pos[0].is_string()) return make_error("map needs a filter name or attribute=");
    const std::string fname = a.pos[0].str();
    CallArgs rest;
    rest.pos.assign(a.pos.begin() + 1, a.pos.end());
    rest.kw = a.kw;
    for (const auto& e : *items) {
      auto r = apply_filter(fname, e, rest);
      if (!r.ok()) return r.error();
      out.push_back(*r);
    }
    return Value::list(std::move(out));
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    const bool by_attr = name == "selectattr" || name == "rejectattr";
    const bool keep_when = name == "select" || name == "selectattr";
    auto items = iterate(v);
    if (!items.ok()) return items.error();
    size_t ai = 0;
    std::string attr;
    if (by_attr) {
      if (a.pos.empty()) return make_error("{} needs an attribute name", name);
      attr = a.pos[0].to_str();
      ai = 1;
    }
    std::string test;
    if (ai < a.pos.size()) test = a.pos[ai].to_str();
    CallArgs targs;
    if (ai + 1 < a.pos.size()) targs.pos.assign(a.pos.begin() + static_cast<long>(ai) + 1, a.pos.end());
    std::vector<Value> out;
    for (const auto& e : *items) {
      Value subject = e;
      if (by_attr) {
        auto r = get_path(e, attr);
        if (!r.ok()) return r.error();
        subject = *r;
      }
      bool ok;
      if (test.empty()) {
        ok = subject.truthy();
      } else {
        auto r = apply_test(test, subject, targs);
        if (!r.ok()) return r.error();
        ok = *r;
      }
      if (ok == keep_when) out.push_back(e);
    }
    return Value::list(std::move(out));
  }
  if (name == "attr") {
    const Value* n = a.get(0, "name");
    if (!n || !n->is_string()) return make_error("attr needs a name");
    return get_attr(v, n->str());
  }
  if (name == "batch") {
    const Value* size = a.get(0, "linecount");
    const Value* fill = a.get(1, "fill_with");
    if (!size || !size->is_int() || size->as_int() <= 0) return make_error("batch needs a positive size");
    if (fill && static_cast<uint64_t>(size->as_int()) > kMaxListItems) return make_error("batch: size too large (over {} items)", kMaxListItems);
    auto items = iterate(v);
    if (!items.ok()) return items.error();
    std::vector<Value> out, cur;
    for (const auto& e : *items) {
      cur.push_back(e);
      if (static_cast<int64_t>(cur.size()) == size->as_int()) { out.push_back(Value::list(cur)); cur.clear(); }
    }
    if (!cur.empty()) {
      if (fill) while (static_cast<int64_t>(cur.size()) < size->as_int()) cur.push_back(*fill);
      out.push_back(Value::list(cur));
    }
    return Value::list(std::move(out));
  }
  if (name == "format") {
    std::vector<Value> args = a.pos;
    auto s = percent_format(v.to_str(), Value::list(std::move(args), true));
    if (!s.ok()) return s.error();
    return Value::string(*s);
  }
  if (name == "wordcount") {
    auto r = split(v.to_str(), nullptr, nullptr, false);
    if (!r.ok()) return r.error();
    return Value::integer(static_cast<int64_t>(r->items().size()));
  }
  if (name == "center") {
    const Value* w = a.get(0, "width");
    const std::string s = v.to_str();
    const int64_t width = w && w->is_int() ? std::min<int64_t>(w->as_int(), 4096) : 80;
    const int64_t len = static_cast<int64_t>(utf8_length(s));
    if (width <= len) return Value::string(s);
    const int64_t total = width - len;
    const int64_t left = total / 2 + (total & width & 1);
    return Value::string(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' '));
  }
  if (name == "pprint") return Value::string(v.repr());
  return make_error("no filter named '{}'", name);
}

}  // namespace corral::jinja
