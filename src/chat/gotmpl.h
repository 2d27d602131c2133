// Go text/template: parser to an AST and an evaluator over GoValue, covering the language Ollama
// TEMPLATE layers use (actions with trim markers, if/else if/range/with/break/continue,
// variables, define/template/block, pipelines and the builtin and Ollama functions).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "chat/gotmpl_value.h"
#include "chat/source_pos.h"

namespace corral::gotmpl {

using Pos = SourcePos;

struct Pipe;

// One operand of a command.
struct Arg {
  enum class Kind { kDot, kNil, kBool, kNumber, kString, kField, kVariable, kFunc, kPipe };
  Kind kind = Kind::kDot;
  Pos pos;
  std::string text;                 // func name, variable name ("$x"), string value, number text
  bool bool_value = false;
  std::vector<std::string> chain;   // trailing .Field names (for field, variable, pipe, dot)
  std::shared_ptr<Pipe> pipe;       // kPipe
};

struct Command {
  Pos pos;
  std::vector<Arg> args;
};

struct Pipe {
  Pos pos;
  std::vector<std::string> decl;  // variables declared or assigned
  bool is_assign = false;         // '=' rather than ':='
  std::vector<Command> cmds;
};

struct Node;
using NodeList = std::vector<std::shared_ptr<Node>>;

struct Node {
  enum class Kind { kText, kAction, kIf, kRange, kWith, kTemplate, kBreak, kContinue };
  Kind kind = Kind::kText;
  Pos pos;
  std::string text;                 // kText: the text; kTemplate: the template name
  std::shared_ptr<Pipe> pipe;       // action/if/range/with/template (may be null for template)
  NodeList list;                    // if/range/with body
  NodeList else_list;
  bool has_else = false;
};

struct Limits {
  size_t max_output_bytes = size_t{64} << 20;
  size_t max_steps = 10'000'000;    // range iterations and node executions together
  int max_call_depth = 200;         // nested {{ template }} calls
  int max_parse_depth = 200;        // nested control structures and parentheses
  // currentDate / yesterdayDate use this instant (seconds since the epoch, UTC) when >= 0; else
  // the clock, in local time as Ollama does. Tests pin it.
  int64_t fixed_time = -1;
};

class Template {
 public:
  // Parses `source`; `name` is used in error messages ("template: NAME:LINE:COL: ...").
  static Result<Template> parse(std::string_view source, std::string name = "",
                                const Limits& limits = {});

  // Executes with `data` as dot and `$`.
  Result<std::string> execute(const GoValue& data) const;

  // Ollama's Template.Vars(): the lowercased field and variable identifiers in the main tree.
  std::vector<std::string> vars() const;
  bool uses(std::string_view lowercase_ident) const;

  // A copy whose main tree drops every node after the first `.Response` field (Ollama's cut for
  // legacy templates while generating).
  Template cut_after_response() const;

  // A copy with `{{ .Response }}` appended to the main tree.
  Template with_response_appended() const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  Limits limits_;
  NodeList root_;
  std::shared_ptr<std::map<std::string, NodeList>> defines_;
};

// The formatting of %v for a float64 (strconv 'g', shortest).
std::string format_go_float(double f);

}  // namespace corral::gotmpl
