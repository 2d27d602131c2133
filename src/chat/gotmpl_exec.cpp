// Go text/template evaluator: walks the Node tree over a GoValue with Go's variable scoping,
// truthiness and builtin functions, bounded in steps, output size and call depth.
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>

#include "chat/gotmpl.h"

namespace corral::gotmpl {
namespace {

enum class Flow { kNormal, kBreak, kContinue };

std::string kind_name(const GoValue& v) {
  switch (v.kind) {
    case GoValue::Kind::kNil: return "nil";
    case GoValue::Kind::kBool: return "bool";
    case GoValue::Kind::kInt: return "int";
    case GoValue::Kind::kFloat: return "float64";
    case GoValue::Kind::kString: return "string";
    case GoValue::Kind::kList: return "slice";
    case GoValue::Kind::kMap: return "map";
    case GoValue::Kind::kStruct: return "struct";
  }
  return "?";
}

bool is_number(const GoValue& v) { return v.kind == GoValue::Kind::kInt || v.kind == GoValue::Kind::kFloat; }
double as_double(const GoValue& v) { return v.kind == GoValue::Kind::kInt ? static_cast<double>(v.i) : v.f; }

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\0': out += "\xEF\xBF\xBD"; break;
      default: out += c;
    }
  }
  return out;
}

std::string js_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      case '"': out += "\\\""; break;
      case '<': out += "\\u003C"; break;
      case '>': out += "\\u003E"; break;
      case '&': out += "\\u0026"; break;
      case '=': out += "\\u003D"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04X}", c);
        else out += ch;
    }
  }
  return out;
}

std::string url_query_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += ch;
    else if (c == ' ') out += '+';
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string go_quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
        else out += ch;
    }
  }
  return out + "\"";
}

// fmt.Sprint: a space between operands when neither side is a string.
std::string sprint(const std::vector<GoValue>& args) {
  std::string out;
  for (size_t k = 0; k < args.size(); ++k) {
    if (k > 0 && args[k].kind != GoValue::Kind::kString && args[k - 1].kind != GoValue::Kind::kString)
      out += ' ';
    out += args[k].is_nil() ? "<nil>" : print_value(args[k]);
  }
  return out;
}

std::string go_verb_value(const GoValue& v) { return v.is_nil() ? "<nil>" : print_value(v); }

std::string sprintf_go(const std::string& f, const std::vector<GoValue>& args) {
  std::string out;
  size_t argi = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    ++i;
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    std::string flags;
    while (i < f.size() && std::string("+-# 0").find(f[i]) != std::string::npos) flags += f[i++];
    int width = -1, prec = -1;
    while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) {
      width = (width < 0 ? 0 : width) * 10 + (f[i++] - '0');
      if (width > 10000) width = 10000;
    }
    if (i < f.size() && f[i] == '.') {
      ++i;
      prec = 0;
      while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) {
        prec = prec * 10 + (f[i++] - '0');
        if (prec > 1000) prec = 1000;
      }
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    const char verb = f[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= args.size()) {
      out += fmt::format("%!{}(MISSING)", verb);
      continue;
    }
    const GoValue& a = args[argi++];
    std::string s;
    switch (verb) {
      case 'v': case 's':
        s = go_verb_value(a);
        if (verb == 's' && prec >= 0 && a.kind == GoValue::Kind::kString && static_cast<size_t>(prec) < s.size())
          s = s.substr(0, static_cast<size_t>(prec));
        break;
      case 'q': s = a.kind == GoValue::Kind::kString ? go_quote(a.s) : go_verb_value(a); break;
      case 't': s = a.kind == GoValue::Kind::kBool ? (a.b ? "true" : "false") : "%!t(" + kind_name(a) + "=" + go_verb_value(a) + ")"; break;
      case 'd':
        if (a.kind == GoValue::Kind::kInt) s = std::to_string(a.i);
        else s = "%!d(" + kind_name(a) + "=" + go_verb_value(a) + ")";
        break;
      case 'x': case 'X':
        if (a.kind == GoValue::Kind::kInt) s = verb == 'x' ? fmt::format("{:x}", a.i) : fmt::format("{:X}", a.i);
        else if (a.kind == GoValue::Kind::kString) {
          for (char c : a.s) s += fmt::format(fmt::runtime(verb == 'x' ? "{:02x}" : "{:02X}"), static_cast<unsigned char>(c));
        } else s = "%!" + std::string(1, verb) + "(" + kind_name(a) + "=" + go_verb_value(a) + ")";
        break;
      case 'f': case 'F': case 'e': case 'g':
        if (is_number(a)) {
          const double d = as_double(a);
          if (verb == 'g' && prec < 0) s = format_go_float(d);
          else s = fmt::format(fmt::runtime(std::string("{:.") + std::to_string(prec < 0 ? 6 : prec) + (verb == 'F' ? 'f' : verb) + "}"), d);
        } else {
          s = "%!" + std::string(1, verb) + "(" + kind_name(a) + "=" + go_verb_value(a) + ")";
        }
        break;
      case 'c':
        if (a.kind == GoValue::Kind::kInt && a.i >= 0 && a.i < 0x110000) {
          auto cp = static_cast<uint32_t>(a.i);
          if (cp < 0x80) s += static_cast<char>(cp);
          else if (cp < 0x800) { s += static_cast<char>(0xC0 | (cp >> 6)); s += static_cast<char>(0x80 | (cp & 0x3F)); }
          else if (cp < 0x10000) { s += static_cast<char>(0xE0 | (cp >> 12)); s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); s += static_cast<char>(0x80 | (cp & 0x3F)); }
          else { s += static_cast<char>(0xF0 | (cp >> 18)); s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F)); s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); s += static_cast<char>(0x80 | (cp & 0x3F)); }
        } else s = "%!c(" + kind_name(a) + "=" + go_verb_value(a) + ")";
        break;
      default: s = "%!" + std::string(1, verb) + "(" + kind_name(a) + "=" + go_verb_value(a) + ")";
    }
    if (width >= 0 && s.size() < static_cast<size_t>(width)) {
      const size_t pad = static_cast<size_t>(width) - s.size();
      if (flags.find('-') != std::string::npos) s += std::string(pad, ' ');
      else if (flags.find('0') != std::string::npos && verb != 's' && verb != 'v' && verb != 'q') s = std::string(pad, '0') + s;
      else s = std::string(pad, ' ') + s;
    }
    out += s;
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < args.size(); ++k) {
      if (k > argi) out += ", ";
      out += kind_name(args[k]) + "=" + go_verb_value(args[k]);
    }
    out += ")";
  }
  return out;
}

std::string date_string(int days_ago, int64_t fixed_time) {
  const std::time_t now = (fixed_time >= 0 ? static_cast<std::time_t>(fixed_time)
                                           : std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())) -
                          static_cast<std::time_t>(days_ago) * 86400;
  std::tm tm{};
  if (fixed_time >= 0) gmtime_r(&now, &tm);
  else localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

class Exec {
 public:
  Exec(const std::string& name, const Limits& limits, const std::map<std::string, NodeList>& defines)
      : name_(name), limits_(limits), defines_(defines) {}

  Result<std::string> run(const NodeList& root, const GoValue& data) {
    vars_.push_back({"$", data});
    auto r = walk(root, data);
    if (!r.ok()) return r.error();
    return std::move(out_);
  }

 private:
  Error err(Pos p, const std::string& msg) const {
    return make_error("template: {}:{}:{}: executing \"{}\": {}", name_, p.line, p.col, name_, msg);
  }

  Status step(Pos p) {
    if (++steps_ > limits_.max_steps)
      return err(p, fmt::format("execution exceeded {} steps (template loops too long)", limits_.max_steps));
    return {};
  }

  Status emit(const std::string& s, Pos p) {
    if (out_.size() + s.size() > limits_.max_output_bytes)
      return err(p, fmt::format("output exceeds {} bytes", limits_.max_output_bytes));
    out_ += s;
    return {};
  }

  Result<Flow> walk(const NodeList& list, const GoValue& dot) {
    for (const auto& n : list) {
      CORRAL_TRY(step(n->pos));
      auto f = walk_node(*n, dot);
      if (!f.ok()) return f.error();
      if (*f != Flow::kNormal) return *f;
    }
    return Flow::kNormal;
  }

  Result<Flow> walk_node(const Node& n, const GoValue& dot) {
    switch (n.kind) {
      case Node::Kind::kText: CORRAL_TRY(emit(n.text, n.pos)); return Flow::kNormal;
      case Node::Kind::kBreak: return Flow::kBreak;
      case Node::Kind::kContinue: return Flow::kContinue;
      case Node::Kind::kAction: {
        auto v = eval_pipe(*n.pipe, dot, true);
        if (!v.ok()) return v.error();
        if (n.pipe->decl.empty()) CORRAL_TRY(emit(print_value(*v), n.pos));
        return Flow::kNormal;
      }
      case Node::Kind::kIf:
      case Node::Kind::kWith: {
        const size_t mark = vars_.size();
        auto v = eval_pipe(*n.pipe, dot, true);
        if (!v.ok()) return v.error();
        Result<Flow> f = Flow::kNormal;
        if (truth(*v)) f = walk(n.list, n.kind == Node::Kind::kWith ? *v : dot);
        else f = walk(n.else_list, dot);
        vars_.resize(mark);
        return f;
      }
      case Node::Kind::kRange: return walk_range(n, dot);
      case Node::Kind::kTemplate: {
        auto it = defines_.find(n.text);
        if (it == defines_.end()) return err(n.pos, fmt::format("no such template \"{}\"", n.text));
        GoValue arg;
        if (n.pipe) {
          auto v = eval_pipe(*n.pipe, dot, false);
          if (!v.ok()) return v.error();
          arg = *v;
        }
        if (++depth_ > limits_.max_call_depth)
          return err(n.pos, fmt::format("exceeded maximum template depth ({})", limits_.max_call_depth));
        std::vector<std::pair<std::string, GoValue>> saved;
        saved.swap(vars_);
        vars_.push_back({"$", arg});
        auto f = walk(it->second, arg);
        vars_.swap(saved);
        --depth_;
        if (!f.ok()) return f.error();
        return Flow::kNormal;
      }
    }
    return Flow::kNormal;
  }

  Result<Flow> walk_range(const Node& n, const GoValue& dot) {
    const size_t mark = vars_.size();
    auto v = eval_pipe(*n.pipe, dot, false);
    if (!v.ok()) return v.error();
    const auto& decl = n.pipe->decl;
    bool any = false;
    auto iterate = [&](const GoValue& key, const GoValue& elem) -> Result<Flow> {
      CORRAL_TRY(step(n.pos));
      any = true;
      const size_t m2 = vars_.size();
      if (decl.size() == 1) vars_.push_back({decl[0], elem});
      if (decl.size() == 2) {
        vars_.push_back({decl[0], key});
        vars_.push_back({decl[1], elem});
      }
      auto f = walk(n.list, elem);
      vars_.resize(m2);
      return f;
    };
    Result<Flow> result = Flow::kNormal;
    switch (v->kind) {
      case GoValue::Kind::kList: {
        auto list = v->list;  // keep alive
        for (size_t k = 0; k < list->size(); ++k) {
          auto f = iterate(GoValue::integer(static_cast<int64_t>(k)), (*list)[k]);
          if (!f.ok()) { vars_.resize(mark); return f.error(); }
          if (*f == Flow::kBreak) break;
        }
        break;
      }
      case GoValue::Kind::kMap: {
        auto map = v->map;
        for (const auto& [k, e] : *map) {
          auto f = iterate(GoValue::string(k), e);
          if (!f.ok()) { vars_.resize(mark); return f.error(); }
          if (*f == Flow::kBreak) break;
        }
        break;
      }
      case GoValue::Kind::kInt: {
        if (decl.size() == 2) return err(n.pos, "can't use two variables when ranging over an integer");
        for (int64_t k = 0; k < v->i; ++k) {
          auto f = iterate(GoValue::integer(k), GoValue::integer(k));
          if (!f.ok()) { vars_.resize(mark); return f.error(); }
          if (*f == Flow::kBreak) break;
        }
        break;
      }
      case GoValue::Kind::kNil: break;
      default:
        vars_.resize(mark);
        return err(n.pos, fmt::format("range can't iterate over {}", print_value(*v)));
    }
    if (!any) result = walk(n.else_list, dot);
    vars_.resize(mark);
    if (!result.ok()) return result.error();
    return Flow::kNormal;
  }

  GoValue* lookup_var(const std::string& name) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
      if (it->first == name) return &it->second;
    return nullptr;
  }

  // Evaluates a pipeline; when declare is true, its declared variables are pushed or assigned.
  Result<GoValue> eval_pipe(const Pipe& pipe, const GoValue& dot, bool declare) {
    GoValue final;
    bool has_final = false;
    for (const auto& cmd : pipe.cmds) {
      auto v = eval_cmd(cmd, dot, has_final ? &final : nullptr);
      if (!v.ok()) return v.error();
      final = std::move(*v);
      has_final = true;
    }
    if (declare && !pipe.decl.empty()) {
      if (pipe.decl.size() > 1) return err(pipe.pos, "too many declarations in command");
      if (pipe.is_assign) {
        GoValue* slot = lookup_var(pipe.decl[0]);
        if (!slot) return err(pipe.pos, fmt::format("undefined variable: {}", pipe.decl[0]));
        *slot = final;
      } else {
        vars_.push_back({pipe.decl[0], final});
      }
    }
    return final;
  }

  Result<GoValue> eval_cmd(const Command& cmd, const GoValue& dot, const GoValue* final) {
    const Arg& first = cmd.args[0];
    if (first.kind == Arg::Kind::kFunc && first.chain.empty())
      return call(first, cmd.args, 1, dot, final);
    if (cmd.args.size() > 1 || final)
      return err(first.pos, fmt::format("can't give argument to non-function {}", describe(first)));
    return eval_arg(first, dot);
  }

  static std::string describe(const Arg& a) {
    std::string s;
    switch (a.kind) {
      case Arg::Kind::kDot: s = "."; break;
      case Arg::Kind::kVariable: s = a.text; break;
      case Arg::Kind::kFunc: s = a.text; break;
      default: s = a.text; break;
    }
    for (const auto& c : a.chain) s += "." + c;
    return s;
  }

  Result<GoValue> field(const GoValue& v, const std::string& name, Pos pos) {
    switch (v.kind) {
      case GoValue::Kind::kMap: {
        auto it = v.map->find(name);
        if (it == v.map->end()) return GoValue::nil();  // missingkey=zero on map[string]any
        return it->second;
      }
      case GoValue::Kind::kStruct: {
        const GoValue* f = v.st->field(name);
        if (!f) return err(pos, fmt::format("can't evaluate field {} in type struct", name));
        return *f;
      }
      case GoValue::Kind::kNil: return err(pos, fmt::format("nil pointer evaluating interface {{}}.{}", name));
      default: return err(pos, fmt::format("can't evaluate field {} in type {}", name, kind_name(v)));
    }
  }

  Result<GoValue> eval_arg(const Arg& a, const GoValue& dot) {
    GoValue v;
    switch (a.kind) {
      case Arg::Kind::kDot:
      case Arg::Kind::kField: v = dot; break;
      case Arg::Kind::kNil: v = GoValue::nil(); break;
      case Arg::Kind::kBool: v = GoValue::boolean(a.bool_value); break;
      case Arg::Kind::kString: v = GoValue::string(a.text); break;
      case Arg::Kind::kNumber: {
        auto n = parse_number(a);
        if (!n.ok()) return n.error();
        v = *n;
        break;
      }
      case Arg::Kind::kVariable: {
        GoValue* p = lookup_var(a.text);
        if (!p) return err(a.pos, fmt::format("undefined variable: {}", a.text));
        v = *p;
        break;
      }
      case Arg::Kind::kFunc: {
        auto r = call(a, {a}, 1, dot, nullptr);
        if (!r.ok()) return r.error();
        v = *r;
        break;
      }
      case Arg::Kind::kPipe: {
        const size_t mark = vars_.size();
        auto r = eval_pipe(*a.pipe, dot, true);
        vars_.resize(mark);
        if (!r.ok()) return r.error();
        v = *r;
        break;
      }
    }
    for (const auto& name : a.chain) {
      auto r = field(v, name, a.pos);
      if (!r.ok()) return r.error();
      v = std::move(*r);
    }
    return v;
  }

  Result<GoValue> parse_number(const Arg& a) {
    const std::string& t = a.text;
    std::string s;
    for (char c : t)
      if (c != '_') s += c;
    bool neg = false;
    std::string body = s;
    if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
      neg = body[0] == '-';
      body = body.substr(1);
    }
    int base = 10;
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) { base = 16; body = body.substr(2); }
    else if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'O')) { base = 8; body = body.substr(2); }
    else if (body.size() > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) { base = 2; body = body.substr(2); }
    int64_t iv = 0;
    auto r = std::from_chars(body.data(), body.data() + body.size(), iv, base);
    if (r.ec == std::errc() && r.ptr == body.data() + body.size())
      return GoValue::integer(neg ? -iv : iv);
    double dv = 0;
    auto r2 = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), dv);
    if (r2.ec == std::errc() && r2.ptr == s.data() + s.size()) return GoValue::number(dv);
    return err(a.pos, fmt::format("bad number syntax: {}", t));
  }

  Result<int64_t> to_index(const GoValue& v, Pos pos) {
    if (v.kind == GoValue::Kind::kInt) return v.i;
    if (v.kind == GoValue::Kind::kFloat && std::floor(v.f) == v.f && std::fabs(v.f) < 9e15)
      return static_cast<int64_t>(v.f);
    return err(pos, fmt::format("cannot index slice/array with type {}", kind_name(v)));
  }

  Result<int> compare(const GoValue& a, const GoValue& b, Pos pos, bool ordered) {
    if (is_number(a) && is_number(b)) {
      if (a.kind == GoValue::Kind::kInt && b.kind == GoValue::Kind::kInt) return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
      const double x = as_double(a), y = as_double(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.kind != b.kind) {
      if (!ordered && (a.is_nil() || b.is_nil())) return a.is_nil() && b.is_nil() ? 0 : 1;
      return err(pos, "incompatible types for comparison");
    }
    switch (a.kind) {
      case GoValue::Kind::kString: return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
      case GoValue::Kind::kBool:
        if (ordered) return err(pos, "invalid type for comparison");
        return a.b == b.b ? 0 : 1;
      case GoValue::Kind::kNil:
        if (ordered) return err(pos, "invalid type for comparison");
        return 0;
      default: return err(pos, ordered ? "invalid type for comparison" : "non-comparable type");
    }
  }

  // Calls function `fn` with args[from..] (+ final).
  Result<GoValue> call(const Arg& fn, const std::vector<Arg>& args, size_t from, const GoValue& dot,
                       const GoValue* final) {
    const std::string& name = fn.text;
    const Pos pos = fn.pos;
    if (name == "and" || name == "or") {
      const size_t n = args.size() - from + (final ? 1 : 0);
      if (n < 1) return err(pos, fmt::format("wrong number of args for {}: want at least 1 got 0", name));
      GoValue v;
      for (size_t k = from; k < args.size(); ++k) {
        auto r = eval_arg(args[k], dot);
        if (!r.ok()) return r.error();
        v = *r;
        if ((name == "and") != truth(v)) return v;
      }
      if (final) v = *final;
      return v;
    }
    std::vector<GoValue> vals;
    for (size_t k = from; k < args.size(); ++k) {
      auto r = eval_arg(args[k], dot);
      if (!r.ok()) return r.error();
      vals.push_back(std::move(*r));
    }
    if (final) vals.push_back(*final);
    auto want = [&](size_t n) -> Status {
      if (vals.size() != n)
        return err(pos, fmt::format("wrong number of args for {}: want {} got {}", name, n, vals.size()));
      return {};
    };
    if (name == "not") {
      CORRAL_TRY(want(1));
      return GoValue::boolean(!truth(vals[0]));
    }
    if (name == "len") {
      CORRAL_TRY(want(1));
      const GoValue& v = vals[0];
      switch (v.kind) {
        case GoValue::Kind::kString: return GoValue::integer(static_cast<int64_t>(v.s.size()));
        case GoValue::Kind::kList: return GoValue::integer(static_cast<int64_t>(v.list->size()));
        case GoValue::Kind::kMap: return GoValue::integer(static_cast<int64_t>(v.map->size()));
        default: return err(pos, fmt::format("error calling len: len of type {}", kind_name(v)));
      }
    }
    if (name == "eq") {
      if (vals.size() < 2) return err(pos, "wrong number of args for eq: want at least 2");
      for (size_t k = 1; k < vals.size(); ++k) {
        auto c = compare(vals[0], vals[k], pos, false);
        if (!c.ok()) return make_error("{}", "error calling eq: " + c.error().message);
        if (*c == 0) return GoValue::boolean(true);
      }
      return GoValue::boolean(false);
    }
    if (name == "ne" || name == "lt" || name == "le" || name == "gt" || name == "ge") {
      CORRAL_TRY(want(2));
      auto c = compare(vals[0], vals[1], pos, name != "ne");
      if (!c.ok()) return c.error();
      if (name == "ne") return GoValue::boolean(*c != 0);
      if (name == "lt") return GoValue::boolean(*c < 0);
      if (name == "le") return GoValue::boolean(*c <= 0);
      if (name == "gt") return GoValue::boolean(*c > 0);
      return GoValue::boolean(*c >= 0);
    }
    if (name == "index") {
      if (vals.empty()) return err(pos, "wrong number of args for index");
      GoValue v = vals[0];
      for (size_t k = 1; k < vals.size(); ++k) {
        if (v.kind == GoValue::Kind::kList || v.kind == GoValue::Kind::kString) {
          auto ix = to_index(vals[k], pos);
          if (!ix.ok()) return ix.error();
          const size_t n = v.kind == GoValue::Kind::kList ? v.list->size() : v.s.size();
          if (*ix < 0 || static_cast<size_t>(*ix) >= n)
            return err(pos, fmt::format("error calling index: index out of range: {}", *ix));
          if (v.kind == GoValue::Kind::kList) v = (*v.list)[static_cast<size_t>(*ix)];
          else v = GoValue::integer(static_cast<unsigned char>(v.s[static_cast<size_t>(*ix)]));
        } else if (v.kind == GoValue::Kind::kMap) {
          if (vals[k].kind != GoValue::Kind::kString) return err(pos, "error calling index: value has type not assignable to string");
          auto it = v.map->find(vals[k].s);
          v = it == v.map->end() ? GoValue::nil() : it->second;
        } else if (v.is_nil()) {
          return err(pos, "error calling index: index of untyped nil");
        } else {
          return err(pos, fmt::format("error calling index: can't index item of type {}", kind_name(v)));
        }
      }
      return v;
    }
    if (name == "slice") {
      if (vals.empty() || vals.size() > 4) return err(pos, "wrong number of args for slice");
      const GoValue& v = vals[0];
      if (v.kind != GoValue::Kind::kList && v.kind != GoValue::Kind::kString)
        return err(pos, fmt::format("error calling slice: can't slice item of type {}", kind_name(v)));
      if (v.kind == GoValue::Kind::kString && vals.size() > 3)
        return err(pos, "error calling slice: cannot 3-index slice a string");
      const int64_t len = static_cast<int64_t>(v.kind == GoValue::Kind::kList ? v.list->size() : v.s.size());
      int64_t idx[3] = {0, len, len};
      for (size_t k = 1; k < vals.size(); ++k) {
        auto ix = to_index(vals[k], pos);
        if (!ix.ok()) return ix.error();
        if (*ix < 0 || *ix > len) return err(pos, fmt::format("error calling slice: index out of range: {}", *ix));
        idx[k - 1] = *ix;
      }
      if (idx[0] > idx[1]) return err(pos, fmt::format("error calling slice: invalid slice index: {} > {}", idx[0], idx[1]));
      if (v.kind == GoValue::Kind::kString)
        return GoValue::string(v.s.substr(static_cast<size_t>(idx[0]), static_cast<size_t>(idx[1] - idx[0])));
      std::vector<GoValue> out(v.list->begin() + idx[0], v.list->begin() + idx[1]);
      return GoValue::make_list(std::move(out));
    }
    if (name == "print") return GoValue::string(sprint(vals));
    if (name == "println") {
      std::string s;
      for (size_t k = 0; k < vals.size(); ++k) {
        if (k) s += ' ';
        s += go_verb_value(vals[k]);
      }
      return GoValue::string(s + "\n");
    }
    if (name == "printf") {
      if (vals.empty()) return err(pos, "wrong number of args for printf: want at least 1 got 0");
      if (vals[0].kind != GoValue::Kind::kString) return err(pos, "printf format must be a string");
      return GoValue::string(sprintf_go(vals[0].s, std::vector<GoValue>(vals.begin() + 1, vals.end())));
    }
    if (name == "html" || name == "js" || name == "urlquery") {
      std::string s = (vals.size() == 1 && vals[0].kind == GoValue::Kind::kString) ? vals[0].s : sprint(vals);
      if (name == "html") return GoValue::string(html_escape(s));
      if (name == "js") return GoValue::string(js_escape(s));
      return GoValue::string(url_query_escape(s));
    }
    if (name == "json") {
      CORRAL_TRY(want(1));
      return GoValue::string(json_marshal(vals[0]));
    }
    if (name == "currentDate") return GoValue::string(date_string(0, limits_.fixed_time));
    if (name == "yesterdayDate") return GoValue::string(date_string(1, limits_.fixed_time));
    return err(pos, fmt::format("function \"{}\" not defined", name));
  }

  const std::string& name_;
  const Limits& limits_;
  const std::map<std::string, NodeList>& defines_;
  std::string out_;
  std::vector<std::pair<std::string, GoValue>> vars_;
  size_t steps_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<std::string> Template::execute(const GoValue& data) const {
  Exec e(name_, limits_, *defines_);
  return e.run(root_, data);
}

}  // namespace corral::gotmpl
