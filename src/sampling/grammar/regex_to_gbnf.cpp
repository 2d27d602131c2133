// Regex subset -> GBNF by recursive descent over code points.
#include "sampling/grammar/regex_to_gbnf.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/utf8.h"
#include "sampling/grammar/grammar.h"

namespace corral::grammar {

namespace {

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

Ranges norm(Ranges r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (const auto& p : r) {
    if (!out.empty() && p.first <= out.back().second + 1) out.back().second = std::max(out.back().second, p.second);
    else out.push_back(p);
  }
  return out;
}

Ranges complement(const Ranges& r0) {
  Ranges r = norm(r0), out;
  uint32_t next = 0;
  for (const auto& p : r) {
    if (p.first > next) out.emplace_back(next, p.first - 1);
    next = p.second + 1;
  }
  if (next <= 0x10FFFF) out.emplace_back(next, 0x10FFFF);
  return out;
}

Ranges intersect(const Ranges& a0, const Ranges& b0) {
  Ranges a = norm(a0), b = norm(b0), out;
  for (const auto& x : a)
    for (const auto& y : b) {
      const uint32_t lo = std::max(x.first, y.first), hi = std::min(x.second, y.second);
      if (lo <= hi) out.emplace_back(lo, hi);
    }
  return norm(out);
}

bool contains(const Ranges& r, uint32_t cp) {
  for (const auto& p : r)
    if (cp >= p.first && cp <= p.second) return true;
  return false;
}

const Ranges kDigit = {{'0', '9'}};
const Ranges kWord = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
const Ranges kSpaceChars = {{'\t', '\r'}, {' ', ' '}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A},
                            {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};

void class_char(std::string& out, uint32_t cp) {
  if (cp == ']' || cp == '[' || cp == '-' || cp == '^' || cp == '\\' || cp == '"') out += '\\';
  append_utf8(out, cp);
}

// The code points of `r` as JSON string content: plain where allowed, escaped otherwise.
std::string ranges_expr(const Ranges& r0) {
  const Ranges r = norm(r0);
  const Ranges safe = intersect(r, {{0x20, 0x21}, {0x23, 0x5B}, {0x5D, 0xD7FF}, {0xE000, 0x10FFFF}});
  std::vector<std::string> alts;
  if (!safe.empty()) {
    std::string cls = "[";
    for (const auto& [lo, hi] : safe) {
      class_char(cls, lo);
      if (hi != lo) { cls += '-'; class_char(cls, hi); }
    }
    alts.push_back(cls + "]");
  }
  if (contains(r, '"')) alts.push_back(R"("\\\"")");
  if (contains(r, '\\')) alts.push_back(R"("\\\\")");
  const std::pair<uint32_t, const char*> ctl[] = {{'\n', R"("\\n")"}, {'\r', R"("\\r")"}, {'\t', R"("\\t")"},
                                                 {'\b', R"("\\b")"}, {'\f', R"("\\f")"}};
  for (uint32_t c = 0; c < 0x20; ++c) {
    if (!contains(r, c)) continue;
    const char* lit = nullptr;
    for (const auto& [k, v] : ctl) if (k == c) lit = v;
    alts.push_back(lit ? std::string(lit) : fmt::format(R"("\\u00{:02x}")", c));
  }
  if (alts.empty()) return "";
  if (alts.size() == 1) return alts[0];
  std::string out = "(";
  for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
  return out + ")";
}

struct Node {
  std::string expr;
  bool nullable;
};

class RegexParser {
 public:
  RegexParser(std::string_view p, uint32_t max_count) : p_(p), max_(max_count) {}

  Result<std::string> run() {
    if (!p_.empty() && p_[0] == '^') p_.remove_prefix(1);
    if (!p_.empty() && p_.back() == '$' && (p_.size() < 2 || p_[p_.size() - 2] != '\\')) p_.remove_suffix(1);
    auto n = alternation(0);
    if (!n.ok()) return n.error();
    if (pos_ < p_.size()) return err("unexpected '{}'", p_[pos_]);
    return n->expr.empty() ? std::string("\"\"") : n->expr;
  }

 private:
  template <class... Args>
  Error err(fmt::format_string<Args...> f, Args&&... args) const {
    return make_error("{} at offset {}", fmt::format(f, std::forward<Args>(args)...), pos_);
  }
  bool at(char c) const { return pos_ < p_.size() && p_[pos_] == c; }

  Result<Node> alternation(int depth) {
    if (depth > 32) return err("groups nested too deeply");
    std::vector<Node> alts;
    for (;;) {
      auto s = sequence(depth);
      if (!s.ok()) return s.error();
      alts.push_back(std::move(*s));
      if (!at('|')) break;
      ++pos_;
    }
    if (alts.size() == 1) return alts[0];
    Node out{"(", false};
    for (size_t i = 0; i < alts.size(); ++i) {
      out.expr += (i ? " | " : "") + (alts[i].expr.empty() ? std::string("\"\"") : alts[i].expr);
      out.nullable |= alts[i].nullable;
    }
    out.expr += ")";
    return out;
  }

  Result<Node> sequence(int depth) {
    Node seq{"", true};
    while (pos_ < p_.size() && !at('|') && !at(')')) {
      auto a = atom(depth);
      if (!a.ok()) return a.error();
      auto q = quantified(std::move(*a));
      if (!q.ok()) return q.error();
      if (q->expr.empty()) continue;
      seq.expr += (seq.expr.empty() ? "" : " ") + q->expr;
      seq.nullable = seq.nullable && q->nullable;
    }
    return seq;
  }

  Result<uint32_t> number() {
    const size_t start = pos_;
    uint64_t v = 0;
    while (pos_ < p_.size() && p_[pos_] >= '0' && p_[pos_] <= '9') {
      v = v * 10 + static_cast<uint64_t>(p_[pos_++] - '0');
      if (v > max_) return err("repetition count larger than {}", max_);
    }
    if (pos_ == start) return err("expected a number in a repetition");
    return static_cast<uint32_t>(v);
  }

  Result<Node> quantified(Node a) {
    if (pos_ >= p_.size()) return a;
    const char c = p_[pos_];
    uint32_t lo, hi;  // hi UINT32_MAX: unbounded
    if (c == '*') { lo = 0; hi = UINT32_MAX; ++pos_; }
    else if (c == '+') { lo = 1; hi = UINT32_MAX; ++pos_; }
    else if (c == '?') { lo = 0; hi = 1; ++pos_; }
    else if (c == '{') {
      ++pos_;
      auto n = number();
      if (!n.ok()) return n.error();
      lo = hi = *n;
      if (at(',')) {
        ++pos_;
        hi = UINT32_MAX;
        if (!at('}')) {
          auto m = number();
          if (!m.ok()) return m.error();
          hi = *m;
          if (hi < lo) return err("repetition {{{},{}}} has max < min", lo, hi);
        }
      }
      if (!at('}')) return err("expected '}}'");
      ++pos_;
    } else {
      return a;
    }
    if (at('?')) ++pos_;  // lazy: same language
    if (at('*') || at('+') || at('?') || at('{')) return err("nothing to repeat");
    if (a.expr.empty()) return a;
    if (hi == UINT32_MAX && a.nullable)
      return err("a repetition of something that can match the empty string is unsupported");
    std::string q;
    if (lo == 0 && hi == UINT32_MAX) q = "*";
    else if (lo == 1 && hi == UINT32_MAX) q = "+";
    else if (lo == 0 && hi == 1) q = "?";
    else if (hi == UINT32_MAX) q = fmt::format("{{{},}}", lo);
    else q = fmt::format("{{{},{}}}", lo, hi);
    const bool simple = a.expr.front() == '[' || a.expr.front() == '(' ||
                        (a.expr.front() == '"' && a.expr.find(' ') == std::string::npos);
    return Node{(simple ? a.expr : "(" + a.expr + ")") + q, a.nullable || lo == 0};
  }

  Result<uint32_t> hex(size_t n) {
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (pos_ >= p_.size()) return err("truncated escape");
      const char h = p_[pos_++];
      uint32_t d;
      if (h >= '0' && h <= '9') d = static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') d = static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') d = static_cast<uint32_t>(h - 'A' + 10);
      else return err("bad hex digit '{}'", h);
      v = v * 16 + d;
    }
    return v;
  }

  // After a backslash: a set of code points.
  Result<Ranges> escape(bool in_class) {
    if (pos_ >= p_.size()) return err("pattern ends with '\\'");
    const char e = p_[pos_++];
    switch (e) {
      case 'd': return kDigit;
      case 'D': return complement(kDigit);
      case 'w': return kWord;
      case 'W': return complement(kWord);
      case 's': return kSpaceChars;
      case 'S': return complement(kSpaceChars);
      case 'n': return Ranges{{'\n', '\n'}};
      case 'r': return Ranges{{'\r', '\r'}};
      case 't': return Ranges{{'\t', '\t'}};
      case 'f': return Ranges{{'\f', '\f'}};
      case 'v': return Ranges{{'\v', '\v'}};
      case '0': return Ranges{{0, 0}};
      case 'b':
        if (in_class) return Ranges{{'\b', '\b'}};
        return err("word boundary \\b is unsupported");
      case 'x': {
        auto v = hex(2);
        if (!v.ok()) return v.error();
        return Ranges{{*v, *v}};
      }
      case 'u': {
        uint32_t v;
        if (at('{')) {
          ++pos_;
          const size_t start = pos_;
          while (pos_ < p_.size() && p_[pos_] != '}') ++pos_;
          if (pos_ >= p_.size() || pos_ - start > 6 || pos_ == start) return err("bad \\u{{...}} escape");
          const size_t end = pos_;
          pos_ = start;
          auto h = hex(end - start);
          if (!h.ok()) return h.error();
          ++pos_;
          v = *h;
        } else {
          auto h = hex(4);
          if (!h.ok()) return h.error();
          v = *h;
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return err("escape \\u{:X} is not a usable code point", v);
        return Ranges{{v, v}};
      }
      default:
        if ((e >= '1' && e <= '9') || e == 'k') return err("backreferences are unsupported");
        if (e == 'B' || e == 'p' || e == 'P' || e == 'c') return err("\\{} is unsupported", e);
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')) return err("unknown escape \\{}", e);
        --pos_;
        uint32_t cp = 0;
        const size_t n = decode_utf8(p_, pos_, &cp);
        if (n == 0) return err("invalid UTF-8");
        pos_ += n;
        return Ranges{{cp, cp}};
    }
  }

  Result<uint32_t> class_member_char(Ranges& set, bool* was_set) {
    *was_set = false;
    if (at('\\')) {
      ++pos_;
      auto r = escape(true);
      if (!r.ok()) return r.error();
      if (r->size() == 1 && (*r)[0].first == (*r)[0].second) return (*r)[0].first;
      set.insert(set.end(), r->begin(), r->end());
      *was_set = true;
      return 0u;
    }
    uint32_t cp = 0;
    const size_t n = decode_utf8(p_, pos_, &cp);
    if (n == 0) return err("invalid UTF-8");
    pos_ += n;
    return cp;
  }

  Result<Node> char_class() {
    bool negate = false;
    if (at('^')) { negate = true; ++pos_; }
    Ranges set;
    bool first = true;
    for (;;) {
      if (pos_ >= p_.size()) return err("unterminated character class");
      if (at(']') && !first) { ++pos_; break; }
      if (at(']') && first) return err("empty character class");
      first = false;
      bool was_set = false;
      auto lo = class_member_char(set, &was_set);
      if (!lo.ok()) return lo.error();
      if (was_set) continue;
      if (at('-') && pos_ + 1 < p_.size() && p_[pos_ + 1] != ']') {
        ++pos_;
        bool hi_set = false;
        auto hi = class_member_char(set, &hi_set);
        if (!hi.ok()) return hi.error();
        if (hi_set) return err("a class escape cannot end a range");
        if (*hi < *lo) return err("reversed range in character class");
        set.emplace_back(*lo, *hi);
      } else {
        set.emplace_back(*lo, *lo);
      }
    }
    const std::string e = ranges_expr(negate ? complement(set) : set);
    if (e.empty()) return err("character class matches nothing usable");
    return Node{e, false};
  }

  Result<Node> atom(int depth) {
    const char c = p_[pos_];
    if (c == '(') {
      ++pos_;
      if (at('?')) {
        if (pos_ + 1 < p_.size() && p_[pos_ + 1] == ':') pos_ += 2;
        else return err("lookarounds and named groups are unsupported");
      }
      auto inner = alternation(depth + 1);
      if (!inner.ok()) return inner.error();
      if (!at(')')) return err("expected ')'");
      ++pos_;
      if (inner->expr.empty()) return inner;
      return Node{"(" + inner->expr + ")", inner->nullable};
    }
    if (c == '[') {
      ++pos_;
      return char_class();
    }
    if (c == '.') {
      ++pos_;
      return Node{ranges_expr(complement({{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}})), false};
    }
    if (c == '\\') {
      ++pos_;
      auto r = escape(false);
      if (!r.ok()) return r.error();
      const std::string e = ranges_expr(*r);
      if (e.empty()) return err("escape matches nothing usable");
      return Node{e, false};
    }
    if (c == '^' || c == '$') return err("anchors are only supported at the ends of the pattern");
    if (c == '*' || c == '+' || c == '?' || c == '{' || c == '}' || c == ']') return err("unexpected '{}'", c);
    uint32_t cp = 0;
    const size_t n = decode_utf8(p_, pos_, &cp);
    if (n == 0) return err("invalid UTF-8");
    pos_ += n;
    return Node{ranges_expr({{cp, cp}}), false};
  }

  std::string_view p_;
  uint32_t max_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::string> regex_to_gbnf(std::string_view pattern, uint32_t max_count) {
  if (pattern.size() > 4096) return make_error("pattern longer than 4096 bytes");
  return RegexParser(pattern, max_count).run();
}

}  // namespace corral::grammar
