// Go text/template parser: scans text and {{ actions }} (with trim markers and comments) and
// builds the Node tree; define/block bodies go to the template's define table.
#include <algorithm>
#include <cctype>
#include <functional>

#include "base/utf8.h"
#include "chat/gotmpl.h"

namespace corral::gotmpl {
namespace {

struct Tok {
  enum class K { kIdent, kField, kVar, kDot, kString, kNumber, kLParen, kRParen, kPipe, kComma,
                 kDeclare, kAssign };
  K k;
  std::string text;
  Pos pos;
  bool space_before = false;
};

struct Terminator {
  enum class K { kEof, kEnd, kElse };
  K k = K::kEof;
  std::vector<Tok> rest;  // tokens after `else`
  Pos pos;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}


class Parser {
 public:
  Parser(std::string_view src, std::string name, const Limits& limits,
         std::map<std::string, NodeList>& defines)
      : src_(src), name_(std::move(name)), limits_(limits), defines_(defines), lines_(src) {}

  Result<NodeList> parse_root() {
    NodeList root;
    auto t = parse_list(root, 0, 0, true);
    if (!t.ok()) return t.error();
    if (t->k == Terminator::K::kEnd) return err(t->pos, "unexpected {{end}}");
    if (t->k == Terminator::K::kElse) return err(t->pos, "unexpected {{else}}");
    return root;
  }

 private:
  Pos pos_at(size_t off) const { return lines_.at(off); }

  Error err(Pos p, const std::string& msg) const {
    return make_error("template: {}:{}:{}: {}", name_, p.line, p.col, msg);
  }

  // Lexes one action starting after "{{"; fills toks, sets trim flags and advances p_ past "}}".
  // Returns false (with error) on a malformed action. `comment` is set for {{/* */}}.
  Status lex_action(std::vector<Tok>& toks, bool& trim_right, bool& comment) {
    toks.clear();
    trim_right = false;
    comment = false;
    const size_t start = p_;
    // Comment: "/*" must follow the delimiter (and trim marker) directly.
    if (src_.substr(p_, 2) == "/*") {
      auto e = src_.find("*/", p_ + 2);
      if (e == std::string_view::npos) return err(pos_at(start), "unclosed comment");
      p_ = e + 2;
      comment = true;
      if (src_.substr(p_, 2) == "}}") {
        p_ += 2;
        return {};
      }
      if (p_ + 3 < src_.size() + 1 && is_space(src_[p_]) && src_.substr(p_ + 1, 3) == "-}}") {
        p_ += 4;
        trim_right = true;
        return {};
      }
      return err(pos_at(p_), "comment ends before closing delimiter");
    }
    bool space = false;
    while (true) {
      if (p_ >= src_.size()) return err(pos_at(start), "unclosed action");
      char c = src_[p_];
      if (is_space(c)) {
        // " -}}" right trim marker
        if (src_.substr(p_ + 1, 3) == "-}}") {
          p_ += 4;
          trim_right = true;
          return {};
        }
        if (c == '\n' || c == '\r') {
          // Newlines inside actions are allowed by modern Go; treat as space.
        }
        space = true;
        ++p_;
        continue;
      }
      if (src_.substr(p_, 2) == "}}") {
        p_ += 2;
        return {};
      }
      Tok t;
      t.pos = pos_at(p_);
      t.space_before = space;
      space = false;
      if (c == '(') { t.k = Tok::K::kLParen; ++p_; }
      else if (c == ')') { t.k = Tok::K::kRParen; ++p_; }
      else if (c == '|') { t.k = Tok::K::kPipe; ++p_; }
      else if (c == ',') { t.k = Tok::K::kComma; ++p_; }
      else if (c == ':' && p_ + 1 < src_.size() && src_[p_ + 1] == '=') { t.k = Tok::K::kDeclare; p_ += 2; }
      else if (c == '=') { t.k = Tok::K::kAssign; ++p_; }
      else if (c == '"') {
        t.k = Tok::K::kString;
        CORRAL_TRY(lex_quoted(t.text));
      } else if (c == '`') {
        t.k = Tok::K::kString;
        auto e = src_.find('`', p_ + 1);
        if (e == std::string_view::npos) return err(t.pos, "unterminated raw quoted string");
        t.text = std::string(src_.substr(p_ + 1, e - p_ - 1));
        p_ = e + 1;
      } else if (c == '\'') {
        t.k = Tok::K::kNumber;
        CORRAL_TRY(lex_char(t.text));
      } else if (c == '.' && p_ + 1 < src_.size() && is_ident_start(src_[p_ + 1])) {
        t.k = Tok::K::kField;
        size_t e = p_ + 1;
        while (e < src_.size() && is_ident_char(src_[e])) ++e;
        t.text = std::string(src_.substr(p_ + 1, e - p_ - 1));
        p_ = e;
      } else if (c == '.') {
        t.k = Tok::K::kDot;
        ++p_;
      } else if (c == '$') {
        t.k = Tok::K::kVar;
        size_t e = p_ + 1;
        while (e < src_.size() && is_ident_char(src_[e])) ++e;
        t.text = std::string(src_.substr(p_, e - p_));
        p_ = e;
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 ((c == '-' || c == '+') && p_ + 1 < src_.size() &&
                  std::isdigit(static_cast<unsigned char>(src_[p_ + 1])))) {
        t.k = Tok::K::kNumber;
        size_t e = p_ + 1;
        while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) ||
                                   src_[e] == '.' || src_[e] == '_' ||
                                   ((src_[e] == '-' || src_[e] == '+') &&
                                    (src_[e - 1] == 'e' || src_[e - 1] == 'E'))))
          ++e;
        t.text = std::string(src_.substr(p_, e - p_));
        p_ = e;
      } else if (is_ident_start(c)) {
        t.k = Tok::K::kIdent;
        size_t e = p_;
        while (e < src_.size() && is_ident_char(src_[e])) ++e;
        t.text = std::string(src_.substr(p_, e - p_));
        p_ = e;
      } else {
        return err(t.pos, fmt::format("unexpected character {:?} in action", std::string(1, c)));
      }
      toks.push_back(std::move(t));
    }
  }

  Status lex_quoted(std::string& out) {
    const Pos start = pos_at(p_);
    ++p_;
    while (true) {
      if (p_ >= src_.size() || src_[p_] == '\n') return err(start, "unterminated quoted string");
      char c = src_[p_++];
      if (c == '"') return {};
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ >= src_.size()) return err(start, "unterminated quoted string");
      char e = src_[p_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '"': out += '"'; break;
        case '\'': out += '\''; break;
        case 'x': case 'u': case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (p_ + n > src_.size()) return err(start, "bad escape in string");
          uint32_t v = 0;
          for (size_t k = 0; k < n; ++k) {
            char h = src_[p_ + k];
            if (!std::isxdigit(static_cast<unsigned char>(h))) return err(start, "bad escape in string");
            v = v * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
          }
          p_ += n;
          if (e == 'x') out += static_cast<char>(v);
          else if (v > 0x10FFFF) return err(start, "bad escape in string");
          else append_utf8(out, v);
          break;
        }
        default:
          if (e >= '0' && e <= '7' && p_ + 2 <= src_.size()) {
            uint32_t v = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2; ++k) {
              char o = src_[p_++];
              if (o < '0' || o > '7') return err(start, "bad octal escape in string");
              v = v * 8 + static_cast<uint32_t>(o - '0');
            }
            if (v > 255) return err(start, "bad octal escape in string");
            out += static_cast<char>(v);
            break;
          }
          return err(start, "unknown escape sequence in string");
      }
    }
  }

  Status lex_char(std::string& out) {
    const Pos start = pos_at(p_);
    auto e = src_.find('\'', p_ + 1);
    if (e == std::string_view::npos || e == p_ + 1) return err(start, "bad character constant");
    std::string_view body = src_.substr(p_ + 1, e - p_ - 1);
    uint32_t v = 0;
    if (body.size() == 2 && body[0] == '\\') {
      switch (body[1]) {
        case 'n': v = '\n'; break;
        case 't': v = '\t'; break;
        case '\\': v = '\\'; break;
        case '\'': v = '\''; break;
        default: return err(start, "bad character constant");
      }
    } else {
      // decode one UTF-8 code point
      auto b0 = static_cast<unsigned char>(body[0]);
      size_t n = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
      if (body.size() != n) return err(start, "bad character constant");
      v = n == 1 ? b0 : (b0 & (0xFF >> (n + 1)));
      for (size_t k = 1; k < n; ++k) v = (v << 6) | (static_cast<unsigned char>(body[k]) & 0x3F);
    }
    out = std::to_string(v);
    p_ = e + 1;
    return {};
  }

  // Scans text up to the next action; appends a text node; returns false at EOF.
  Result<Terminator> parse_list(NodeList& out, int depth, int range_depth, bool top) {
    if (depth > limits_.max_parse_depth)
      return err(pos_at(p_), fmt::format("nesting deeper than {} levels", limits_.max_parse_depth));
    while (true) {
      size_t open = src_.find("{{", p_);
      size_t text_end = open == std::string_view::npos ? src_.size() : open;
      bool trim_left = false;
      size_t after = open + 2;
      if (open != std::string_view::npos && src_.substr(open + 2, 1) == "-" && open + 3 < src_.size() &&
          is_space(src_[open + 3])) {
        trim_left = true;
        after = open + 4;
      }
      std::string_view text = src_.substr(p_, text_end - p_);
      if (trim_left)
        while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
      if (!text.empty()) {
        auto n = std::make_shared<Node>();
        n->kind = Node::Kind::kText;
        n->pos = pos_at(p_);
        n->text = std::string(text);
        out.push_back(n);
      }
      if (open == std::string_view::npos) {
        p_ = src_.size();
        return Terminator{};
      }
      const Pos action_pos = pos_at(open);
      p_ = after;
      std::vector<Tok> toks;
      bool trim_right = false, comment = false;
      CORRAL_TRY(lex_action(toks, trim_right, comment));
      if (trim_right)
        while (p_ < src_.size() && is_space(src_[p_])) ++p_;
      if (comment) continue;
      if (toks.empty()) return err(action_pos, "missing value for command");
      const Tok& first = toks[0];
      if (first.k == Tok::K::kIdent) {
        const std::string& kw = first.text;
        if (kw == "end") {
          if (toks.size() != 1) return err(first.pos, "unexpected tokens after end");
          return Terminator{Terminator::K::kEnd, {}, first.pos};
        }
        if (kw == "else") {
          return Terminator{Terminator::K::kElse, std::vector<Tok>(toks.begin() + 1, toks.end()), first.pos};
        }
        if (kw == "if" || kw == "with" || kw == "range") {
          auto n = std::make_shared<Node>();
          CORRAL_TRY(parse_control(*n, kw, std::vector<Tok>(toks.begin() + 1, toks.end()), first.pos,
                                   depth, range_depth));
          out.push_back(n);
          continue;
        }
        if (kw == "break" || kw == "continue") {
          if (range_depth == 0) return err(first.pos, fmt::format("{{{{{}}}}} outside {{{{range}}}}", kw));
          if (toks.size() != 1) return err(first.pos, fmt::format("unexpected tokens after {}", kw));
          auto n = std::make_shared<Node>();
          n->kind = kw == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
          n->pos = first.pos;
          out.push_back(n);
          continue;
        }
        if (kw == "define") {
          if (!top) return err(first.pos, "unexpected define: not at top level");
          if (toks.size() != 2 || toks[1].k != Tok::K::kString)
            return err(first.pos, "define needs exactly one quoted name");
          NodeList body;
          auto t = parse_list(body, depth + 1, 0, false);
          if (!t.ok()) return t.error();
          if (t->k != Terminator::K::kEnd) return err(first.pos, "unexpected EOF in define");
          defines_[toks[1].text] = std::move(body);
          continue;
        }
        if (kw == "template" || kw == "block") {
          if (toks.size() < 2 || toks[1].k != Tok::K::kString)
            return err(first.pos, fmt::format("{} needs a quoted name", kw));
          auto n = std::make_shared<Node>();
          n->kind = Node::Kind::kTemplate;
          n->pos = first.pos;
          n->text = toks[1].text;
          if (toks.size() > 2) {
            std::vector<Tok> rest(toks.begin() + 2, toks.end());
            auto pipe = parse_pipe(rest, false, depth);
            if (!pipe.ok()) return pipe.error();
            n->pipe = std::move(*pipe);
          }
          if (kw == "block") {
            NodeList body;
            auto t = parse_list(body, depth + 1, 0, false);
            if (!t.ok()) return t.error();
            if (t->k != Terminator::K::kEnd) return err(first.pos, "unexpected EOF in block");
            defines_[n->text] = std::move(body);
          }
          out.push_back(n);
          continue;
        }
      }
      auto pipe = parse_pipe(toks, true, depth);
      if (!pipe.ok()) return pipe.error();
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::kAction;
      n->pos = action_pos;
      n->pipe = std::move(*pipe);
      out.push_back(n);
    }
  }

  Status parse_control(Node& n, const std::string& kw, std::vector<Tok> toks, Pos pos, int depth,
                       int range_depth) {
    n.kind = kw == "if" ? Node::Kind::kIf : kw == "with" ? Node::Kind::kWith : Node::Kind::kRange;
    n.pos = pos;
    if (toks.empty()) return err(pos, fmt::format("missing value for {}", kw));
    auto pipe = parse_pipe(toks, true, depth);
    if (!pipe.ok()) return pipe.error();
    n.pipe = std::move(*pipe);
    const int inner_range = range_depth + (n.kind == Node::Kind::kRange ? 1 : 0);
    auto t = parse_list(n.list, depth + 1, inner_range, false);
    if (!t.ok()) return t.error();
    if (t->k == Terminator::K::kEof) return err(pos, fmt::format("unexpected EOF in {}", kw));
    if (t->k == Terminator::K::kEnd) return {};
    n.has_else = true;
    if (!t->rest.empty()) {
      // else if / else with: a nested node that shares our {{end}}
      const Tok& k2 = t->rest[0];
      if (k2.k != Tok::K::kIdent || !((k2.text == "if" && n.kind == Node::Kind::kIf) ||
                                      (k2.text == "with" && n.kind == Node::Kind::kWith) ||
                                      (k2.text == "if" && n.kind != Node::Kind::kIf)))
        return err(t->pos, "unexpected tokens after else");
      auto nested = std::make_shared<Node>();
      CORRAL_TRY(parse_control(*nested, k2.text, std::vector<Tok>(t->rest.begin() + 1, t->rest.end()),
                               k2.pos, depth + 1, range_depth));
      n.else_list.push_back(nested);
      return {};
    }
    auto t2 = parse_list(n.else_list, depth + 1, range_depth, false);
    if (!t2.ok()) return t2.error();
    if (t2->k != Terminator::K::kEnd) return err(pos, fmt::format("expected end; found {}", t2->k == Terminator::K::kElse ? "else" : "EOF"));
    return {};
  }

  Result<std::shared_ptr<Pipe>> parse_pipe(const std::vector<Tok>& toks, bool allow_decl, int depth) {
    size_t i = 0;
    auto r = parse_pipe_at(toks, i, allow_decl, depth, false);
    if (!r.ok()) return r.error();
    if (i != toks.size()) return err(toks[i].pos, "unexpected token in pipeline");
    return r;
  }

  Result<std::shared_ptr<Pipe>> parse_pipe_at(const std::vector<Tok>& toks, size_t& i, bool allow_decl,
                                              int depth, bool in_paren) {
    if (depth > limits_.max_parse_depth)
      return err(toks.empty() ? Pos{} : toks[std::min(i, toks.size() - 1)].pos, "expression nested too deeply");
    auto pipe = std::make_shared<Pipe>();
    pipe->pos = i < toks.size() ? toks[i].pos : Pos{};
    if (allow_decl && i < toks.size() && toks[i].k == Tok::K::kVar) {
      size_t j = i;
      std::vector<std::string> names{toks[j].text};
      ++j;
      if (j + 1 < toks.size() && toks[j].k == Tok::K::kComma && toks[j + 1].k == Tok::K::kVar) {
        names.push_back(toks[j + 1].text);
        j += 2;
      }
      if (j < toks.size() && (toks[j].k == Tok::K::kDeclare || toks[j].k == Tok::K::kAssign)) {
        pipe->decl = names;
        pipe->is_assign = toks[j].k == Tok::K::kAssign;
        i = j + 1;
      }
    }
    while (true) {
      Command cmd;
      cmd.pos = i < toks.size() ? toks[i].pos : pipe->pos;
      while (i < toks.size() && toks[i].k != Tok::K::kPipe && toks[i].k != Tok::K::kRParen) {
        Arg a;
        CORRAL_TRY(parse_operand(toks, i, a, depth));
        cmd.args.push_back(std::move(a));
      }
      if (cmd.args.empty()) return err(cmd.pos, "missing value for command");
      pipe->cmds.push_back(std::move(cmd));
      if (i < toks.size() && toks[i].k == Tok::K::kPipe) {
        ++i;
        continue;
      }
      break;
    }
    if (i < toks.size() && toks[i].k == Tok::K::kRParen && !in_paren)
      return err(toks[i].pos, "unexpected right paren");
    return pipe;
  }

  Status parse_operand(const std::vector<Tok>& toks, size_t& i, Arg& a, int depth) {
    const Tok& t = toks[i];
    a.pos = t.pos;
    switch (t.k) {
      case Tok::K::kDot: a.kind = Arg::Kind::kDot; ++i; break;
      case Tok::K::kField:
        a.kind = Arg::Kind::kField;
        a.chain.push_back(t.text);
        ++i;
        break;
      case Tok::K::kVar: a.kind = Arg::Kind::kVariable; a.text = t.text; ++i; break;
      case Tok::K::kString: a.kind = Arg::Kind::kString; a.text = t.text; ++i; break;
      case Tok::K::kNumber: a.kind = Arg::Kind::kNumber; a.text = t.text; ++i; break;
      case Tok::K::kIdent:
        if (t.text == "true" || t.text == "false") {
          a.kind = Arg::Kind::kBool;
          a.bool_value = t.text == "true";
        } else if (t.text == "nil") {
          a.kind = Arg::Kind::kNil;
        } else if (t.text == "if" || t.text == "else" || t.text == "end" || t.text == "range" ||
                   t.text == "with" || t.text == "define" || t.text == "template" ||
                   t.text == "block" || t.text == "break" || t.text == "continue") {
          return err(t.pos, fmt::format("unexpected keyword {} in command", t.text));
        } else {
          a.kind = Arg::Kind::kFunc;
          a.text = t.text;
        }
        ++i;
        break;
      case Tok::K::kLParen: {
        ++i;
        auto inner = parse_pipe_at(toks, i, true, depth + 1, true);
        if (!inner.ok()) return inner.error();
        if (i >= toks.size() || toks[i].k != Tok::K::kRParen) return err(t.pos, "unclosed left paren");
        ++i;
        a.kind = Arg::Kind::kPipe;
        a.pipe = std::move(*inner);
        break;
      }
      default:
        return err(t.pos, fmt::format("unexpected {} in operand", t.text.empty() ? "token" : t.text));
    }
    while (i < toks.size() && toks[i].k == Tok::K::kField && !toks[i].space_before) {
      if (a.kind == Arg::Kind::kFunc || a.kind == Arg::Kind::kBool || a.kind == Arg::Kind::kNil ||
          a.kind == Arg::Kind::kString || a.kind == Arg::Kind::kNumber)
        return err(toks[i].pos, "unexpected . after term");
      a.chain.push_back(toks[i].text);
      ++i;
    }
    return {};
  }

  std::string_view src_;
  size_t p_ = 0;
  std::string name_;
  Limits limits_;
  std::map<std::string, NodeList>& defines_;
  LineIndex lines_;
};

void collect_idents(const Pipe* pipe, std::vector<std::string>& out);

void collect_idents_args(const std::vector<Arg>& args, std::vector<std::string>& out) {
  for (const auto& a : args) {
    if (a.kind == Arg::Kind::kField) out.insert(out.end(), a.chain.begin(), a.chain.end());
    if (a.kind == Arg::Kind::kVariable) {
      out.push_back(a.text);
      out.insert(out.end(), a.chain.begin(), a.chain.end());
    }
    // Go's Identifiers() does not descend into parenthesised pipelines (PipeNode as an argument
    // is ignored there), so neither do we.
  }
}

void collect_idents(const Pipe* pipe, std::vector<std::string>& out) {
  if (!pipe) return;
  for (const auto& c : pipe->cmds) collect_idents_args(c.args, out);
}

void collect_idents(const NodeList& list, std::vector<std::string>& out) {
  for (const auto& n : list) {
    switch (n->kind) {
      case Node::Kind::kAction:
      case Node::Kind::kTemplate: collect_idents(n->pipe.get(), out); break;
      case Node::Kind::kIf:
      case Node::Kind::kRange:
      case Node::Kind::kWith:
        collect_idents(n->pipe.get(), out);
        collect_idents(n->list, out);
        collect_idents(n->else_list, out);
        break;
      default: break;
    }
  }
}

// Ollama's deleteNode with the "cut after .Response" predicate. `cut` persists across the walk.
// Returns false when the node itself is deleted.
bool cut_node(std::shared_ptr<Node>& n, bool& cut);

void cut_list(NodeList& list, bool& cut) {
  NodeList kept;
  for (auto& c : list) {
    if (cut) continue;  // fn(node) returns true once cut
    auto copy = std::make_shared<Node>(*c);
    if (cut_node(copy, cut)) kept.push_back(copy);
  }
  list = std::move(kept);
}

bool cut_pipe(std::shared_ptr<Pipe>& pipe, bool& cut) {
  if (!pipe || cut) return !cut && pipe != nullptr;
  auto copy = std::make_shared<Pipe>(*pipe);
  std::vector<Command> cmds;
  for (auto& c : copy->cmds) {
    std::vector<Arg> args;
    for (auto& a : c.args) {
      if (cut) continue;
      if (a.kind == Arg::Kind::kField &&
          std::find(a.chain.begin(), a.chain.end(), "Response") != a.chain.end())
        cut = true;
      args.push_back(a);
    }
    if (args.empty()) return false;
    c.args = std::move(args);
    cmds.push_back(std::move(c));
  }
  if (cmds.empty()) return false;
  copy->cmds = std::move(cmds);
  pipe = copy;
  return true;
}

bool cut_node(std::shared_ptr<Node>& n, bool& cut) {
  switch (n->kind) {
    case Node::Kind::kAction: return cut_pipe(n->pipe, cut);
    case Node::Kind::kIf:
    case Node::Kind::kRange:
    case Node::Kind::kWith:
      // Ollama walks the branch lists, not the branch pipeline.
      cut_list(n->list, cut);
      cut_list(n->else_list, cut);
      return true;
    default: return true;
  }
}

}  // namespace

Result<Template> Template::parse(std::string_view source, std::string name, const Limits& limits) {
  Template t;
  t.name_ = name;
  t.limits_ = limits;
  t.defines_ = std::make_shared<std::map<std::string, NodeList>>();
  Parser p(source, std::move(name), limits, *t.defines_);
  auto root = p.parse_root();
  if (!root.ok()) return root.error();
  t.root_ = std::move(*root);
  return t;
}

std::vector<std::string> Template::vars() const {
  std::vector<std::string> ids;
  collect_idents(root_, ids);
  for (auto& s : ids) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

bool Template::uses(std::string_view lowercase_ident) const {
  auto v = vars();
  return std::find(v.begin(), v.end(), lowercase_ident) != v.end();
}

Template Template::cut_after_response() const {
  Template t = *this;
  bool cut = false;
  cut_list(t.root_, cut);
  return t;
}

Template Template::with_response_appended() const {
  Template t = *this;
  auto n = std::make_shared<Node>();
  n->kind = Node::Kind::kAction;
  n->pipe = std::make_shared<Pipe>();
  Command c;
  Arg a;
  a.kind = Arg::Kind::kField;
  a.chain = {"Response"};
  c.args.push_back(a);
  n->pipe->cmds.push_back(c);
  t.root_.push_back(n);
  return t;
}

}  // namespace corral::gotmpl
