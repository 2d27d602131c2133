// Tool calls in a model's generated text: which syntax a chat template teaches the model, a
// streaming parser that splits the text into content and complete tool calls, and the GBNF that
// makes a model emit a call in that syntax (with placeholders for each tool's parameter schema).
//
// Syntaxes (what the model writes):
//   hermes  (Qwen2.5, Qwen3, Hermes):  <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>
//   llama3  (Llama 3.1-3.3):           {"name": "f", "parameters": {...}}  (after <|python_tag|>
//                                      when the tag is visible; it is a control token and usually not)
//   mistral:                           [TOOL_CALLS] [{"name": "f", "arguments": {...}}, ...]
//   mistral-args (Mistral Small 3.2, Magistral, Devstral): [TOOL_CALLS]f[ARGS]{...}
//   phi4    (Phi-4-mini; tools between <|tool|> and <|/tool|>):
//                                      <|tool_call|>[{"name": "f", "arguments": {...}}, ...]<|/tool_call|>
//                                      (the closing tag may be missing, the brackets too)
//   qwen-xml (Qwen 3.5 / 3.6, Qwen3-Coder; the template has `<function=`):
//                                      <tool_call>\n<function=f>\n<parameter=k>\nvalue\n</parameter>\n
//                                      </function>\n</tool_call>  (values typed by the tool's schema)
//   gemma4  (Gemma 4; `<|tool_call>` in the template):
//                                      <|tool_call>call:f{k:<|"|>text<|"|>,n:3}<tool_call|>
//                                      (bare keys, strings between <|"|> delimiters; the tags are
//                                      control tokens, so a bare call:f{...} at the very start that
//                                      names a declared tool counts too)
//   json    (any other template that renders tools): a bare JSON call object or array
// A bare JSON value at the very start of the output counts as a call in every syntax, but only
// when it names a declared tool, so that an ordinary JSON answer is not mistaken for one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace corral {

enum class ToolCallSyntax { kNone, kJson, kHermes, kLlama3, kMistral, kMistralArgs, kPhi4, kQwenXml, kGemma4 };
inline constexpr int kToolCallSyntaxCount = 9;

const char* tool_call_syntax_name(ToolCallSyntax s);

// The syntax a chat template (Jinja or Go) asks for; kNone when it does not render tools.
ToolCallSyntax tool_call_syntax_for_template(std::string_view template_text);

struct ToolCall {
  std::string name;
  nlohmann::ordered_json arguments = nlohmann::ordered_json::object();
};

// The calls in one JSON value: {"name", "arguments" | "parameters"} (arguments an object, or a
// string holding one), {"function": {...}} around that, or a non-empty array of those.
// nullopt when the value has another shape.
std::optional<std::vector<ToolCall>> tool_calls_from_json(const nlohmann::ordered_json& v);

// Length of the JSON object or array at the start of `s` (s[0] is '{' or '['): > 0 when
// complete, 0 when more text is needed, -1 when it cannot be one (unbalanced, or nested deeper
// than `max_depth`).
std::ptrdiff_t json_value_extent(std::string_view s, int max_depth = 128);

// One Qwen XML call, the text between <tool_call> and </tool_call>. Each value is typed by the
// `type` its parameter has in `tools` (OpenAI shape): a string stays the text; a number, boolean,
// object or array is read as JSON (the text when it does not read as one). A parameter with no
// schema is read as JSON when it reads as a number, boolean, null, object or array. nullopt when
// the body is not <function=NAME> with well-formed parameters.
std::optional<ToolCall> parse_qwen_xml_call(std::string_view body, const nlohmann::ordered_json& tools);

// One Gemma 4 call, the text between <|tool_call> and <tool_call|>: call:NAME{key:value,...}.
// Values: <|"|>text<|"|>, {...}, [...], true, false, null, numbers (anything else: its text).
std::optional<ToolCall> parse_gemma4_call(std::string_view body);

// Position of Gemma 4's closing <tool_call|> in `s` outside its <|"|> strings; npos if none.
size_t gemma4_close_position(std::string_view s);

class ToolCallParser {
 public:
  struct Out {
    std::string content;
    std::vector<ToolCall> calls;
  };

  // `tool_names`: the declared tools (a bare JSON value must name one of them; empty: any).
  // `tools`: the declared tools (OpenAI shape), which type Qwen XML argument values.
  explicit ToolCallParser(ToolCallSyntax syntax, std::vector<std::string> tool_names = {},
                          nlohmann::ordered_json tools = nlohmann::ordered_json::array());

  Out push(std::string_view text);
  Out finish();

 private:
  enum class State { kStart, kText, kTagBody, kBareJson, kAfterCall };
  void step(Out& out);
  // name[ARGS]{...} with the name at buf_[at] (after [TOOL_CALLS] when `tagged`; else the name
  // must be a declared tool): 1 taken, 0 need more text, -1 not a call.
  int take_named_call(size_t at, Out& out, bool tagged);
  bool names_ok(const std::vector<ToolCall>& calls, bool tagged) const;
  // The calls in a tagged body (between open_ and close_), in this syntax.
  std::optional<std::vector<ToolCall>> parse_body(std::string_view body) const;
  size_t close_position() const;  // of close_ in buf_, npos if absent

  ToolCallSyntax syntax_;
  std::vector<std::string> names_;
  nlohmann::ordered_json tools_;
  std::string open_, close_;  // open_ empty: no tag; close_ empty: the body is one JSON value
  State state_;
  std::string buf_;
  bool bare_body_ = false;  // in a Gemma 4 call whose opening tag was not seen
};

// A GBNF grammar for tool calls in `syntax`. Rule `tool-args-<i>` is a placeholder whose
// definition is to be replaced by the grammar of `arg_schemas[i].second` (the parameters schema
// of that tool; see engine/grammar_constraint.h make_composed_constraint).
struct ToolCallGrammar {
  std::string gbnf;
  std::string trigger;  // non-empty: the grammar applies only after this text (tool_choice auto)
  std::vector<std::pair<std::string, nlohmann::ordered_json>> arg_schemas;
};

enum class ToolChoice { kNone, kAuto, kRequired, kNamed };

// `tools` in the OpenAI/Ollama shape. kAuto gives a grammar only for syntaxes whose calls start
// with a visible tag (hermes), kNamed constrains to one call of the tool called `name`, and
// kRequired to one call, or up to four when `parallel`. nullopt when the syntax is unknown
// (kNone), when kAuto has no visible tag, or when no tool matches.
std::optional<ToolCallGrammar> tool_call_grammar(ToolCallSyntax syntax, const nlohmann::ordered_json& tools,
                                                 ToolChoice choice, const std::string& name = "",
                                                 bool parallel = true);

// A GBNF string literal for `text` (quotes included).
std::string gbnf_literal(std::string_view text);

}  // namespace corral
