// Jinja recursive-descent parser with Jinja2's operator precedence (tokens from jinja_lex).
#include <algorithm>
#include <cctype>
#include <charconv>

#include "chat/jinja.h"
#include "chat/jinja_ast.h"
#include "chat/jinja_lex.h"

namespace corral::jinja {
namespace {

class Parser {
 public:
  Parser(std::vector<Token> toks, std::string name, const Options& o)
      : t_(std::move(toks)), name_(std::move(name)), o_(o) {}

  Result<Body> parse_template() {
    Body body;
    std::string end;
    CORRAL_TRY(parse_body(body, {}, end));
    if (peek().k != Token::K::kEof) return err(peek().pos, "unexpected content after template end");
    return body;
  }

 private:
  const Token& peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& next() { const Token& t = t_[std::min(i_, t_.size() - 1)]; if (i_ < t_.size()) ++i_; return t; }
  bool is_op(const char* op, size_t k = 0) const { return peek(k).k == Token::K::kOp && peek(k).text == op; }
  bool is_name(const char* n, size_t k = 0) const { return peek(k).k == Token::K::kName && peek(k).text == n; }

  Error err(SrcPos p, const std::string& msg) const {
    return make_error("{}:{}:{}: {}", name_.empty() ? "<template>" : name_, p.line, p.col, msg);
  }

  Status expect_op(const char* op) {
    if (!is_op(op)) return err(peek().pos, fmt::format("expected '{}', got '{}'", op, describe(peek())));
    next();
    return {};
  }
  Status expect_block_end() {
    if (peek().k != Token::K::kBlockEnd) return err(peek().pos, fmt::format("expected end of block tag, got '{}'", describe(peek())));
    next();
    return {};
  }
  Result<std::string> expect_name() {
    if (peek().k != Token::K::kName) return err(peek().pos, fmt::format("expected a name, got '{}'", describe(peek())));
    return next().text;
  }
  static std::string describe(const Token& t) {
    switch (t.k) {
      case Token::K::kEof: return "end of template";
      case Token::K::kBlockEnd: return "%}";
      case Token::K::kVarEnd: return "}}";
      case Token::K::kBlockBegin: return "{%";
      case Token::K::kVarBegin: return "{{";
      case Token::K::kText: return "text";
      default: return t.text;
    }
  }

  Status enter(SrcPos p) {
    if (++depth_ > o_.max_parse_depth) return err(p, fmt::format("template nested deeper than {} levels", o_.max_parse_depth));
    return {};
  }
  void leave() { --depth_; }

  // Parses statements until a block whose keyword is in `ends`; consumes "{%" and the keyword.
  Status parse_body(Body& body, const std::vector<std::string>& ends, std::string& end_found) {
    while (true) {
      const Token& t = peek();
      switch (t.k) {
        case Token::K::kEof:
          if (!ends.empty()) return err(t.pos, fmt::format("unexpected end of template, expected '{}'", ends[0]));
          return {};
        case Token::K::kText: {
          auto s = std::make_shared<Stmt>();
          s->kind = Stmt::Kind::kText;
          s->pos = t.pos;
          s->text = t.text;
          next();
          body.push_back(s);
          break;
        }
        case Token::K::kVarBegin: {
          next();
          auto s = std::make_shared<Stmt>();
          s->kind = Stmt::Kind::kOutput;
          s->pos = t.pos;
          auto e = parse_expression(true);
          if (!e.ok()) return e.error();
          s->expr = *e;
          if (peek().k != Token::K::kVarEnd) return err(peek().pos, fmt::format("expected '}}}}', got '{}'", describe(peek())));
          next();
          body.push_back(s);
          break;
        }
        case Token::K::kBlockBegin: {
          const Token& kw = peek(1);
          if (kw.k != Token::K::kName) return err(kw.pos, "expected a statement name after '{%'");
          if (std::find(ends.begin(), ends.end(), kw.text) != ends.end()) {
            next();
            next();
            end_found = kw.text;
            return {};
          }
          next();
          CORRAL_TRY(enter(kw.pos));
          auto st = parse_statement(body);
          leave();
          if (!st.ok()) return st.error();
          break;
        }
        default: return err(t.pos, fmt::format("unexpected '{}'", describe(t)));
      }
    }
  }

  Status parse_statement(Body& body) {
    const Token kw = next();
    const std::string& k = kw.text;
    auto s = std::make_shared<Stmt>();
    s->pos = kw.pos;
    if (k == "if") {
      s->kind = Stmt::Kind::kIf;
      while (true) {
        auto c = parse_expression(true);
        if (!c.ok()) return c.error();
        s->conds.push_back(*c);
        CORRAL_TRY(expect_block_end());
        Body b;
        std::string end;
        CORRAL_TRY(parse_body(b, {"elif", "else", "endif"}, end));
        s->bodies.push_back(std::move(b));
        if (end == "elif") continue;
        if (end == "else") {
          CORRAL_TRY(expect_block_end());
          Body eb;
          CORRAL_TRY(parse_body(eb, {"endif"}, end));
          s->bodies.push_back(std::move(eb));
        }
        CORRAL_TRY(expect_block_end());
        break;
      }
    } else if (k == "for") {
      s->kind = Stmt::Kind::kFor;
      while (true) {
        auto n = expect_name();
        if (!n.ok()) return n.error();
        s->targets.push_back(*n);
        if (is_op(",")) {
          next();
          continue;
        }
        break;
      }
      if (!is_name("in")) return err(peek().pos, "expected 'in' in for loop");
      next();
      auto it = parse_expression(false);  // no conditional expression: `if` filters the loop
      if (!it.ok()) return it.error();
      s->expr = *it;
      if (is_name("if")) {
        next();
        auto f = parse_expression(false);
        if (!f.ok()) return f.error();
        s->loop_filter = *f;
      }
      if (is_name("recursive")) {
        next();
        s->recursive = true;
      }
      CORRAL_TRY(expect_block_end());
      Body b;
      std::string end;
      CORRAL_TRY(parse_body(b, {"else", "endfor"}, end));
      s->bodies.push_back(std::move(b));
      if (end == "else") {
        CORRAL_TRY(expect_block_end());
        Body eb;
        CORRAL_TRY(parse_body(eb, {"endfor"}, end));
        s->bodies.push_back(std::move(eb));
      }
      CORRAL_TRY(expect_block_end());
    } else if (k == "set") {
      auto n = expect_name();
      if (!n.ok()) return n.error();
      if (is_op(".")) {
        next();
        auto attr = expect_name();
        if (!attr.ok()) return attr.error();
        auto obj = std::make_shared<Expr>();
        obj->kind = Expr::Kind::kName;
        obj->name = *n;
        obj->pos = kw.pos;
        s->target_attr_object = obj;
        s->text = *attr;
      } else {
        s->targets.push_back(*n);
        while (is_op(",")) {
          next();
          auto n2 = expect_name();
          if (!n2.ok()) return n2.error();
          s->targets.push_back(*n2);
        }
      }
      if (is_op("=")) {
        next();
        s->kind = Stmt::Kind::kSet;
        auto v = parse_expression(true, true);
        if (!v.ok()) return v.error();
        s->expr = *v;
        CORRAL_TRY(expect_block_end());
      } else {
        s->kind = Stmt::Kind::kSetBlock;
        while (is_op("|")) {
          next();
          auto f = parse_filter_call(nullptr);
          if (!f.ok()) return f.error();
          s->filters.push_back(*f);
        }
        CORRAL_TRY(expect_block_end());
        Body b;
        std::string end;
        CORRAL_TRY(parse_body(b, {"endset"}, end));
        CORRAL_TRY(expect_block_end());
        s->bodies.push_back(std::move(b));
      }
    } else if (k == "macro") {
      s->kind = Stmt::Kind::kMacro;
      auto n = expect_name();
      if (!n.ok()) return n.error();
      s->name = *n;
      CORRAL_TRY(parse_params(s->params));
      CORRAL_TRY(expect_block_end());
      Body b;
      std::string end;
      CORRAL_TRY(parse_body(b, {"endmacro"}, end));
      if (peek().k == Token::K::kName) next();  // {% endmacro name %}
      CORRAL_TRY(expect_block_end());
      s->bodies.push_back(std::move(b));
    } else if (k == "call") {
      s->kind = Stmt::Kind::kCallBlock;
      if (is_op("(")) CORRAL_TRY(parse_params(s->params));
      auto c = parse_expression(true);
      if (!c.ok()) return c.error();
      if ((*c)->kind != Expr::Kind::kCall) return err(kw.pos, "expected a call after 'call'");
      s->expr = *c;
      CORRAL_TRY(expect_block_end());
      Body b;
      std::string end;
      CORRAL_TRY(parse_body(b, {"endcall"}, end));
      CORRAL_TRY(expect_block_end());
      s->bodies.push_back(std::move(b));
    } else if (k == "filter") {
      s->kind = Stmt::Kind::kFilterBlock;
      while (true) {
        auto f = parse_filter_call(nullptr);
        if (!f.ok()) return f.error();
        s->filters.push_back(*f);
        if (!is_op("|")) break;
        next();
      }
      CORRAL_TRY(expect_block_end());
      Body b;
      std::string end;
      CORRAL_TRY(parse_body(b, {"endfilter"}, end));
      CORRAL_TRY(expect_block_end());
      s->bodies.push_back(std::move(b));
    } else if (k == "break" || k == "continue") {
      s->kind = k == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      CORRAL_TRY(expect_block_end());
    } else if (k == "generation") {
      // transformers' {% generation %} marks assistant text for masks; it renders its body.
      s->kind = Stmt::Kind::kScope;
      CORRAL_TRY(expect_block_end());
      Body b;
      std::string end;
      CORRAL_TRY(parse_body(b, {"endgeneration"}, end));
      CORRAL_TRY(expect_block_end());
      s->bodies.push_back(std::move(b));
    } else {
      return err(kw.pos, fmt::format("unknown statement '{}'", k));
    }
    body.push_back(s);
    return {};
  }

  Status parse_params(std::vector<MacroParam>& params) {
    CORRAL_TRY(expect_op("("));
    while (!is_op(")")) {
      auto n = expect_name();
      if (!n.ok()) return n.error();
      MacroParam p;
      p.name = *n;
      if (is_op("=")) {
        next();
        auto d = parse_expression(true);
        if (!d.ok()) return d.error();
        p.default_value = *d;
      }
      params.push_back(std::move(p));
      if (is_op(",")) {
        next();
        continue;
      }
      if (!is_op(")")) return err(peek().pos, "expected ',' or ')' in parameter list");
    }
    next();
    return {};
  }

  ExprPtr make(Expr::Kind k, SrcPos p) {
    auto e = std::make_shared<Expr>();
    e->kind = k;
    e->pos = p;
    return e;
  }

  // expression := condexpr; with allow_tuple, `a, b` builds a tuple (set statements).
  Result<ExprPtr> parse_expression(bool with_cond, bool allow_tuple = false) {
    CORRAL_TRY(enter(peek().pos));
    auto r = parse_expression_inner(with_cond);
    leave();
    if (!r.ok() || !allow_tuple || !is_op(",")) return r;
    auto tup = make(Expr::Kind::kTuple, (*r)->pos);
    tup->children.push_back(*r);
    while (is_op(",")) {
      next();
      auto e = parse_expression(with_cond);
      if (!e.ok()) return e.error();
      tup->children.push_back(*e);
    }
    return tup;
  }

  Result<ExprPtr> parse_expression_inner(bool with_cond) {
    auto e = parse_or();
    if (!e.ok() || !with_cond) return e;
    ExprPtr cur = *e;
    while (is_name("if")) {
      const SrcPos p = peek().pos;
      next();
      auto cond = parse_or();
      if (!cond.ok()) return cond.error();
      auto c = make(Expr::Kind::kCond, p);
      c->children = {*cond, cur, nullptr};
      if (is_name("else")) {
        next();
        auto other = parse_expression(true);
        if (!other.ok()) return other.error();
        c->children[2] = *other;
      }
      cur = c;
    }
    return cur;
  }

  // A left-associative chain `operand (op operand)*` of one precedence level: `match` says
  // whether the next token is one of the level's operators. Each operator nests the tree one
  // level deeper, so long chains count against the depth limit too.
  template <class Match, class Operand>
  Result<ExprPtr> parse_chain(Match match, Operand operand) {
    auto l = operand();
    if (!l.ok()) return l;
    ExprPtr cur = *l;
    int chain = 0;
    while (match()) {
      const Token op = next();
      ++chain;
      CORRAL_TRY(enter(peek().pos));
      auto r = operand();
      if (!r.ok()) return r;
      auto b = make(Expr::Kind::kBinary, op.pos);
      b->name = op.text;
      b->children = {cur, *r};
      cur = b;
    }
    depth_ -= chain;
    return cur;
  }

  Result<ExprPtr> parse_or() {
    return parse_chain([this] { return is_name("or"); }, [this] { return parse_and(); });
  }

  Result<ExprPtr> parse_and() {
    return parse_chain([this] { return is_name("and"); }, [this] { return parse_not(); });
  }

  Result<ExprPtr> parse_not() {
    if (is_name("not")) {
      const SrcPos p = next().pos;
      CORRAL_TRY(enter(p));
      auto e = parse_not();
      leave();
      if (!e.ok()) return e;
      auto u = make(Expr::Kind::kUnary, p);
      u->name = "not";
      u->children = {*e};
      return u;
    }
    return parse_compare();
  }

  Result<ExprPtr> parse_compare() {
    auto l = parse_math1();
    if (!l.ok()) return l;
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (peek().k == Token::K::kOp && (peek().text == "==" || peek().text == "!=" || peek().text == "<" ||
                                        peek().text == ">" || peek().text == "<=" || peek().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      auto r = parse_math1();
      if (!r.ok()) return r;
      if (!cmp) {
        cmp = make(Expr::Kind::kCompare, (*l)->pos);
        cmp->children.push_back(*l);
      }
      cmp->ops.push_back(op);
      cmp->children.push_back(*r);
    }
    return cmp ? cmp : *l;
  }

  Result<ExprPtr> parse_math1() {
    return parse_chain([this] { return is_op("+") || is_op("-"); }, [this] { return parse_concat(); });
  }

  Result<ExprPtr> parse_concat() {
    auto l = parse_math2();
    if (!l.ok()) return l;
    if (!is_op("~")) return l;
    auto c = make(Expr::Kind::kConcat, (*l)->pos);
    c->children.push_back(*l);
    while (is_op("~")) {
      next();
      auto r = parse_math2();
      if (!r.ok()) return r;
      c->children.push_back(*r);
    }
    return c;
  }

  Result<ExprPtr> parse_math2() {
    return parse_chain([this] { return is_op("*") || is_op("/") || is_op("//") || is_op("%"); },
                       [this] { return parse_pow(); });
  }

  Result<ExprPtr> parse_pow() {
    return parse_chain([this] { return is_op("**"); }, [this] { return parse_unary(true); });
  }

  Result<ExprPtr> parse_unary(bool with_filter) {
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token op = next();
      CORRAL_TRY(enter(op.pos));
      auto inner = parse_unary(false);
      leave();
      if (!inner.ok()) return inner;
      e = make(Expr::Kind::kUnary, op.pos);
      e->name = op.text;
      e->children = {*inner};
    } else {
      auto p = parse_primary();
      if (!p.ok()) return p;
      auto q = parse_postfix(*p);
      if (!q.ok()) return q;
      e = *q;
    }
    if (with_filter) return parse_filters_and_tests(e);
    return e;
  }

  Result<ExprPtr> parse_primary() {
    const Token& t = peek();
    CORRAL_TRY(enter(t.pos));
    auto r = parse_primary_inner();
    leave();
    return r;
  }

  Result<ExprPtr> parse_primary_inner() {
    const Token t = next();
    switch (t.k) {
      case Token::K::kName: {
        if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
          auto e = make(Expr::Kind::kLiteral, t.pos);
          e->value = Value::boolean(t.text == "true" || t.text == "True");
          return e;
        }
        if (t.text == "none" || t.text == "None") {
          auto e = make(Expr::Kind::kLiteral, t.pos);
          e->value = Value::none();
          return e;
        }
        auto e = make(Expr::Kind::kName, t.pos);
        e->name = t.text;
        return e;
      }
      case Token::K::kString: {
        std::string s = t.text;
        while (peek().k == Token::K::kString) s += next().text;  // adjacent literals concatenate
        auto e = make(Expr::Kind::kLiteral, t.pos);
        e->value = Value::string(std::move(s));
        return e;
      }
      case Token::K::kInt: {
        int64_t v = 0;
        auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        auto e = make(Expr::Kind::kLiteral, t.pos);
        // Python's integers are unbounded; corral's are 64-bit, and a literal past them is an error.
        if (r.ec != std::errc()) return err(t.pos, "integer literal " + t.text.substr(0, 40) + " does not fit in 64 bits");
        e->value = Value::integer(v);
        return e;
      }
      case Token::K::kFloat: {
        double v = 0;
        std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        auto e = make(Expr::Kind::kLiteral, t.pos);
        e->value = Value::number(v);
        return e;
      }
      case Token::K::kOp: {
        if (t.text == "(") {
          if (is_op(")")) {
            next();
            return make(Expr::Kind::kTuple, t.pos);
          }
          auto first = parse_expression(true);
          if (!first.ok()) return first;
          if (is_op(")")) {
            next();
            return first;
          }
          auto tup = make(Expr::Kind::kTuple, t.pos);
          tup->children.push_back(*first);
          while (is_op(",")) {
            next();
            if (is_op(")")) break;
            auto e = parse_expression(true);
            if (!e.ok()) return e;
            tup->children.push_back(*e);
          }
          CORRAL_TRY(expect_op(")"));
          return tup;
        }
        if (t.text == "[") {
          auto l = make(Expr::Kind::kList, t.pos);
          while (!is_op("]")) {
            auto e = parse_expression(true);
            if (!e.ok()) return e;
            l->children.push_back(*e);
            if (is_op(",")) {
              next();
              continue;
            }
            if (!is_op("]")) return err(peek().pos, "expected ',' or ']' in list");
          }
          next();
          return l;
        }
        if (t.text == "{") {
          auto d = make(Expr::Kind::kDict, t.pos);
          while (!is_op("}")) {
            auto k = parse_expression(true);
            if (!k.ok()) return k;
            CORRAL_TRY(expect_op(":"));
            auto v = parse_expression(true);
            if (!v.ok()) return v;
            d->children.push_back(*k);
            d->children.push_back(*v);
            if (is_op(",")) {
              next();
              continue;
            }
            if (!is_op("}")) return err(peek().pos, "expected ',' or '}' in dict");
          }
          next();
          return d;
        }
        break;
      }
      default: break;
    }
    return err(t.pos, fmt::format("unexpected '{}'", describe(t)));
  }

  Status parse_call_args(Expr& call) {
    // after '('
    while (!is_op(")")) {
      if (peek().k == Token::K::kName && is_op("=", 1)) {
        std::string key = next().text;
        next();
        auto v = parse_expression(true);
        if (!v.ok()) return v.error();
        call.kwargs.emplace_back(key, *v);
      } else {
        auto v = parse_expression(true);
        if (!v.ok()) return v.error();
        call.children.push_back(*v);
      }
      if (is_op(",")) {
        next();
        continue;
      }
      if (!is_op(")")) return err(peek().pos, "expected ',' or ')' in call arguments");
    }
    next();
    return {};
  }

  Result<ExprPtr> parse_postfix(ExprPtr e) {
    int chain = 0;
    while (true) {
      if (++chain > o_.max_parse_depth) return err(peek().pos, "expression chain too long");
      if (is_op(".")) {
        const SrcPos p = next().pos;
        auto a = make(Expr::Kind::kAttr, p);
        if (peek().k == Token::K::kName) {
          a->name = next().text;
        } else if (peek().k == Token::K::kInt) {
          // x.0 is x[0]
          a->kind = Expr::Kind::kIndex;
          auto lit = make(Expr::Kind::kLiteral, p);
          const Token& index = next();
          int64_t i = 0;
          const auto r = std::from_chars(index.text.data(), index.text.data() + index.text.size(), i);
          if (r.ec != std::errc()) return err(index.pos, "index '" + index.text + "' is too large");
          lit->value = Value::integer(i);
          a->children = {e, lit};
          e = a;
          continue;
        } else {
          return err(peek().pos, "expected an attribute name after '.'");
        }
        a->children = {e};
        e = a;
      } else if (is_op("[")) {
        const SrcPos p = next().pos;
        ExprPtr parts[3] = {nullptr, nullptr, nullptr};
        int n = 0;
        bool is_slice = false;
        while (true) {
          if (is_op(":")) {
            is_slice = true;
            next();
            if (++n > 2) return err(p, "too many ':' in slice");
            continue;
          }
          if (is_op("]")) break;
          auto v = parse_expression(true);
          if (!v.ok()) return v;
          parts[n] = *v;
          if (!is_op(":") && !is_op("]")) {
            if (is_op(",") ) return err(peek().pos, "tuple indices are not supported");
            return err(peek().pos, "expected ']'");
          }
        }
        next();
        if (is_slice) {
          auto s = make(Expr::Kind::kSlice, p);
          s->children = {e, parts[0], parts[1], parts[2]};
          e = s;
        } else {
          if (!parts[0]) return err(p, "empty subscript");
          auto s = make(Expr::Kind::kIndex, p);
          s->children = {e, parts[0]};
          e = s;
        }
      } else if (is_op("(")) {
        const SrcPos p = next().pos;
        auto c = make(Expr::Kind::kCall, p);
        c->children.push_back(e);
        CORRAL_TRY(parse_call_args(*c));
        e = c;
      } else {
        return e;
      }
    }
  }

  // `| name(args)`: builds a kFilter whose children[0] is `operand` (null in filter blocks).
  Result<ExprPtr> parse_filter_call(ExprPtr operand) {
    const SrcPos p = peek().pos;
    auto n = expect_name();
    if (!n.ok()) return n.error();
    std::string name = *n;
    while (is_op(".")) {  // dotted filter names
      next();
      auto n2 = expect_name();
      if (!n2.ok()) return n2.error();
      name += "." + *n2;
    }
    auto f = make(Expr::Kind::kFilter, p);
    f->name = name;
    f->children.push_back(operand);
    if (is_op("(")) {
      next();
      CORRAL_TRY(parse_call_args(*f));
    }
    return f;
  }

  Result<ExprPtr> parse_filters_and_tests(ExprPtr e) {
    int chain = 0;
    while (true) {
      if (++chain > o_.max_parse_depth) return err(peek().pos, "filter chain too long");
      if (is_op("|")) {
        next();
        auto f = parse_filter_call(e);
        if (!f.ok()) return f;
        e = *f;
      } else if (is_name("is")) {
        const SrcPos p = next().pos;
        auto t = make(Expr::Kind::kTest, p);
        if (is_name("not")) {
          next();
          t->negate = true;
        }
        std::string name;
        if (peek().k == Token::K::kName) {
          name = next().text;
        } else if (peek().k == Token::K::kOp && (peek().text == "==" || peek().text == "!=" || peek().text == "<" ||
                                                 peek().text == ">" || peek().text == "<=" || peek().text == ">=")) {
          name = next().text;
        } else {
          return err(peek().pos, "expected a test name after 'is'");
        }
        t->name = name;
        t->children.push_back(e);
        if (is_op("(")) {
          next();
          CORRAL_TRY(parse_call_args(*t));
        } else {
          // One bare argument: `is divisibleby 3`, `is sameas none`, `is eq x`.
          const Token& a = peek();
          const bool starts_expr = a.k == Token::K::kString || a.k == Token::K::kInt || a.k == Token::K::kFloat ||
                                   (a.k == Token::K::kName && a.text != "and" && a.text != "or" && a.text != "else" &&
                                    a.text != "if" && a.text != "in" && a.text != "not" && a.text != "is") ||
                                   (a.k == Token::K::kOp && (a.text == "(" || a.text == "[" || a.text == "{"));
          if (starts_expr) {
            auto arg = parse_primary();
            if (!arg.ok()) return arg;
            auto arg2 = parse_postfix(*arg);
            if (!arg2.ok()) return arg2;
            t->children.push_back(*arg2);
          }
        }
        e = t;
      } else {
        return e;
      }
    }
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  std::string name_;
  Options o_;
  int depth_ = 0;
};

}  // namespace

Result<Template> Template::parse(std::string_view source, std::string name, const Options& options) {
  std::string src;
  src.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r' && i + 1 < source.size() && source[i + 1] == '\n') continue;
    src += source[i];
  }
  if (!options.keep_trailing_newline && !src.empty() && src.back() == '\n') src.pop_back();
  auto toks = lex_template(std::move(src), name, options);
  if (!toks.ok()) return toks.error();
  Parser parser(std::move(*toks), name, options);
  auto body = parser.parse_template();
  if (!body.ok()) return body.error();
  Template t;
  t.name_ = std::move(name);
  t.options_ = options;
  t.body_ = std::make_shared<std::vector<std::shared_ptr<Stmt>>>(std::move(*body));
  return t;
}

}  // namespace corral::jinja
