// Python's str and dict methods as templates call them (`s.strip()`, `d.items()`), and the
// string helpers the filters share with them.
#include <algorithm>
#include <cmath>
#include <set>

#include "chat/jinja_builtins.h"

namespace corral::jinja {
namespace {

bool is_py_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

Value method(std::string name, NativeFn fn) { return Value::function(std::move(fn), std::move(name)); }

const Value* arg(CallArgs& a, size_t i, const char* name = nullptr) { return a.get(i, name); }

}  // namespace

std::string strip_chars(const std::string& s, const Value* chars, bool left, bool right) {
  auto in_set = [&](char c) {
    if (!chars || chars->is_none() || chars->is_undefined()) return is_py_space(c);
    return chars->is_string() && chars->str().find(c) != std::string::npos;
  };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && in_set(s[b])) ++b;
  if (right)
    while (e > b && in_set(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string title_case(const std::string& s) {
  std::string out;
  bool prev_alpha = false;
  for (char c : s) {
    const bool alpha = std::isalpha(static_cast<unsigned char>(c)) != 0;
    if (alpha) out += static_cast<char>(prev_alpha ? std::tolower(static_cast<unsigned char>(c)) : std::toupper(static_cast<unsigned char>(c)));
    else out += c;
    prev_alpha = alpha || static_cast<unsigned char>(c) >= 0x80;
  }
  return out;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  if (count == 0) return s;
  std::string out;
  if (from.empty()) {
    // Python inserts `to` between every character (and at both ends).
    auto chars = utf8_chars(s);
    int64_t n = 0;
    for (const auto& ch : chars) {
      if (count < 0 || n < count) { out += to; ++n; }
      out += ch;
      if (!work_meter().add(to.size() + ch.size())) return out;  // the render fails on return
    }
    if (count < 0 || n < count) out += to;
    return out;
  }
  size_t p = 0;
  int64_t n = 0;
  while (true) {
    size_t f = s.find(from, p);
    if (f == std::string::npos || (count >= 0 && n >= count)) break;
    out.append(s, p, f - p);
    out += to;
    if (!work_meter().add(f - p + to.size())) return out;  // the render fails on return
    p = f + from.size();
    ++n;
  }
  out.append(s, p, std::string::npos);
  return out;
}

Result<Value> split(const std::string& s, const Value* sep, const Value* maxsplit_v, bool from_right) {
  int64_t maxsplit = -1;
  if (maxsplit_v && maxsplit_v->is_int()) maxsplit = maxsplit_v->as_int();
  std::vector<Value> parts;
  if (!sep || sep->is_none() || sep->is_undefined()) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && is_py_space(s[i])) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(words.size()) >= maxsplit && !from_right) {
        std::string rest = s.substr(i);
        while (!rest.empty() && is_py_space(rest.back())) rest.pop_back();
        words.push_back(rest);
        i = s.size();
        break;
      }
      size_t j = i;
      while (j < s.size() && !is_py_space(s[j])) ++j;
      words.push_back(s.substr(i, j - i));
      i = j;
    }
    for (auto& w : words) parts.push_back(Value::string(w));
    return Value::list(std::move(parts));
  }
  if (!sep->is_string()) return make_error("split(): separator must be a string");
  const std::string& d = sep->str();
  if (d.empty()) return make_error("empty separator");
  std::vector<std::string> out;
  if (!from_right) {
    size_t p = 0;
    while (true) {
      size_t f = s.find(d, p);
      if (f == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit)) {
        out.push_back(s.substr(p));
        break;
      }
      out.push_back(s.substr(p, f - p));
      p = f + d.size();
    }
  } else {
    size_t end = s.size();
    while (true) {
      size_t f = end >= d.size() ? s.rfind(d, end - d.size()) : std::string::npos;
      if (f == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit)) {
        out.insert(out.begin(), s.substr(0, end));
        break;
      }
      out.insert(out.begin(), s.substr(f + d.size(), end - f - d.size()));
      end = f;
    }
  }
  for (auto& w : out) parts.push_back(Value::string(w));
  return Value::list(std::move(parts));
}



Result<Value> string_method(const Value& obj, const std::string& name) {
  const std::string s = obj.str();
  if (name == "startswith" || name == "endswith") {
    const bool start = name == "startswith";
    return method(name, [s, start](CallArgs& a) -> Result<Value> {
      const Value* p = arg(a, 0);
      if (!p) return make_error("{}() takes at least 1 argument", start ? "startswith" : "endswith");
      auto test = [&](const std::string& x) {
        if (x.size() > s.size()) return false;
        return start ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
      };
      if (p->is_string()) return Value::boolean(test(p->str()));
      if (p->is_list()) {
        for (const auto& e : p->items())
          if (e.is_string() && test(e.str())) return Value::boolean(true);
        return Value::boolean(false);
      }
      return make_error("{}() argument must be str or a tuple of str", start ? "startswith" : "endswith");
    });
  }
  if (name == "split" || name == "rsplit") {
    const bool right = name == "rsplit";
    return method(name, [s, right](CallArgs& a) { return split(s, arg(a, 0, "sep"), arg(a, 1, "maxsplit"), right); });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool l = name != "rstrip", r = name != "lstrip";
    return method(name, [s, l, r](CallArgs& a) -> Result<Value> { return Value::string(strip_chars(s, arg(a, 0), l, r)); });
  }
  if (name == "upper") return method(name, [s](CallArgs&) -> Result<Value> { return Value::string(utf8_upper(s)); });
  if (name == "lower") return method(name, [s](CallArgs&) -> Result<Value> { return Value::string(utf8_lower(s)); });
  if (name == "title") return method(name, [s](CallArgs&) -> Result<Value> { return Value::string(title_case(s)); });
  if (name == "capitalize")
    return method(name, [s](CallArgs&) -> Result<Value> {
      std::string r = utf8_lower(s);
      if (!r.empty()) r[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(r[0])));
      return Value::string(r);
    });
  if (name == "replace")
    return method(name, [s](CallArgs& a) -> Result<Value> {
      const Value* from = arg(a, 0, "old");
      const Value* to = arg(a, 1, "new");
      const Value* count = arg(a, 2, "count");
      if (!from || !to || !from->is_string() || !to->is_string()) return make_error("replace() arguments must be strings");
      return Value::string(replace_all(s, from->str(), to->str(), count && count->is_int() ? count->as_int() : -1));
    });
  if (name == "find" || name == "rfind" || name == "index" || name == "count")
    return method(name, [s, name](CallArgs& a) -> Result<Value> {
      const Value* x = arg(a, 0);
      if (!x || !x->is_string()) return make_error("{}() argument must be str", name);
      if (name == "count") {
        if (x->str().empty()) return Value::integer(static_cast<int64_t>(utf8_length(s) + 1));
        int64_t n = 0;
        for (size_t p = s.find(x->str()); p != std::string::npos; p = s.find(x->str(), p + x->str().size())) ++n;
        return Value::integer(n);
      }
      const size_t p = name == "rfind" ? s.rfind(x->str()) : s.find(x->str());
      if (p == std::string::npos) {
        if (name == "index") return make_error("substring not found");
        return Value::integer(-1);
      }
      return Value::integer(static_cast<int64_t>(utf8_length(s.substr(0, p))));
    });
  if (name == "join")
    return method(name, [s](CallArgs& a) -> Result<Value> {
      const Value* x = arg(a, 0);
      if (!x) return make_error("join() takes exactly one argument");
      auto items = iterate(*x);
      if (!items.ok()) return items.error();
      std::string out;
      for (size_t k = 0; k < items->size(); ++k) {
        const std::string text = (*items)[k].to_str();
        if (!work_meter().add(s.size() + text.size())) break;  // the render fails on return
        if (k) out += s;
        out += text;
      }
      return Value::string(out);
    });
  if (name == "splitlines")
    return method(name, [s](CallArgs&) -> Result<Value> {
      std::vector<Value> out;
      size_t p = 0;
      while (p < s.size()) {
        size_t e = s.find_first_of("\r\n", p);
        if (e == std::string::npos) { out.push_back(Value::string(s.substr(p))); break; }
        out.push_back(Value::string(s.substr(p, e - p)));
        p = e + ((s[e] == '\r' && e + 1 < s.size() && s[e + 1] == '\n') ? 2 : 1);
      }
      return Value::list(std::move(out));
    });
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "isupper" || name == "islower")
    return method(name, [s, name](CallArgs&) -> Result<Value> {
      if (s.empty()) return Value::boolean(false);
      bool ok = true, cased = false;
      for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (name == "isdigit") ok = ok && std::isdigit(c);
        else if (name == "isalpha") ok = ok && std::isalpha(c);
        else if (name == "isalnum") ok = ok && std::isalnum(c);
        else if (name == "isspace") ok = ok && is_py_space(ch);
        else if (name == "isupper") { ok = ok && !std::islower(c); cased = cased || std::isupper(c); }
        else { ok = ok && !std::isupper(c); cased = cased || std::islower(c); }
      }
      if (name == "isupper" || name == "islower") ok = ok && cased;
      return Value::boolean(ok);
    });
  return Value();
}

Result<Value> dict_method(const Value& obj, const std::string& name) {
  if (name == "get")
    return method(name, [obj](CallArgs& a) -> Result<Value> {
      const Value* k = arg(a, 0);
      if (!k) return make_error("get() takes at least 1 argument");
      if (k->is_string())
        if (const Value* v = obj.dict_ref().find(k->str())) return *v;
      const Value* d = arg(a, 1, "default");
      return d ? *d : Value::none();
    });
  if (name == "items")
    return method(name, [obj](CallArgs&) -> Result<Value> {
      std::vector<Value> out;
      for (const auto& [k, v] : obj.dict_ref().items) out.push_back(Value::list({Value::string(k), v}, true));
      return Value::list(std::move(out));
    });
  if (name == "keys")
    return method(name, [obj](CallArgs&) -> Result<Value> {
      std::vector<Value> out;
      for (const auto& kv : obj.dict_ref().items) out.push_back(Value::string(kv.first));
      return Value::list(std::move(out));
    });
  if (name == "values")
    return method(name, [obj](CallArgs&) -> Result<Value> {
      std::vector<Value> out;
      for (const auto& kv : obj.dict_ref().items) out.push_back(kv.second);
      return Value::list(std::move(out));
    });
  return Value();
}

}  // namespace corral::jinja
