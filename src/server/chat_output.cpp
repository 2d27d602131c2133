// Output planning (constraints, thinking, tool calls) and the reply JSON shapes.
#include "server/chat_output.h"

#include <random>

#include <fmt/format.h>

#include "base/log.h"
#include "engine/grammar_constraint.h"

namespace corral::server {

namespace {

using api::Json;
using api::OJson;

OJson bytes_json(const std::string& s) {
  OJson b = OJson::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

std::string call_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id = "call_";
  for (int i = 0; i < 8; ++i) id += kAlphabet[rng() % 36];
  return id;
}

// The GBNF `grammar` of a request body (top level or under options), or "".
std::string body_grammar(const OJson& j) {
  std::string g;
  if (auto it = j.find("grammar"); it != j.end() && it->is_string()) g = it->get<std::string>();
  if (auto o = j.find("options"); o != j.end() && o->is_object())
    if (auto it = o->find("grammar"); it != o->end() && it->is_string()) g = it->get<std::string>();
  return g;
}

}  // namespace

Expected<ToolRequest> tool_request_from_body(std::string_view body, bool openai) {
  ToolRequest tr;
  const OJson j = OJson::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return tr;  // the route reports bad JSON
  if (auto t = j.find("tools"); t != j.end() && !t->is_null()) {
    if (!t->is_array()) return HttpError{400, "tools must be an array"};
    for (const auto& tool : *t) {
      const OJson& f = tool.is_object() && tool.contains("function") ? tool["function"] : tool;
      if (!f.is_object() || !f.contains("name") || !f["name"].is_string())
        return HttpError{400, "each tool must be {\"type\": \"function\", \"function\": {\"name\": ...}}"};
    }
    tr.tools = *t;
  }
  if (!openai) return tr;
  if (auto p = j.find("parallel_tool_calls"); p != j.end() && !p->is_null()) {
    if (!p->is_boolean()) return HttpError{400, "parallel_tool_calls must be a boolean"};
    tr.parallel = p->get<bool>();
  }
  auto c = j.find("tool_choice");
  if (c == j.end() || c->is_null()) return tr;
  if (c->is_string()) {
    const std::string s = c->get<std::string>();
    if (s == "none") tr.choice = ToolChoice::kNone;
    else if (s == "auto") tr.choice = ToolChoice::kAuto;
    else if (s == "required") tr.choice = ToolChoice::kRequired;
    else return HttpError{400, fmt::format("tool_choice must be none, auto, required or a function, not \"{}\"", s)};
  } else if (c->is_object() && c->contains("function") && (*c)["function"].is_object() &&
             (*c)["function"].contains("name") && (*c)["function"]["name"].is_string()) {
    tr.choice = ToolChoice::kNamed;
    tr.name = (*c)["function"]["name"].get<std::string>();
    bool found = false;
    for (const auto& tool : tr.tools) {
      const OJson& f = tool.contains("function") ? tool["function"] : tool;
      found = found || f["name"] == tr.name;
    }
    if (!found) return HttpError{400, fmt::format("tool_choice names the function \"{}\", which is not in tools", tr.name)};
  } else {
    return HttpError{400, "tool_choice must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}"};
  }
  if ((tr.choice == ToolChoice::kRequired || tr.choice == ToolChoice::kNamed) && tr.tools.empty())
    return HttpError{400, "tool_choice requires tools"};
  return tr;
}

Json openai_think(const Json& body) {
  if (auto t = body.find("think"); t != body.end() && !t->is_null()) return *t;
  const Json* effort = nullptr;
  if (auto e = body.find("reasoning_effort"); e != body.end() && e->is_string()) effort = &*e;
  if (auto r = body.find("reasoning"); r != body.end() && r->is_object())
    if (auto e = r->find("effort"); e != r->end() && e->is_string()) effort = &*e;
  if (effort == nullptr) return nullptr;
  if (effort->get<std::string>() == "none") return false;
  return *effort;
}

std::string template_text_for(const ModelRef& ref, const ModelExtras& ex,
                              const std::optional<std::string>& template_override) {
  if (template_override) return *template_override;
  if (ref.has_template) return ref.template_text;
  return ex.gguf_chat_template;
}

namespace {

// Harmony (gpt-oss): the reply's channels are always split (the model cannot be told not to
// reason: `think: false` only leaves the effort to the template's default, as Ollama does), so
// a raw prompt is split only when `think` asks. A format applies to the final channel's body.
// A request's own GBNF that mentions <|channel|> writes the whole reply. Tool calls are
// unconstrained: their markers are control tokens the tool-call grammars do not write, so
// tool_choice required or a named function is refused.
Expected<OutputPlan> plan_harmony_output(const ModelRef& ref, const Tokenizer& tok, const Json& think,
                                         const ToolRequest& tools, std::string_view body, bool raw,
                                         GenerateRequest* er) {
  OutputPlan plan;
  if (think.is_string() && !is_harmony_reasoning_effort(think.get<std::string>()))
    return HttpError{400, fmt::format("\"{}\" takes think true, false, \"low\", \"medium\" or \"high\", not \"{}\"",
                                      ref.name, think.get<std::string>())};
  const bool think_asked = think.is_string() || (think.is_boolean() && think.get<bool>());
  plan.thinking = !raw || think_asked;
  plan.parse.harmony = plan.thinking;
  const bool has_tools = !tools.tools.empty() && tools.choice != ToolChoice::kNone;
  if (has_tools && (tools.choice == ToolChoice::kRequired || tools.choice == ToolChoice::kNamed))
    return HttpError{400, fmt::format("\"{}\" writes harmony tool calls, which cannot be forced: use tool_choice auto", ref.name)};
  auto base = constraint_from_request_body(body, tok);
  if (!base.ok()) return HttpError{400, base.error().message};
  std::shared_ptr<TokenConstraint> c = *base;
  // A grammar that writes the channels itself (it mentions <|channel|>) applies from the first token.
  const OJson j = OJson::parse(body, nullptr, false);
  const bool grammar_writes_channels = j.is_object() && body_grammar(j).find("<|channel|>") != std::string::npos;
  if (c && plan.thinking && !grammar_writes_channels)
    c = defer_constraint(c, tok, {ConstraintStart{"<|channel|>final", false}, ConstraintStart{"<|message|>", false}});
  er->constraint = c;
  return plan;
}

}  // namespace

namespace {

// True when `prompt` (trailing whitespace aside) ends with the closing tag of a thinking block.
bool prompt_ends_with_closed_thinking(std::string_view prompt, const ThinkingTags& tags) {
  while (!prompt.empty() && (prompt.back() == ' ' || prompt.back() == '\n' || prompt.back() == '\r' || prompt.back() == '\t'))
    prompt.remove_suffix(1);
  return !tags.close.empty() && prompt.size() >= tags.close.size() &&
         prompt.substr(prompt.size() - tags.close.size()) == tags.close;
}

}  // namespace

Expected<OutputPlan> plan_output(const ModelRef& ref, const ModelExtras& ex, const std::string& template_text,
                                 const std::string& prompt, const Json& think_in, const ToolRequest& tools,
                                 std::string_view body, bool raw, GenerateRequest* er) {
  // Ollama accepts "true" and "false" as strings too: they are the booleans, not levels.
  const Json think = think_in.is_string() && (think_in == "true" || think_in == "false") ? Json(think_in == "true") : think_in;
  OutputPlan plan;
  const Tokenizer& tok = *ex.tokenizer;
  if (is_harmony_template(template_text)) return plan_harmony_output(ref, tok, think, tools, body, raw, er);
  const auto tags = thinking_tags_for_template(template_text);
  const bool think_asked = think.is_string() || (think.is_boolean() && think.get<bool>());
  const bool think_off = think.is_boolean() && !think.get<bool>();
  if (think_asked && !tags) return HttpError{400, fmt::format("\"{}\" does not support thinking", ref.name)};
  // Thinking is on by default for templates that support it (as Ollama); a raw prompt is the
  // caller's own, so only an explicit `think` splits it.
  // A prompt that ends with the thinking block already closed (Gemma 4's template without
  // `think` writes an empty thought channel) leaves nothing to split, and a constraint applies
  // from the first token.
  const bool closed_in_prompt = tags && prompt_ends_with_closed_thinking(prompt, *tags);
  plan.thinking = tags.has_value() && !think_off && (!raw || think_asked) && !closed_in_prompt;
  if (plan.thinking) {
    plan.parse.thinking = *tags;
    plan.parse.thinking_starts_inside = prompt_opens_thinking(prompt, *tags);
  }

  const bool has_tools = !tools.tools.empty() && tools.choice != ToolChoice::kNone;
  ToolCallSyntax syntax = ToolCallSyntax::kNone;
  if (has_tools) {
    syntax = tool_call_syntax_for_template(template_text);
    if (syntax == ToolCallSyntax::kNone) syntax = ToolCallSyntax::kJson;
    plan.parse.tool_syntax = syntax;
    plan.parse.tools = tools.tools;  // the Qwen XML syntax types argument values by their schemas
    for (const auto& t : tools.tools) {
      const OJson& f = t.contains("function") ? t["function"] : t;
      plan.parse.tool_names.push_back(f["name"].get<std::string>());
    }
  }

  auto base = constraint_from_request_body(body, tok);  // format / response_format / grammar
  if (!base.ok()) return HttpError{400, base.error().message};
  std::shared_ptr<TokenConstraint> c = *base;
  bool end_allowed_in_thinking = false;
  if (has_tools && (tools.choice == ToolChoice::kRequired || tools.choice == ToolChoice::kNamed)) {
    if (c) return HttpError{400, "tool_choice required or a named function cannot be combined with response_format, format or grammar"};
    auto g = tool_call_grammar(syntax, tools.tools, tools.choice, tools.name, tools.parallel);
    if (!g) return HttpError{400, fmt::format("tool_choice: no tool named \"{}\"", tools.name)};
    auto composed = compose_grammar(g->gbnf, g->arg_schemas);
    if (!composed.ok()) return HttpError{400, fmt::format("tool parameters: {}", composed.error().message)};
    c = make_grammar_constraint(*composed, tok);
  } else if (has_tools && !c) {
    // tool_choice auto: free text, but once the model opens a call its arguments follow the
    // tool's schema. A schema the converter refuses leaves that call unconstrained.
    if (auto g = tool_call_grammar(syntax, tools.tools, ToolChoice::kAuto, "", tools.parallel)) {
      auto composed = compose_grammar(g->gbnf, g->arg_schemas);
      if (composed.ok()) {
        c = defer_constraint(make_grammar_constraint(*composed, tok), tok, {ConstraintStart{g->trigger, true}});
        end_allowed_in_thinking = true;
      } else {
        CORRAL_LOG_INFO("{}: tool calls left unconstrained: {}", ref.name, composed.error().message);
      }
    }
  }
  // With thinking, the constraint applies to the answer after the thinking part, unless the
  // request's own GBNF writes the thinking block (it mentions the opening tag).
  if (c && plan.thinking) {
    const OJson j = OJson::parse(body, nullptr, false);
    const bool grammar_writes_thinking =
        j.is_object() && body_grammar(j).find(tags->open) != std::string::npos;
    if (!grammar_writes_thinking) c = defer_constraint(c, tok, {ConstraintStart{tags->close, end_allowed_in_thinking}});
  }
  er->constraint = c;
  return plan;
}

ChatOutputParser::Out parse_all(const ChatOutputOptions& opts, const std::string& text) {
  ChatOutputParser p(opts);
  auto out = p.push(text);
  append_output(out, p.finish());
  return out;
}

void append_output(ChatOutputParser::Out& to, ChatOutputParser::Out from) {
  to.thinking += from.thinking;
  to.content += from.content;
  for (auto& c : from.calls) to.calls.push_back(std::move(c));
}

OJson ollama_tool_calls_json(const std::vector<ToolCall>& calls, size_t first_index) {
  OJson out = OJson::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    OJson fn;
    fn["index"] = first_index + i;
    fn["name"] = calls[i].name;
    fn["arguments"] = calls[i].arguments;
    out.push_back(OJson{{"id", call_id()}, {"function", std::move(fn)}});
  }
  return out;
}

OJson openai_tool_calls_json(const std::vector<ToolCall>& calls, size_t first_index, bool delta) {
  OJson out = OJson::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    OJson c;
    if (delta) c["index"] = first_index + i;
    c["id"] = call_id();
    c["type"] = "function";
    c["function"] = OJson{{"name", calls[i].name}, {"arguments", calls[i].arguments.dump(-1, ' ', false, OJson::error_handler_t::replace)}};
    out.push_back(std::move(c));
  }
  return out;
}

OJson openai_chat_logprobs(const Tokenizer& tk, const std::vector<TokenLogprob>& lps) {
  OJson content = OJson::array();
  for (const auto& lp : lps) {
    OJson e;
    e["token"] = lp.text;
    e["logprob"] = lp.logprob;
    e["bytes"] = bytes_json(lp.text);
    OJson top = OJson::array();
    for (const auto& [id, p] : lp.top) {
      const std::string piece = tk.token_to_piece(id);
      top.push_back(OJson{{"token", piece}, {"logprob", p}, {"bytes", bytes_json(piece)}});
    }
    e["top_logprobs"] = std::move(top);
    content.push_back(std::move(e));
  }
  return OJson{{"content", std::move(content)}, {"refusal", nullptr}};
}

OJson openai_completion_logprobs(const Tokenizer& tk, const std::vector<TokenLogprob>& lps, size_t text_offset) {
  OJson tokens = OJson::array(), token_lps = OJson::array(), tops = OJson::array(), offsets = OJson::array();
  for (const auto& lp : lps) {
    tokens.push_back(lp.text);
    token_lps.push_back(lp.logprob);
    OJson top = OJson::object();
    for (const auto& [id, p] : lp.top) {
      const std::string piece = tk.token_to_piece(id);
      if (!top.contains(piece)) top[piece] = p;  // two tokens may share a piece: keep the likelier
    }
    tops.push_back(std::move(top));
    offsets.push_back(text_offset);
    text_offset += lp.text.size();
  }
  return OJson{{"tokens", std::move(tokens)},
               {"token_logprobs", std::move(token_lps)},
               {"top_logprobs", std::move(tops)},
               {"text_offset", std::move(offsets)}};
}

}  // namespace corral::server
