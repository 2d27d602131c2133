// GBNF parsing into Grammar, and the checks that make a grammar safe to match.
#include "sampling/grammar/grammar.h"

#include <algorithm>
#include <unordered_map>

#include "base/utf8.h"

namespace corral::grammar {


bool CharSet::contains(uint32_t cp) const {
  // Few ranges in practice; a binary search keeps big classes cheap too.
  auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                             [](uint32_t v, const std::pair<uint32_t, uint32_t>& r) { return v < r.first; });
  if (it == ranges.begin()) return false;
  --it;
  return cp <= it->second;
}

bool CharSet::intersects(uint32_t lo, uint32_t hi) const {
  for (const auto& r : ranges)
    if (r.first <= hi && lo <= r.second) return true;
  return false;
}

size_t Grammar::n_elements() const {
  size_t n = 0;
  for (const Rule& r : rules)
    for (const auto& a : r.alternatives) n += a.size() + 1;
  return n;
}



namespace {

CharSet normalise(std::vector<std::pair<uint32_t, uint32_t>> r, bool negate) {
  std::sort(r.begin(), r.end());
  CharSet cs;
  for (const auto& p : r) {
    if (!cs.ranges.empty() && p.first <= cs.ranges.back().second + 1)
      cs.ranges.back().second = std::max(cs.ranges.back().second, p.second);
    else
      cs.ranges.push_back(p);
  }
  if (!negate) return cs;
  CharSet inv;
  uint32_t next = 0;
  for (const auto& p : cs.ranges) {
    if (p.first > next) inv.ranges.emplace_back(next, p.first - 1);
    next = p.second + 1;
  }
  if (next <= kMaxCodePoint) inv.ranges.emplace_back(next, kMaxCodePoint);
  return inv;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

class Parser {
 public:
  Parser(std::string_view src, const GrammarLimits& limits) : src_(src), lim_(limits) {}

  Result<Grammar> run() {
    if (src_.size() > lim_.max_source_bytes)
      return make_error("grammar is {} bytes, more than the limit of {}", src_.size(), lim_.max_source_bytes);
    for (;;) {
      skip_space(true);
      if (pos_ >= src_.size()) break;
      CORRAL_TRY(parse_rule());
    }
    for (size_t i = 0; i < g_.rules.size(); ++i) {
      if (!defined_[i]) {
        auto [line, col] = line_col(first_ref_[i]);
        return make_error("grammar: undefined rule '{}' (referenced at line {}, column {})",
                          g_.rules[i].name, line, col);
      }
    }
    auto it = names_.find("root");
    if (it == names_.end()) return make_error("grammar: no 'root' rule");
    g_.root = it->second;
    CORRAL_TRY(validate_grammar(g_));
    return std::move(g_);
  }

 private:
  std::pair<size_t, size_t> line_col(size_t at) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < src_.size(); ++i) {
      if (src_[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    return {line, col};
  }
  template <class... Args>
  Error err(fmt::format_string<Args...> f, Args&&... args) const {
    auto [line, col] = line_col(pos_);
    return make_error("grammar: line {}, column {}: {}", line, col, fmt::format(f, std::forward<Args>(args)...));
  }

  void skip_space(bool newlines) {
    while (pos_ < src_.size()) {
      const char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '\n' && newlines) {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  uint32_t rule_id(std::string_view name, size_t at) {
    auto it = names_.find(std::string(name));
    if (it != names_.end()) return it->second;
    const auto id = static_cast<uint32_t>(g_.rules.size());
    g_.rules.push_back(Rule{std::string(name), {}});
    defined_.push_back(false);
    first_ref_.push_back(at);
    names_.emplace(std::string(name), id);
    return id;
  }

  Result<uint32_t> new_rule(const std::string& base) {
    if (g_.rules.size() >= lim_.max_rules) return err("more than {} rules (after expanding groups and repetitions)", lim_.max_rules);
    const auto id = static_cast<uint32_t>(g_.rules.size());
    g_.rules.push_back(Rule{fmt::format("{}-{}", base, ++n_generated_), {}});
    defined_.push_back(true);
    first_ref_.push_back(pos_);
    return id;
  }

  Status count(size_t n) {
    n_elements_ += n;
    if (n_elements_ > lim_.max_elements) return err("grammar too large: more than {} elements", lim_.max_elements);
    return {};
  }

  Status parse_rule() {
    const size_t start = pos_;
    while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
    if (pos_ == start) return err("expected a rule name, found '{}'", src_[pos_]);
    const std::string name(src_.substr(start, pos_ - start));
    skip_space(false);
    if (src_.substr(pos_, 3) != "::=") return err("expected '::=' after rule name '{}'", name);
    pos_ += 3;
    skip_space(true);
    if (g_.rules.size() >= lim_.max_rules) return err("more than {} rules", lim_.max_rules);
    const uint32_t id = rule_id(name, start);
    if (defined_[id]) {
      pos_ = start;
      return err("rule '{}' is defined twice", name);
    }
    defined_[id] = true;
    current_ = name;
    auto alts = parse_alternatives(0);
    if (!alts.ok()) return alts.error();
    g_.rules[id].alternatives = std::move(*alts);
    skip_space(false);
    if (pos_ < src_.size() && src_[pos_] != '\n') return err("unexpected '{}' after rule '{}'", src_[pos_], name);
    return {};
  }

  Result<std::vector<std::vector<Element>>> parse_alternatives(uint32_t depth) {
    if (depth > lim_.max_nesting) return err("groups nested deeper than {}", lim_.max_nesting);
    std::vector<std::vector<Element>> alts;
    for (;;) {
      auto seq = parse_sequence(depth);
      if (!seq.ok()) return seq.error();
      alts.push_back(std::move(*seq));
      CORRAL_TRY(count(1));
      if (pos_ < src_.size() && src_[pos_] == '|') {
        ++pos_;
        skip_space(true);
        continue;
      }
      return alts;
    }
  }

  Result<uint32_t> parse_char() {
    if (pos_ >= src_.size()) return err("unexpected end of grammar");
    if (src_[pos_] == '\\') {
      if (pos_ + 1 >= src_.size()) return err("unexpected end of grammar after '\\'");
      const char e = src_[pos_ + 1];
      pos_ += 2;
      int digits = 0;
      switch (e) {
        case 'n': return uint32_t{'\n'};
        case 'r': return uint32_t{'\r'};
        case 't': return uint32_t{'\t'};
        case '0': return uint32_t{0};
        case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': case '.':
        case '(': case ')': case '|': case '*': case '+': case '?': case '{': case '}':
          return static_cast<uint32_t>(static_cast<unsigned char>(e));
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default:
          pos_ -= 2;
          return err("unknown escape '\\{}'", e);
      }
      uint32_t v = 0;
      for (int k = 0; k < digits; ++k) {
        if (pos_ >= src_.size()) return err("unexpected end of grammar in a \\{} escape", e);
        const char h = src_[pos_];
        uint32_t d;
        if (h >= '0' && h <= '9') d = static_cast<uint32_t>(h - '0');
        else if (h >= 'a' && h <= 'f') d = static_cast<uint32_t>(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F') d = static_cast<uint32_t>(h - 'A' + 10);
        else return err("expected {} hex digits after \\{}", digits, e);
        v = (v << 4) | d;
        ++pos_;
      }
      if (v > kMaxCodePoint) return err("code point U+{:X} is out of range", v);
      return v;
    }
    uint32_t cp = 0;
    const size_t n = decode_utf8(src_, pos_, &cp);
    if (n == 0) return err("invalid UTF-8");
    pos_ += n;
    return cp;
  }

  uint32_t add_charset(CharSet cs) {
    g_.charsets.push_back(std::move(cs));
    return static_cast<uint32_t>(g_.charsets.size() - 1);
  }

  Result<std::vector<Element>> parse_sequence(uint32_t depth) {
    std::vector<Element> seq;
    size_t last_start = SIZE_MAX;
    for (;;) {
      if (pos_ >= src_.size()) break;
      const char c = src_[pos_];
      if (c == '"') {
        ++pos_;
        last_start = seq.size();
        for (;;) {
          if (pos_ >= src_.size() || src_[pos_] == '\n') return err("unterminated string literal");
          if (src_[pos_] == '"') { ++pos_; break; }
          auto cp = parse_char();
          if (!cp.ok()) return cp.error();
          CORRAL_TRY(count(1));
          seq.push_back({Element::Kind::kChars, add_charset(CharSet{{{*cp, *cp}}})});
        }
      } else if (c == '[') {
        ++pos_;
        bool negate = false;
        if (pos_ < src_.size() && src_[pos_] == '^') { negate = true; ++pos_; }
        std::vector<std::pair<uint32_t, uint32_t>> ranges;
        for (;;) {
          if (pos_ >= src_.size() || src_[pos_] == '\n') return err("unterminated character class");
          if (src_[pos_] == ']') { ++pos_; break; }
          auto lo = parse_char();
          if (!lo.ok()) return lo.error();
          uint32_t hi = *lo;
          if (pos_ + 1 < src_.size() && src_[pos_] == '-' && src_[pos_ + 1] != ']') {
            ++pos_;
            auto h = parse_char();
            if (!h.ok()) return h.error();
            if (*h < *lo) return err("character range is reversed (U+{:X} > U+{:X})", *lo, *h);
            hi = *h;
          }
          ranges.emplace_back(*lo, hi);
        }
        last_start = seq.size();
        CORRAL_TRY(count(1));
        seq.push_back({Element::Kind::kChars, add_charset(normalise(std::move(ranges), negate))});
      } else if (c == '.') {
        ++pos_;
        last_start = seq.size();
        CORRAL_TRY(count(1));
        seq.push_back({Element::Kind::kChars, add_charset(CharSet{{{0, kMaxCodePoint}}})});
      } else if (is_name_char(c)) {
        const size_t start = pos_;
        while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
        const auto name = src_.substr(start, pos_ - start);
        // `name ::=` on the same line means a new rule began without a newline.
        size_t p = pos_;
        while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t')) ++p;
        if (src_.substr(p, 3) == "::=") {
          pos_ = start;
          return err("expected a newline before the definition of '{}'", name);
        }
        if (g_.rules.size() >= lim_.max_rules) return err("more than {} rules", lim_.max_rules);
        last_start = seq.size();
        CORRAL_TRY(count(1));
        seq.push_back({Element::Kind::kRule, rule_id(name, start)});
      } else if (c == '(') {
        ++pos_;
        skip_space(true);
        auto alts = parse_alternatives(depth + 1);
        if (!alts.ok()) return alts.error();
        if (pos_ >= src_.size() || src_[pos_] != ')') return err("expected ')'");
        ++pos_;
        auto id = new_rule(current_);
        if (!id.ok()) return id.error();
        g_.rules[*id].alternatives = std::move(*alts);
        last_start = seq.size();
        CORRAL_TRY(count(1));
        seq.push_back({Element::Kind::kRule, *id});
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (last_start == SIZE_MAX) return err("'{}' has nothing to repeat", c);
        uint32_t min = 0, max = UINT32_MAX;  // UINT32_MAX: unbounded
        ++pos_;
        if (c == '+') min = 1;
        else if (c == '?') max = 1;
        else if (c == '{') {
          skip_space(false);
          auto m = parse_int();
          if (!m.ok()) return m.error();
          min = max = *m;
          skip_space(false);
          if (pos_ < src_.size() && src_[pos_] == ',') {
            ++pos_;
            skip_space(false);
            max = UINT32_MAX;
            if (pos_ < src_.size() && src_[pos_] != '}') {
              auto n = parse_int();
              if (!n.ok()) return n.error();
              max = *n;
              if (max < min) return err("repetition {{{},{}}} has max < min", min, max);
            }
            skip_space(false);
          }
          if (pos_ >= src_.size() || src_[pos_] != '}') return err("expected '}}' to close the repetition");
          ++pos_;
        }
        CORRAL_TRY(repeat(seq, last_start, min, max));
        last_start = SIZE_MAX;
      } else {
        break;
      }
      skip_space(depth > 0);
    }
    return seq;
  }

  Result<uint32_t> parse_int() {
    const size_t start = pos_;
    uint64_t v = 0;
    while (pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '9') {
      v = v * 10 + static_cast<uint64_t>(src_[pos_] - '0');
      if (v > lim_.max_repeat) return err("repetition count is larger than {}", lim_.max_repeat);
      ++pos_;
    }
    if (pos_ == start) return err("expected a number");
    return static_cast<uint32_t>(v);
  }

  // Replaces seq[from..] by `min` copies followed by (max - min) optional copies (or a star).
  Status repeat(std::vector<Element>& seq, size_t from, uint32_t min, uint32_t max) {
    Element x;
    if (seq.size() - from == 1) {
      x = seq.back();
    } else {
      auto id = new_rule(current_);
      if (!id.ok()) return id.error();
      g_.rules[*id].alternatives.push_back(std::vector<Element>(seq.begin() + static_cast<std::ptrdiff_t>(from), seq.end()));
      x = {Element::Kind::kRule, *id};
    }
    seq.resize(from);
    CORRAL_TRY(count(min));
    for (uint32_t i = 0; i < min; ++i) seq.push_back(x);
    if (max == UINT32_MAX) {
      auto id = new_rule(current_);  // star ::= x star | ""
      if (!id.ok()) return id.error();
      const Element self{Element::Kind::kRule, *id};
      g_.rules[*id].alternatives = {{x, self}, {}};
      CORRAL_TRY(count(4));
      seq.push_back(self);
    } else if (max > min) {
      // opt_1 ::= x | "" ; opt_k ::= x opt_{k-1} | ""
      Element prev{};
      for (uint32_t k = 1; k <= max - min; ++k) {
        auto id = new_rule(current_);
        if (!id.ok()) return id.error();
        std::vector<Element> a{x};
        if (k > 1) a.push_back(prev);
        g_.rules[*id].alternatives = {std::move(a), {}};
        CORRAL_TRY(count(4));
        prev = {Element::Kind::kRule, *id};
      }
      seq.push_back(prev);
    }
    return {};
  }

  std::string_view src_;
  GrammarLimits lim_;
  size_t pos_ = 0;
  Grammar g_;
  std::unordered_map<std::string, uint32_t> names_;
  std::vector<bool> defined_;
  std::vector<size_t> first_ref_;
  std::string current_;
  size_t n_generated_ = 0;
  size_t n_elements_ = 0;
};

}  // namespace

Result<Grammar> parse_gbnf(std::string_view text, const GrammarLimits& limits) {
  return Parser(text, limits).run();
}

Status validate_grammar(const Grammar& g) {
  const size_t n = g.rules.size();
  if (g.root >= n) return make_error("grammar: the root rule is missing");
  for (const Rule& r : g.rules)
    for (const auto& a : r.alternatives)
      for (const Element& e : a) {
        if (e.kind == Element::Kind::kRule && e.index >= n)
          return make_error("grammar: rule '{}' refers to a missing rule", r.name);
        if (e.kind == Element::Kind::kChars && e.index >= g.charsets.size())
          return make_error("grammar: rule '{}' refers to a missing character set", r.name);
      }
  // Nullable and productive rules, by fixed point.
  std::vector<char> nullable(n, 0), productive(n, 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n; ++i) {
      for (const auto& a : g.rules[i].alternatives) {
        bool all_null = true, all_prod = true;
        for (const Element& e : a) {
          if (e.kind == Element::Kind::kChars) {
            all_null = false;
            if (g.charsets[e.index].empty()) all_prod = false;
          } else {
            if (!nullable[e.index]) all_null = false;
            if (!productive[e.index]) all_prod = false;
          }
        }
        if (all_null && !nullable[i]) { nullable[i] = 1; changed = true; }
        if (all_prod && !productive[i]) { productive[i] = 1; changed = true; }
      }
    }
  }
  // Left recursion: a cycle through rules reachable without consuming a character.
  std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the DFS path, 2 done
  std::vector<std::pair<uint32_t, size_t>> stack;  // rule, next alternative-element cursor
  std::vector<std::vector<uint32_t>> left(n);
  for (size_t i = 0; i < n; ++i)
    for (const auto& a : g.rules[i].alternatives)
      for (const Element& e : a) {
        if (e.kind == Element::Kind::kChars) break;
        left[i].push_back(e.index);
        if (!nullable[e.index]) break;
      }
  for (size_t s = 0; s < n; ++s) {
    if (color[s]) continue;
    stack.emplace_back(static_cast<uint32_t>(s), 0);
    color[s] = 1;
    while (!stack.empty()) {
      auto& [r, k] = stack.back();
      if (k < left[r].size()) {
        const uint32_t t = left[r][k++];
        if (color[t] == 1)
          return make_error("grammar: rule '{}' is left-recursive (it can reach itself without consuming a character; "
                            "a repetition of something that can be empty does this too)", g.rules[t].name);
        if (color[t] == 0) {
          color[t] = 1;
          stack.emplace_back(t, 0);
        }
      } else {
        color[r] = 2;
        stack.pop_back();
      }
    }
  }
  if (!productive[g.root])
    return make_error("grammar accepts nothing: rule '{}' derives no finite string", g.rules[g.root].name);
  return {};
}

namespace {
void append_escaped(std::string& out, uint32_t cp, bool in_class) {
  switch (cp) {
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    case '\\': out += "\\\\"; return;
    case '"': if (!in_class) { out += "\\\""; return; } break;
    case ']': case '[': case '-': case '^': if (in_class) { out += '\\'; out += static_cast<char>(cp); return; } break;
    default: break;
  }
  if (cp < 0x20 || cp == 0x7F) out += fmt::format("\\x{:02X}", cp);
  else if (cp >= 0xD800 && cp <= 0xDFFF) out += fmt::format("\\u{:04X}", cp);
  else append_utf8(out, cp);
}
}  // namespace

std::string to_gbnf(const Grammar& g) {
  // Generated names ("x-3") can clash with a user's rule of that name: make them unique.
  std::vector<std::string> names;
  std::unordered_map<std::string, int> used;
  for (const Rule& r : g.rules) {
    std::string n = r.name;
    while (used.count(n)) n += "-x";
    used[n] = 1;
    names.push_back(std::move(n));
  }
  std::string out;
  for (size_t ri = 0; ri < g.rules.size(); ++ri) {
    const Rule& r = g.rules[ri];
    out += names[ri] + " ::=";
    for (size_t a = 0; a < r.alternatives.size(); ++a) {
      if (a) out += " |";
      const auto& alt = r.alternatives[a];
      if (alt.empty()) out += " \"\"";
      bool in_literal = false;
      for (const Element& e : alt) {
        if (e.kind == Element::Kind::kRule) {
          if (in_literal) { out += '"'; in_literal = false; }
          out += ' ' + names[e.index];
          continue;
        }
        const CharSet& cs = g.charsets[e.index];
        if (cs.ranges.size() == 1 && cs.ranges[0].first == cs.ranges[0].second) {
          if (!in_literal) { out += " \""; in_literal = true; }
          append_escaped(out, cs.ranges[0].first, false);
          continue;
        }
        if (in_literal) { out += '"'; in_literal = false; }
        out += " [";
        for (const auto& [lo, hi] : cs.ranges) {
          append_escaped(out, lo, true);
          if (hi != lo) { out += '-'; append_escaped(out, hi, true); }
        }
        out += ']';
      }
      if (in_literal) out += '"';
    }
    out += '\n';
  }
  return out;
}

}  // namespace corral::grammar
