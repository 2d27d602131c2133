// GoValue construction, truthiness, fmt-style printing and encoding/json-style marshalling.
#include "chat/gotmpl_value.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace corral::gotmpl {

GoValue GoValue::make_list(std::vector<GoValue> v) {
  GoValue r;
  r.kind = Kind::kList;
  r.list = std::make_shared<std::vector<GoValue>>(std::move(v));
  return r;
}

GoValue GoValue::make_map(std::map<std::string, GoValue> v) {
  GoValue r;
  r.kind = Kind::kMap;
  r.map = std::make_shared<std::map<std::string, GoValue>>(std::move(v));
  return r;
}

GoValue make_struct(std::vector<GoField> fields, bool prints_as_json) {
  GoValue r;
  r.kind = GoValue::Kind::kStruct;
  r.st = std::make_shared<GoStruct>();
  r.st->fields = std::move(fields);
  r.st->prints_as_json = prints_as_json;
  return r;
}

const GoValue* GoStruct::field(const std::string& name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f.value;
  return nullptr;
}

GoValue from_json_any(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::boolean: return GoValue::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned:
    case nlohmann::ordered_json::value_t::number_float: return GoValue::number(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return GoValue::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<GoValue> out;
      for (const auto& e : j) out.push_back(from_json_any(e));
      return GoValue::make_list(std::move(out));
    }
    case nlohmann::ordered_json::value_t::object: {
      std::map<std::string, GoValue> out;
      for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = from_json_any(it.value());
      return GoValue::make_map(std::move(out));
    }
    default: return GoValue::nil();
  }
}

bool truth(const GoValue& v) {
  switch (v.kind) {
    case GoValue::Kind::kNil: return false;
    case GoValue::Kind::kBool: return v.b;
    case GoValue::Kind::kInt: return v.i != 0;
    case GoValue::Kind::kFloat: return v.f != 0.0;
    case GoValue::Kind::kString: return !v.s.empty();
    case GoValue::Kind::kList: return !v.list->empty();
    case GoValue::Kind::kMap: return !v.map->empty();
    case GoValue::Kind::kStruct: return true;
  }
  return false;
}

namespace {

// Shortest round-trip digits of |f| and its decimal exponent (value = 0.d1d2... * 10^(exp+1)).
void shortest_digits(double f, std::string& digits, int& exp10) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), std::fabs(f), std::chars_format::scientific);
  std::string s(buf, res.ptr);
  auto e = s.find('e');
  std::string mant = s.substr(0, e);
  exp10 = std::stoi(s.substr(e + 1));
  digits.clear();
  for (char c : mant)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
}

std::string format_fixed(const std::string& digits, int exp10) {
  // digits d1d2..dn with value d1.d2..dn * 10^exp10
  std::string out;
  const int nd = static_cast<int>(digits.size());
  const int dp = exp10 + 1;  // position of decimal point
  if (dp <= 0) {
    out = "0.";
    out.append(static_cast<size_t>(-dp), '0');
    out += digits;
  } else if (dp >= nd) {
    out = digits;
    out.append(static_cast<size_t>(dp - nd), '0');
  } else {
    out = digits.substr(0, static_cast<size_t>(dp)) + "." + digits.substr(static_cast<size_t>(dp));
  }
  return out;
}

std::string format_exp(const std::string& digits, int exp10, bool two_digit_exp) {
  std::string out = digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  out += 'e';
  out += exp10 < 0 ? '-' : '+';
  int a = exp10 < 0 ? -exp10 : exp10;
  std::string e = std::to_string(a);
  if (two_digit_exp && e.size() < 2) e = "0" + e;
  return out + e;
}

}  // namespace

// strconv.FormatFloat(f, 'g', -1, 64) as fmt's %v uses it.
std::string format_go_float(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  if (f == 0.0) return std::signbit(f) ? "-0" : "0";
  std::string digits;
  int exp10 = 0;
  shortest_digits(f, digits, exp10);
  std::string body = (exp10 < -4 || exp10 >= 6) ? format_exp(digits, exp10, true)
                                                  : format_fixed(digits, exp10);
  return (f < 0 ? "-" : "") + body;
}

namespace {

// encoding/json float64: 'f' form unless the exponent is large or tiny.
std::string json_float(double f) {
  if (!std::isfinite(f)) return "null";  // Go returns an error here; null keeps output valid
  if (f == 0.0) return "0";
  std::string digits;
  int exp10 = 0;
  shortest_digits(f, digits, exp10);
  const double a = std::fabs(f);
  std::string body = (a < 1e-6 || a >= 1e21) ? format_exp(digits, exp10, false)
                                              : format_fixed(digits, exp10);
  return (f < 0 ? "-" : "") + body;
}

void json_string(const std::string& s, std::string& out) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
      continue;
    }
    // U+2028 and U+2029 are escaped by Go as well.
    if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
      out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
      i += 2;
      continue;
    }
    out += static_cast<char>(c);
  }
  out += '"';
}

bool json_empty(const GoValue& v) {
  switch (v.kind) {
    case GoValue::Kind::kNil: return true;
    case GoValue::Kind::kBool: return !v.b;
    case GoValue::Kind::kInt: return v.i == 0;
    case GoValue::Kind::kFloat: return v.f == 0.0;
    case GoValue::Kind::kString: return v.s.empty();
    case GoValue::Kind::kList: return v.list->empty();
    case GoValue::Kind::kMap: return v.map->empty();
    case GoValue::Kind::kStruct: return false;
  }
  return true;
}

void marshal(const GoValue& v, std::string& out) {
  switch (v.kind) {
    case GoValue::Kind::kNil: out += "null"; return;
    case GoValue::Kind::kBool: out += v.b ? "true" : "false"; return;
    case GoValue::Kind::kInt: out += std::to_string(v.i); return;
    case GoValue::Kind::kFloat: out += json_float(v.f); return;
    case GoValue::Kind::kString: json_string(v.s, out); return;
    case GoValue::Kind::kList: {
      out += '[';
      bool first = true;
      for (const auto& e : *v.list) {
        if (!first) out += ',';
        first = false;
        marshal(e, out);
      }
      out += ']';
      return;
    }
    case GoValue::Kind::kMap: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : *v.map) {
        if (!first) out += ',';
        first = false;
        json_string(k, out);
        out += ':';
        marshal(e, out);
      }
      out += '}';
      return;
    }
    case GoValue::Kind::kStruct: {
      out += '{';
      bool first = true;
      for (const auto& f : v.st->fields) {
        if (f.json_name == "-" || (f.omitempty && json_empty(f.value))) continue;
        if (!first) out += ',';
        first = false;
        json_string(f.json_name, out);
        out += ':';
        marshal(f.value, out);
      }
      out += '}';
      return;
    }
  }
}

void print_into(const GoValue& v, std::string& out, bool top) {
  switch (v.kind) {
    case GoValue::Kind::kNil: out += top ? "<no value>" : "<nil>"; return;
    case GoValue::Kind::kBool: out += v.b ? "true" : "false"; return;
    case GoValue::Kind::kInt: out += std::to_string(v.i); return;
    case GoValue::Kind::kFloat: out += format_go_float(v.f); return;
    case GoValue::Kind::kString: out += v.s; return;
    case GoValue::Kind::kList: {
      out += '[';
      bool first = true;
      for (const auto& e : *v.list) {
        if (!first) out += ' ';
        first = false;
        print_into(e, out, false);
      }
      out += ']';
      return;
    }
    case GoValue::Kind::kMap: {
      if (v.prints_as_json) {
        marshal(v, out);
        return;
      }
      out += "map[";
      bool first = true;
      for (const auto& [k, e] : *v.map) {
        if (!first) out += ' ';
        first = false;
        out += k;
        out += ':';
        print_into(e, out, false);
      }
      out += ']';
      return;
    }
    case GoValue::Kind::kStruct: {
      if (v.st->prints_as_json) {
        marshal(v, out);
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& f : v.st->fields) {
        if (!first) out += ' ';
        first = false;
        print_into(f.value, out, false);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string print_value(const GoValue& v) {
  std::string out;
  print_into(v, out, true);
  return out;
}

std::string json_marshal(const GoValue& v) {
  std::string out;
  marshal(v, out);
  return out;
}

}  // namespace corral::gotmpl
