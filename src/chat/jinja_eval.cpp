// Jinja interpreter: scopes (a new frame per loop iteration and per macro call, as Jinja2),
// statements, expressions, macros and call blocks, globals, with step/depth/output bounds.
#include <chrono>
#include <ctime>

#include "chat/jinja.h"
#include "chat/jinja_ast.h"
#include "chat/jinja_builtins.h"

namespace corral::jinja {
namespace {

enum class Flow { kNormal, kBreak, kContinue };

struct Frame {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Frame> parent;

  Value* find_local(const std::string& n) {
    for (auto& [k, v] : vars)
      if (k == n) return &v;
    return nullptr;
  }
  Value* find(const std::string& n) {
    for (Frame* f = this; f; f = f->parent.get())
      if (Value* v = f->find_local(n)) return v;
    return nullptr;
  }
  void set(const std::string& n, Value v) {
    if (Value* p = find_local(n)) *p = std::move(v);
    else vars.emplace_back(n, std::move(v));
  }
};

using FramePtr = std::shared_ptr<Frame>;

// Thrown-free error carrying a position: the first error wins and gets the position of the
// innermost node that produced it.
struct Interp {
  const std::string& name;
  const Options& o;
  size_t steps = 0;
  int call_depth = 0;
  int eval_depth = 0;
  size_t output_bytes = 0;

  Error err(SrcPos p, const std::string& msg) const {
    return make_error("{}:{}:{}: {}", name.empty() ? "<template>" : name, p.line, p.col, msg);
  }
  // Adds the position to errors from builtins that do not carry one yet.
  Error located(SrcPos p, const Error& e) const {
    if (e.message.rfind(name.empty() ? "<template>:" : name + ":", 0) == 0) return e;
    return err(p, e.message);
  }

  Status step(SrcPos p) {
    if (++steps > o.max_steps) return err(p, fmt::format("template execution exceeded {} steps", o.max_steps));
    return {};
  }

  // Counts what an operation built and fails the render once the work limit is spent (the
  // builtins stop early when it is, so their result may be partial: it is never used).
  Result<Value> charged(SrcPos p, Result<Value> v) {
    if (!v.ok()) return located(p, v.error());
    work_meter().add(v->is_string() ? v->str().size() : 8);
    if (work_meter().exceeded()) {
      return err(p, fmt::format("template exceeded its work limit ({} bytes built or compared)", o.max_work_bytes));
    }
    return v;
  }

  Status emit(std::string& out, const std::string& s, SrcPos p) {
    output_bytes += s.size();
    if (output_bytes > o.max_output_bytes) return err(p, fmt::format("template output exceeds {} bytes", o.max_output_bytes));
    out += s;
    return {};
  }

  Result<Flow> exec_body(const Body& body, const FramePtr& frame, std::string& out) {
    for (const auto& s : body) {
      CORRAL_TRY(step(s->pos));
      auto f = exec(*s, frame, out);
      if (!f.ok()) return f.error();
      if (*f != Flow::kNormal) return *f;
    }
    return Flow::kNormal;
  }

  Result<std::string> render_body(const Body& body, const FramePtr& frame) {
    std::string out;
    auto f = exec_body(body, frame, out);
    if (!f.ok()) return f.error();
    return out;
  }

  Result<Value> apply_filters(const std::vector<ExprPtr>& filters, Value v, const FramePtr& frame) {
    for (const auto& f : filters) {
      CallArgs args;
      CORRAL_TRY(eval_args(*f, frame, args));
      auto r = charged(f->pos, apply_filter(f->name, v, args));
      if (!r.ok()) return r.error();
      v = *r;
    }
    return v;
  }

  Result<Flow> exec(const Stmt& s, const FramePtr& frame, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::kText: CORRAL_TRY(emit(out, s.text, s.pos)); return Flow::kNormal;
      case Stmt::Kind::kOutput: {
        auto v = eval(*s.expr, frame);
        if (!v.ok()) return v.error();
        std::string text = v->to_str();
        CORRAL_TRY(charged(s.pos, Value()));  // printing a list reads all of it
        CORRAL_TRY(emit(out, text, s.pos));
        return Flow::kNormal;
      }
      case Stmt::Kind::kBreak: return Flow::kBreak;
      case Stmt::Kind::kContinue: return Flow::kContinue;
      case Stmt::Kind::kIf: {
        for (size_t k = 0; k < s.bodies.size(); ++k) {
          if (k < s.conds.size()) {
            auto c = eval(*s.conds[k], frame);
            if (!c.ok()) return c.error();
            if (!c->truthy()) continue;
          }
          return exec_body(s.bodies[k], frame, out);
        }
        return Flow::kNormal;
      }
      case Stmt::Kind::kFor: return exec_for(s, frame, out);
      case Stmt::Kind::kSet: {
        auto v = eval(*s.expr, frame);
        if (!v.ok()) return v.error();
        CORRAL_TRY(assign(s, *v, frame));
        return Flow::kNormal;
      }
      case Stmt::Kind::kSetBlock: {
        auto body = render_body(s.bodies[0], std::make_shared<Frame>(Frame{{}, frame}));
        if (!body.ok()) return body.error();
        auto v = apply_filters(s.filters, Value::string(*body), frame);
        if (!v.ok()) return v.error();
        CORRAL_TRY(assign(s, *v, frame));
        return Flow::kNormal;
      }
      case Stmt::Kind::kFilterBlock: {
        auto body = render_body(s.bodies[0], frame);
        if (!body.ok()) return body.error();
        auto v = apply_filters(s.filters, Value::string(*body), frame);
        if (!v.ok()) return v.error();
        CORRAL_TRY(emit(out, v->to_str(), s.pos));
        return Flow::kNormal;
      }
      case Stmt::Kind::kScope: {
        auto f = exec_body(s.bodies[0], frame, out);
        if (!f.ok()) return f.error();
        return *f;
      }
      case Stmt::Kind::kMacro: {
        frame->set(s.name, make_macro(s, frame, nullptr));
        return Flow::kNormal;
      }
      case Stmt::Kind::kCallBlock: {
        // The body becomes `caller`, a macro with the call block's parameters.
        Value caller = make_macro(s, frame, nullptr);
        const Expr& call = *s.expr;
        auto callee = eval(*call.children[0], frame);
        if (!callee.ok()) return callee.error();
        if (!callee->is_function()) return err(s.pos, "call block needs a macro");
        CallArgs args;
        CORRAL_TRY(eval_args(call, frame, args));
        args.kw.emplace_back("caller", caller);
        auto r = invoke(*callee, args, s.pos);
        if (!r.ok()) return r.error();
        CORRAL_TRY(emit(out, r->to_str(), s.pos));
        return Flow::kNormal;
      }
    }
    return Flow::kNormal;
  }

  Status assign(const Stmt& s, const Value& v, const FramePtr& frame) {
    if (s.target_attr_object) {
      Value* obj = frame->find(s.target_attr_object->name);
      if (!obj || !obj->is_namespace()) return err(s.pos, "cannot assign attribute on non-namespace object");
      obj->dict_ref().set(s.text, v);
      return {};
    }
    if (s.targets.size() == 1) {
      frame->set(s.targets[0], v);
      return {};
    }
    auto items = iterate(v);
    if (!items.ok()) return located(s.pos, items.error());
    if (items->size() != s.targets.size())
      return err(s.pos, fmt::format("cannot unpack {} values into {} names", items->size(), s.targets.size()));
    for (size_t k = 0; k < s.targets.size(); ++k) frame->set(s.targets[k], (*items)[k]);
    return {};
  }

  Value make_macro(const Stmt& s, const FramePtr& def_frame, const Value* /*unused*/) {
    const Stmt* stmt = &s;
    // Weak: a macro is stored in the frame it closes over; the frame is alive whenever the
    // macro can be reached from running code.
    std::weak_ptr<Frame> weak = def_frame;
    return Value::function(
        [this, stmt, weak](CallArgs& args) -> Result<Value> {
          FramePtr parent = weak.lock();
          if (!parent) return err(stmt->pos, "macro called after its scope ended");
          auto frame = std::make_shared<Frame>(Frame{{}, parent});
          size_t used = 0;
          std::vector<std::pair<std::string, Value>> extra_kw;
          for (size_t k = 0; k < stmt->params.size(); ++k) {
            const auto& p = stmt->params[k];
            const Value* v = nullptr;
            if (k < args.pos.size()) {
              v = &args.pos[k];
              ++used;
            } else {
              for (const auto& [kk, vv] : args.kw)
                if (kk == p.name) v = &vv;
            }
            if (v) {
              frame->set(p.name, *v);
            } else if (p.default_value) {
              auto d = eval(*p.default_value, frame);
              if (!d.ok()) return d.error();
              frame->set(p.name, *d);
            } else {
              frame->set(p.name, Value());
            }
          }
          std::vector<Value> varargs;
          if (args.pos.size() > used) varargs.assign(args.pos.begin() + static_cast<long>(used), args.pos.end());
          auto kwargs = std::make_shared<Dict>();
          for (const auto& [kk, vv] : args.kw) {
            if (kk == "caller") {
              frame->set("caller", vv);
              continue;
            }
            bool is_param = false;
            for (const auto& p : stmt->params) is_param = is_param || p.name == kk;
            if (!is_param) kwargs->set(kk, vv);
          }
          frame->set("varargs", Value::list(std::move(varargs), /*tuple=*/true));
          frame->set("kwargs", Value::dict(kwargs));
          if (++call_depth > o.max_call_depth) {
            --call_depth;
            return err(stmt->pos, fmt::format("macro calls nested deeper than {}", o.max_call_depth));
          }
          auto body = render_body(stmt->bodies[0], frame);
          --call_depth;
          if (!body.ok()) return body.error();
          return Value::string(*body);
        },
        s.name.empty() ? "caller" : s.name);
  }

  Result<Value> invoke(const Value& fn, CallArgs& args, SrcPos p) {
    if (!fn.is_function()) return err(p, fmt::format("'{}' object is not callable", fn.type_name()));
    auto r = fn.fn()(args);
    if (!r.ok()) return located(p, r.error());
    return r;
  }

  Result<Flow> exec_for(const Stmt& s, const FramePtr& frame, std::string& out) {
    auto iterable = eval(*s.expr, frame);
    if (!iterable.ok()) return iterable.error();
    auto items_r = iterate(*iterable);
    if (!items_r.ok()) return located(s.pos, items_r.error());
    std::vector<Value> items = std::move(*items_r);
    auto bind = [&](const FramePtr& f, const Value& item) -> Status {
      if (s.targets.size() == 1) {
        f->set(s.targets[0], item);
        return {};
      }
      auto parts = iterate(item);
      if (!parts.ok()) return located(s.pos, parts.error());
      if (parts->size() != s.targets.size())
        return err(s.pos, fmt::format("cannot unpack {} values into {} loop variables", parts->size(), s.targets.size()));
      for (size_t k = 0; k < s.targets.size(); ++k) f->set(s.targets[k], (*parts)[k]);
      return {};
    };
    if (s.loop_filter) {
      std::vector<Value> kept;
      for (const auto& item : items) {
        CORRAL_TRY(step(s.pos));
        auto f = std::make_shared<Frame>(Frame{{}, frame});
        CORRAL_TRY(bind(f, item));
        auto c = eval(*s.loop_filter, f);
        if (!c.ok()) return c.error();
        if (c->truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    const size_t n = items.size();
    for (size_t i = 0; i < n; ++i) {
      CORRAL_TRY(step(s.pos));
      auto f = std::make_shared<Frame>(Frame{{}, frame});
      auto loop = std::make_shared<Dict>();
      loop->set("index", Value::integer(static_cast<int64_t>(i + 1)));
      loop->set("index0", Value::integer(static_cast<int64_t>(i)));
      loop->set("revindex", Value::integer(static_cast<int64_t>(n - i)));
      loop->set("revindex0", Value::integer(static_cast<int64_t>(n - i - 1)));
      loop->set("first", Value::boolean(i == 0));
      loop->set("last", Value::boolean(i + 1 == n));
      loop->set("length", Value::integer(static_cast<int64_t>(n)));
      loop->set("depth", Value::integer(1));
      loop->set("depth0", Value::integer(0));
      loop->set("previtem", i > 0 ? items[i - 1] : Value());
      loop->set("nextitem", i + 1 < n ? items[i + 1] : Value());
      loop->set("cycle", Value::function([i](CallArgs& a) -> Result<Value> {
        if (a.pos.empty()) return make_error("no items for cycling given");
        return a.pos[i % a.pos.size()];
      }, "cycle"));
      f->set("loop", Value::dict(loop));
      CORRAL_TRY(bind(f, items[i]));
      auto r = exec_body(s.bodies[0], f, out);
      if (!r.ok()) return r.error();
      if (*r == Flow::kBreak) break;
    }
    if (n == 0 && s.bodies.size() > 1) {
      auto r = exec_body(s.bodies[1], frame, out);
      if (!r.ok()) return r.error();
    }
    return Flow::kNormal;
  }

  Status eval_args(const Expr& e, const FramePtr& frame, CallArgs& args) {
    // kCall: children[0] is the callee; kFilter/kTest: children[0] is the operand.
    for (size_t k = 1; k < e.children.size(); ++k) {
      auto v = eval(*e.children[k], frame);
      if (!v.ok()) return v.error();
      args.pos.push_back(*v);
    }
    for (const auto& [key, ex] : e.kwargs) {
      auto v = eval(*ex, frame);
      if (!v.ok()) return v.error();
      args.kw.emplace_back(key, *v);
    }
    return {};
  }

  Result<Value> eval(const Expr& e, const FramePtr& frame) {
    if (++eval_depth > 4 * o.max_parse_depth) {
      --eval_depth;
      return err(e.pos, "expression nested too deeply");
    }
    auto r = eval_inner(e, frame);
    --eval_depth;
    return r;
  }

  Result<Value> eval_inner(const Expr& e, const FramePtr& frame) {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.value;
      case Expr::Kind::kName: {
        if (Value* v = frame->find(e.name)) return *v;
        return Value();
      }
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        std::vector<Value> items;
        for (const auto& c : e.children) {
          auto v = eval(*c, frame);
          if (!v.ok()) return v;
          items.push_back(*v);
        }
        return Value::list(std::move(items), e.kind == Expr::Kind::kTuple);
      }
      case Expr::Kind::kDict: {
        auto d = std::make_shared<Dict>();
        for (size_t k = 0; k + 1 < e.children.size(); k += 2) {
          auto key = eval(*e.children[k], frame);
          if (!key.ok()) return key;
          auto val = eval(*e.children[k + 1], frame);
          if (!val.ok()) return val;
          if (!key->is_string()) return err(e.children[k]->pos, "dict keys must be strings");
          d->set(key->str(), *val);
        }
        return Value::dict(d);
      }
      case Expr::Kind::kAttr: {
        auto obj = eval(*e.children[0], frame);
        if (!obj.ok()) return obj;
        auto r = get_attr(*obj, e.name);
        if (!r.ok()) return located(e.pos, r.error());
        return r;
      }
      case Expr::Kind::kIndex: {
        auto obj = eval(*e.children[0], frame);
        if (!obj.ok()) return obj;
        auto key = eval(*e.children[1], frame);
        if (!key.ok()) return key;
        auto r = get_item(*obj, *key);
        if (!r.ok()) return located(e.pos, r.error());
        return r;
      }
      case Expr::Kind::kSlice: {
        auto obj = eval(*e.children[0], frame);
        if (!obj.ok()) return obj;
        Value parts[3];
        for (int k = 0; k < 3; ++k) {
          if (!e.children[static_cast<size_t>(k) + 1]) continue;
          auto v = eval(*e.children[static_cast<size_t>(k) + 1], frame);
          if (!v.ok()) return v;
          parts[k] = *v;
        }
        auto r = get_slice(*obj, parts[0], parts[1], parts[2]);
        if (!r.ok()) return located(e.pos, r.error());
        return r;
      }
      case Expr::Kind::kCall: {
        auto fn = eval(*e.children[0], frame);
        if (!fn.ok()) return fn;
        CallArgs args;
        CORRAL_TRY(eval_args(e, frame, args));
        if (fn->is_undefined()) {
          std::string what = e.children[0]->kind == Expr::Kind::kName ? "'" + e.children[0]->name + "' is undefined"
                             : e.children[0]->kind == Expr::Kind::kAttr ? "no method or attribute '" + e.children[0]->name + "'"
                                                                        : "value is undefined";
          return err(e.pos, what + " and cannot be called");
        }
        return charged(e.pos, invoke(*fn, args, e.pos));
      }
      case Expr::Kind::kFilter: {
        auto v = eval(*e.children[0], frame);
        if (!v.ok()) return v;
        CallArgs args;
        CORRAL_TRY(eval_args(e, frame, args));
        return charged(e.pos, apply_filter(e.name, *v, args));
      }
      case Expr::Kind::kTest: {
        auto v = eval(*e.children[0], frame);
        if (!v.ok()) return v;
        CallArgs args;
        CORRAL_TRY(eval_args(e, frame, args));
        auto r = apply_test(e.name, *v, args);
        if (!r.ok()) return located(e.pos, r.error());
        return charged(e.pos, Value::boolean(e.negate ? !*r : *r));
      }
      case Expr::Kind::kUnary: {
        auto v = eval(*e.children[0], frame);
        if (!v.ok()) return v;
        if (e.name == "not") return Value::boolean(!v->truthy());
        if (v->is_int() || v->is_bool()) {
          if (e.name == "-" && v->as_int() == INT64_MIN) return err(e.pos, "integer overflow in unary -: the result does not fit in 64 bits");
          return Value::integer(e.name == "-" ? -v->as_int() : v->as_int());
        }
        if (v->is_float()) return Value::number(e.name == "-" ? -v->as_double() : v->as_double());
        return err(e.pos, fmt::format("bad operand type for unary {}: '{}'", e.name, v->type_name()));
      }
      case Expr::Kind::kBinary: {
        auto l = eval(*e.children[0], frame);
        if (!l.ok()) return l;
        if (e.name == "and") return l->truthy() ? eval(*e.children[1], frame) : l;
        if (e.name == "or") return l->truthy() ? l : eval(*e.children[1], frame);
        auto r = eval(*e.children[1], frame);
        if (!r.ok()) return r;
        return charged(e.pos, binary_op(e.name, *l, *r));
      }
      case Expr::Kind::kCompare: {
        auto l = eval(*e.children[0], frame);
        if (!l.ok()) return l;
        Value left = *l;
        for (size_t k = 0; k < e.ops.size(); ++k) {
          auto r = eval(*e.children[k + 1], frame);
          if (!r.ok()) return r;
          auto c = compare_op(e.ops[k], left, *r);
          if (!c.ok()) return located(e.pos, c.error());
          CORRAL_TRY(charged(e.pos, Value::boolean(*c)));
          if (!*c) return Value::boolean(false);
          left = *r;
        }
        return Value::boolean(true);
      }
      case Expr::Kind::kConcat: {
        std::string s;
        for (const auto& c : e.children) {
          auto v = eval(*c, frame);
          if (!v.ok()) return v;
          s += v->to_str();
          if (s.size() > kMaxValueBytes) return err(e.pos, fmt::format("string too large (over {} bytes)", kMaxValueBytes));
        }
        return charged(e.pos, Value::string(std::move(s)));
      }
      case Expr::Kind::kCond: {
        auto c = eval(*e.children[0], frame);
        if (!c.ok()) return c;
        if (c->truthy()) return eval(*e.children[1], frame);
        if (e.children[2]) return eval(*e.children[2], frame);
        return Value();
      }
    }
    return Value();
  }
};

std::string strftime_at(const std::string& fmt, int64_t fixed_time) {
  std::time_t t = fixed_time >= 0 ? static_cast<std::time_t>(fixed_time)
                                  : std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  if (fixed_time >= 0) gmtime_r(&t, &tm);
  else localtime_r(&t, &tm);
  std::string out(256, '\0');
  if (fmt.size() > 200) return "";
  const size_t n = std::strftime(out.data(), out.size(), fmt.c_str(), &tm);
  out.resize(n);
  return out;
}

void add_globals(Frame& g, const Options& o) {
  g.set("range", Value::function([](CallArgs& a) -> Result<Value> {
    int64_t start = 0, stop = 0, step = 1;
    auto num = [](const Value& v) -> Result<int64_t> {
      if (!v.is_int() && !v.is_bool()) return make_error("range() arguments must be integers, not {}", v.type_name());
      return v.as_int();
    };
    if (a.pos.size() == 1) {
      auto s = num(a.pos[0]);
      if (!s.ok()) return s.error();
      stop = *s;
    } else if (a.pos.size() == 2 || a.pos.size() == 3) {
      auto x = num(a.pos[0]);
      auto y = num(a.pos[1]);
      if (!x.ok()) return x.error();
      if (!y.ok()) return y.error();
      start = *x;
      stop = *y;
      if (a.pos.size() == 3) {
        auto z = num(a.pos[2]);
        if (!z.ok()) return z.error();
        step = *z;
      }
    } else {
      return make_error("range expected 1 to 3 arguments, got {}", a.pos.size());
    }
    if (step == 0) return make_error("range() arg 3 must not be zero");
    std::vector<Value> out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
      if (out.size() >= kMaxListItems) return make_error("range() is too large (more than {} items)", kMaxListItems);
      out.push_back(Value::integer(i));
      if (__builtin_add_overflow(i, step, &i)) break;  // past the 64-bit range: past stop too
    }
    return Value::list(std::move(out));
  }, "range"));
  g.set("namespace", Value::function([](CallArgs& a) -> Result<Value> {
    auto d = std::make_shared<Dict>();
    for (const auto& p : a.pos) {
      if (!p.is_dict()) return make_error("namespace() positional argument must be a mapping");
      for (const auto& [k, v] : p.dict_ref().items) d->set(k, v);
    }
    for (const auto& [k, v] : a.kw) d->set(k, v);
    return Value::dict(d, true);
  }, "namespace"));
  g.set("dict", Value::function([](CallArgs& a) -> Result<Value> {
    auto d = std::make_shared<Dict>();
    for (const auto& p : a.pos)
      if (p.is_dict())
        for (const auto& [k, v] : p.dict_ref().items) d->set(k, v);
    for (const auto& [k, v] : a.kw) d->set(k, v);
    return Value::dict(d);
  }, "dict"));
  g.set("raise_exception", Value::function([](CallArgs& a) -> Result<Value> {
    return make_error("{}", a.pos.empty() ? std::string("raise_exception called") : a.pos[0].to_str());
  }, "raise_exception"));
  const int64_t fixed = o.fixed_time;
  g.set("strftime_now", Value::function([fixed](CallArgs& a) -> Result<Value> {
    if (a.pos.empty() || !a.pos[0].is_string()) return make_error("strftime_now needs a format string");
    return Value::string(strftime_at(a.pos[0].str(), fixed));
  }, "strftime_now"));
}

}  // namespace

Result<std::string> Template::render(const std::vector<std::pair<std::string, Value>>& vars) const {
  auto globals = std::make_shared<Frame>();
  add_globals(*globals, options_);
  for (const auto& [k, v] : vars) globals->set(k, v);
  auto top = std::make_shared<Frame>(Frame{{}, globals});
  Interp in{name_, options_};
  // This render's work meter; a render inside a builtin (none today) would get its own too.
  WorkMeter& meter = work_meter();
  const WorkMeter saved = meter;
  meter = WorkMeter{0, options_.max_work_bytes};
  std::string out;
  auto f = in.exec_body(*body_, top, out);
  meter = saved;
  // Macros hold their defining frame; break the cycle frame -> macro -> frame.
  top->vars.clear();
  globals->vars.clear();
  if (!f.ok()) return f.error();
  return out;
}

Result<std::string> Template::render(const nlohmann::ordered_json& context) const {
  std::vector<std::pair<std::string, Value>> vars;
  if (context.is_object())
    for (auto it = context.begin(); it != context.end(); ++it) vars.emplace_back(it.key(), Value::from_json(it.value()));
  return render(vars);
}

}  // namespace corral::jinja
