// Jinja syntax tree (internal to chat/): expressions and statements with source positions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chat/jinja_value.h"
#include "chat/source_pos.h"

namespace corral::jinja {

using SrcPos = SourcePos;

struct Expr;
using ExprPtr = std::shared_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,     // value
    kName,        // name
    kList,        // children
    kTuple,       // children
    kDict,        // children as key, value pairs
    kAttr,        // a.name: children[0], name
    kIndex,       // a[b]: children[0], children[1]
    kSlice,       // a[b:c:d]: children[0..3] (null for absent)
    kCall,        // children[0](args...), kwargs
    kFilter,      // children[0] | name(args...)
    kTest,        // children[0] is [not] name(args...)
    kUnary,       // op children[0]  ("not", "-", "+")
    kBinary,      // children[0] op children[1]
    kCompare,     // children[0] ops[0] children[1] ops[1] children[2] ...
    kConcat,      // children joined with ~
    kCond,        // children[1] if children[0] else children[2] (may be null)
  };
  Kind kind = Kind::kLiteral;
  SrcPos pos;
  Value value;
  std::string name;  // name, attr, filter/test name, operator
  bool negate = false;
  std::vector<ExprPtr> children;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;  // for calls, filters, tests
  std::vector<std::string> ops;                          // for kCompare
};

struct Stmt;
using StmtPtr = std::shared_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  enum class Kind {
    kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kCallBlock, kFilterBlock, kBreak,
    kContinue, kScope,
  };
  Kind kind = Kind::kText;
  SrcPos pos;
  std::string text;                 // kText
  ExprPtr expr;                     // output / set value / for iterable / call expr
  // kIf: conds[i] guards bodies[i]; a trailing else is bodies.back() when bodies > conds.
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  // kFor: targets, filter (`for x in y if cond`), body = bodies[0], else = bodies[1]
  std::vector<std::string> targets;
  ExprPtr target_attr_object;       // kSet with `ns.attr` target: the object, attr in text
  ExprPtr loop_filter;
  bool recursive = false;
  // kMacro / kCallBlock
  std::string name;
  std::vector<MacroParam> params;
  // kFilterBlock / kSetBlock: filter chain applied to the body (kFilter expressions whose
  // children[0] is null)
  std::vector<ExprPtr> filters;
};

}  // namespace corral::jinja
