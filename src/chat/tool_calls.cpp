// Tool-call syntax detection, the streaming ToolCallParser and the tool-call GBNF.
#include "chat/tool_calls.h"

#include <algorithm>
#include <cctype>

namespace corral {

namespace {

using OJson = nlohmann::ordered_json;

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

size_t leading_space(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

std::string_view trim(std::string_view s) {
  s.remove_prefix(leading_space(s));
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  if (tag.empty()) return 0;
  const size_t max = std::min(s.size(), tag.size() - 1);
  for (size_t n = max; n > 0; --n)
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

std::optional<std::vector<ToolCall>> parse_calls(std::string_view text) {
  const OJson v = OJson::parse(text, nullptr, false);
  if (v.is_discarded()) return std::nullopt;
  return tool_calls_from_json(v);
}

// A tagged body: one JSON value, or (Phi-4-mini, parallel calls) objects separated by commas
// without the brackets around them.
std::optional<std::vector<ToolCall>> parse_tagged_calls(std::string_view body, bool bare_list) {
  auto calls = parse_calls(body);
  if (calls || !bare_list || body.empty() || body.front() != '{') return calls;
  return parse_calls("[" + std::string(body) + "]");
}

}  // namespace

const char* tool_call_syntax_name(ToolCallSyntax s) {
  switch (s) {
    case ToolCallSyntax::kNone: return "none";
    case ToolCallSyntax::kJson: return "json";
    case ToolCallSyntax::kHermes: return "hermes";
    case ToolCallSyntax::kLlama3: return "llama3";
    case ToolCallSyntax::kMistral: return "mistral";
    case ToolCallSyntax::kMistralArgs: return "mistral-args";
    case ToolCallSyntax::kPhi4: return "phi4";
    case ToolCallSyntax::kQwenXml: return "qwen-xml";
    case ToolCallSyntax::kGemma4: return "gemma4";
  }
  return "none";
}

ToolCallSyntax tool_call_syntax_for_template(std::string_view t) {
  if (contains(t, "<|tool_call>")) return ToolCallSyntax::kGemma4;
  if (contains(t, "<tool_call>") && contains(t, "<function=")) return ToolCallSyntax::kQwenXml;
  if (contains(t, "<|tool_call|>") || contains(t, "<|tool|>")) return ToolCallSyntax::kPhi4;
  if (contains(t, "<tool_call>")) return ToolCallSyntax::kHermes;
  if (contains(t, "[TOOL_CALLS]"))
    return contains(t, "[ARGS]") ? ToolCallSyntax::kMistralArgs : ToolCallSyntax::kMistral;
  const bool mentions_tools = contains(t, "tools") || contains(t, ".Tools");
  if (contains(t, "<|python_tag|>") || (mentions_tools && contains(t, "<|start_header_id|>")))
    return ToolCallSyntax::kLlama3;
  if (mentions_tools || contains(t, "tool_calls") || contains(t, ".ToolCalls")) return ToolCallSyntax::kJson;
  return ToolCallSyntax::kNone;
}

std::optional<std::vector<ToolCall>> tool_calls_from_json(const OJson& v) {
  std::vector<ToolCall> out;
  if (v.is_array()) {
    if (v.empty()) return std::nullopt;
    for (const auto& e : v) {
      if (!e.is_object()) return std::nullopt;
      auto one = tool_calls_from_json(e);
      if (!one || one->size() != 1) return std::nullopt;
      out.push_back(std::move((*one)[0]));
    }
    return out;
  }
  if (!v.is_object()) return std::nullopt;
  if (auto f = v.find("function"); f != v.end() && f->is_object() && !v.contains("name"))
    return tool_calls_from_json(*f);
  auto name = v.find("name");
  if (name == v.end() || !name->is_string() || name->get<std::string>().empty()) return std::nullopt;
  ToolCall c;
  c.name = name->get<std::string>();
  auto args = v.find("arguments");
  if (args == v.end()) args = v.find("parameters");
  if (args != v.end()) {
    OJson a = *args;
    if (a.is_string()) {
      a = OJson::parse(args->get<std::string>(), nullptr, false);
      if (a.is_discarded()) return std::nullopt;
    }
    if (a.is_null()) a = OJson::object();
    if (!a.is_object()) return std::nullopt;
    c.arguments = std::move(a);
  }
  // Any other key means this is some other object, not a call.
  for (auto it = v.begin(); it != v.end(); ++it)
    if (it.key() != "name" && it.key() != "arguments" && it.key() != "parameters" && it.key() != "id" &&
        it.key() != "type")
      return std::nullopt;
  out.push_back(std::move(c));
  return out;
}

std::ptrdiff_t json_value_extent(std::string_view s, int max_depth) {
  if (s.empty() || (s[0] != '{' && s[0] != '[')) return -1;
  std::string stack;
  bool in_string = false, escape = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '{': case '[':
        stack.push_back(c);
        if (static_cast<int>(stack.size()) > max_depth) return -1;
        break;
      case '}': case ']':
        if (stack.empty() || (c == '}') != (stack.back() == '{')) return -1;
        stack.pop_back();
        if (stack.empty()) return static_cast<std::ptrdiff_t>(i + 1);
        break;
      default: break;
    }
  }
  return 0;
}

ToolCallParser::ToolCallParser(ToolCallSyntax syntax, std::vector<std::string> tool_names, OJson tools)
    : syntax_(syntax), names_(std::move(tool_names)), tools_(std::move(tools)), state_(State::kStart) {
  switch (syntax) {
    case ToolCallSyntax::kHermes:
    case ToolCallSyntax::kQwenXml: open_ = "<tool_call>"; close_ = "</tool_call>"; break;
    case ToolCallSyntax::kGemma4: open_ = "<|tool_call>"; close_ = "<tool_call|>"; break;
    case ToolCallSyntax::kPhi4: open_ = "<|tool_call|>"; close_ = "<|/tool_call|>"; break;
    case ToolCallSyntax::kMistral:
    case ToolCallSyntax::kMistralArgs: open_ = "[TOOL_CALLS]"; break;
    case ToolCallSyntax::kLlama3: open_ = "<|python_tag|>"; break;
    case ToolCallSyntax::kJson: break;
    case ToolCallSyntax::kNone: state_ = State::kText; break;
  }
}

int ToolCallParser::take_named_call(size_t at, Out& out, bool tagged) {
  static constexpr std::string_view kArgs = "[ARGS]";
  static constexpr size_t kMaxName = 256;
  const std::string_view rest = std::string_view(buf_).substr(at);
  const size_t pos = rest.find(kArgs);
  const std::string_view name = pos == std::string_view::npos ? rest : rest.substr(0, pos);
  const bool name_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
  if (pos == std::string_view::npos) {
    // Still reading the name (or "[ARG..." has begun): wait while it could be one.
    const size_t partial = partial_tag_suffix(rest, kArgs);
    const std::string_view head = rest.substr(0, rest.size() - partial);
    const bool head_ok = std::all_of(head.begin(), head.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
    return head_ok && head.size() <= kMaxName ? 0 : -1;
  }
  if (name.empty() || !name_ok || name.size() > kMaxName) return -1;
  if (!tagged && !names_.empty() && std::find(names_.begin(), names_.end(), name) == names_.end()) return -1;
  const size_t args_at = at + pos + kArgs.size();
  const size_t ws = leading_space(std::string_view(buf_).substr(args_at));
  if (args_at + ws == buf_.size()) return 0;
  const std::string_view json = std::string_view(buf_).substr(args_at + ws);
  if (json[0] != '{') return -1;
  const std::ptrdiff_t n = json_value_extent(json);
  if (n == 0) return 0;
  if (n < 0) return -1;
  OJson args = OJson::parse(json.substr(0, static_cast<size_t>(n)), nullptr, false);
  if (!args.is_object()) return -1;
  ToolCall c;
  c.name = std::string(name);
  c.arguments = std::move(args);
  out.calls.push_back(std::move(c));
  buf_.erase(0, args_at + ws + static_cast<size_t>(n));
  return 1;
}

std::optional<std::vector<ToolCall>> ToolCallParser::parse_body(std::string_view body) const {
  if (syntax_ == ToolCallSyntax::kQwenXml || syntax_ == ToolCallSyntax::kGemma4) {
    auto call = syntax_ == ToolCallSyntax::kQwenXml ? parse_qwen_xml_call(body, tools_) : parse_gemma4_call(body);
    if (!call) return std::nullopt;
    std::vector<ToolCall> calls;
    calls.push_back(std::move(*call));
    return calls;
  }
  return parse_tagged_calls(trim(body), syntax_ == ToolCallSyntax::kPhi4);
}

size_t ToolCallParser::close_position() const {
  return syntax_ == ToolCallSyntax::kGemma4 ? gemma4_close_position(buf_) : buf_.find(close_);
}

bool ToolCallParser::names_ok(const std::vector<ToolCall>& calls, bool tagged) const {
  if (tagged || names_.empty()) return true;
  return std::all_of(calls.begin(), calls.end(), [&](const ToolCall& c) {
    return std::find(names_.begin(), names_.end(), c.name) != names_.end();
  });
}

ToolCallParser::Out ToolCallParser::push(std::string_view text) {
  buf_.append(text);
  Out out;
  step(out);
  return out;
}

void ToolCallParser::step(Out& out) {
  for (;;) {
    switch (state_) {
      case State::kStart:
      case State::kAfterCall: {
        size_t ws = leading_space(buf_);
        if (state_ == State::kAfterCall) {
          // Between calls: whitespace and Llama's ';' separators are dropped.
          const bool semicolon = ws < buf_.size() && buf_[ws] == ';';
          buf_.erase(0, ws + (semicolon ? 1 : 0));
          ws = 0;
          if (semicolon) break;
        }
        const std::string_view rest = std::string_view(buf_).substr(ws);
        if (rest.empty()) return;
        if (!open_.empty()) {  // the tag first: Mistral's "[TOOL_CALLS]" also starts with '['
          if (rest.size() < open_.size() && std::string_view(open_).substr(0, rest.size()) == rest) return;
          if (rest.substr(0, open_.size()) == open_) {
            state_ = State::kText;
            break;
          }
        }
        if (syntax_ == ToolCallSyntax::kGemma4 && state_ == State::kStart) {
          // The <|tool_call> control token may be invisible: a bare call:NAME{...} at the start.
          static constexpr std::string_view kCall = "call:";
          if (rest.size() < kCall.size() && kCall.substr(0, rest.size()) == rest) return;
          if (rest.substr(0, kCall.size()) == kCall) {
            bare_body_ = true;  // (the body is trimmed when parsed; if it is no call, it is text as it came)
            state_ = State::kTagBody;
            break;
          }
        }
        if (syntax_ == ToolCallSyntax::kMistralArgs && rest[0] != '{' && rest[0] != '[') {
          // The [TOOL_CALLS] control token is usually invisible: "name[ARGS]{...}" at the start.
          const int r = take_named_call(ws, out, false);
          if (r == 0) return;
          state_ = r > 0 ? State::kAfterCall : State::kText;
          break;
        }
        state_ = syntax_ != ToolCallSyntax::kNone && (rest[0] == '{' || rest[0] == '[') ? State::kBareJson : State::kText;
        break;
      }
      case State::kText: {
        if (open_.empty()) {
          out.content += buf_;
          buf_.clear();
          return;
        }
        const size_t pos = buf_.find(open_);
        if (pos != std::string::npos) {
          out.content.append(buf_, 0, pos);
          buf_.erase(0, pos + open_.size());
          state_ = State::kTagBody;
          break;
        }
        const size_t emit = buf_.size() - partial_tag_suffix(buf_, open_);
        out.content.append(buf_, 0, emit);
        buf_.erase(0, emit);
        return;
      }
      case State::kTagBody: {
        if (!close_.empty()) {
          const size_t pos = close_position();
          if (pos == std::string::npos) return;
          auto calls = parse_body(std::string_view(buf_).substr(0, pos));
          if (calls && names_ok(*calls, !bare_body_)) {
            for (auto& c : *calls) out.calls.push_back(std::move(c));
          } else {
            out.content += (bare_body_ ? "" : open_) + buf_.substr(0, pos + close_.size());
          }
          bare_body_ = false;
          buf_.erase(0, pos + close_.size());
          state_ = State::kAfterCall;
          break;
        }
        const size_t ws = leading_space(buf_);
        if (ws == buf_.size()) return;
        if (buf_[ws] != '{' && buf_[ws] != '[' && open_ == "[TOOL_CALLS]") {
          // Mistral's newer form: [TOOL_CALLS]name[ARGS]{...}
          const int r = take_named_call(ws, out, true);
          if (r == 0) return;
          if (r > 0) {
            state_ = State::kAfterCall;
            break;
          }
          out.content += open_;
          state_ = State::kText;
          break;
        }
        const std::ptrdiff_t n = json_value_extent(std::string_view(buf_).substr(ws));
        if (n == 0) return;
        if (n > 0) {
          auto calls = parse_calls(std::string_view(buf_).substr(ws, static_cast<size_t>(n)));
          if (calls) {
            for (auto& c : *calls) out.calls.push_back(std::move(c));
            buf_.erase(0, ws + static_cast<size_t>(n));
            state_ = State::kAfterCall;
            break;
          }
        }
        out.content += open_;  // not a call after all: the tag and what follows are text
        state_ = State::kText;
        break;
      }
      case State::kBareJson: {
        const size_t ws = leading_space(buf_);
        const std::ptrdiff_t n = json_value_extent(std::string_view(buf_).substr(ws));
        if (n == 0) return;
        if (n > 0) {
          auto calls = parse_calls(std::string_view(buf_).substr(ws, static_cast<size_t>(n)));
          if (calls && names_ok(*calls, false)) {
            for (auto& c : *calls) out.calls.push_back(std::move(c));
            buf_.erase(0, ws + static_cast<size_t>(n));
            state_ = State::kAfterCall;
            break;
          }
        }
        // Ordinary text (or JSON that is not a call): its opening bracket is content and the rest
        // is read as text (where a tagged call may still come). Deciding on the bracket alone
        // keeps the result the same however the text is split.
        out.content.append(buf_, 0, ws + 1);
        buf_.erase(0, ws + 1);
        state_ = State::kText;
        break;
      }
    }
  }
}

ToolCallParser::Out ToolCallParser::finish() {
  Out out;
  step(out);
  switch (state_) {
    case State::kTagBody: {
      // Generation ended inside a tagged call (a stop string or the token limit): keep the
      // call when what came so far is one, else give the text back.
      auto calls = parse_body(buf_);
      if (calls && names_ok(*calls, !bare_body_)) {
        for (auto& c : *calls) out.calls.push_back(std::move(c));
      } else {
        out.content += (bare_body_ ? "" : open_) + buf_;
      }
      bare_body_ = false;
      break;
    }
    case State::kAfterCall:
      break;
    default:
      out.content += buf_;
      break;
  }
  buf_.clear();
  state_ = State::kText;
  return out;
}

std::string gbnf_literal(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += "\"";
  return out;
}

namespace {

// The GBNF of one call of `fname` in the Qwen XML or Gemma 4 syntax: its required parameters in
// order (Gemma 4: sorted, as the template writes them), then each optional one or none. String
// values are text (an enum: one of its strings); other values are JSON by their schema, added
// to `slots` as placeholders.
std::string keyed_call_body(ToolCallSyntax syntax, const std::string& fname, const OJson& schema,
                            std::vector<std::pair<std::string, OJson>>& slots) {
  const bool xml = syntax == ToolCallSyntax::kQwenXml;
  const OJson props = schema.is_object() && schema.contains("properties") && schema["properties"].is_object()
                          ? schema["properties"]
                          : OJson::object();
  std::vector<std::string> required, optional;
  if (schema.is_object() && schema.contains("required") && schema["required"].is_array())
    for (const auto& r : schema["required"])
      if (r.is_string() && props.contains(r.get<std::string>())) required.push_back(r.get<std::string>());
  for (auto it = props.begin(); it != props.end(); ++it)
    if (std::find(required.begin(), required.end(), it.key()) == required.end()) optional.push_back(it.key());
  if (!xml) {
    std::sort(required.begin(), required.end());
    std::sort(optional.begin(), optional.end());
  }
  auto value = [&](const std::string& key) {
    const OJson& p = props[key];
    const bool is_string = p.is_object() && p.contains("type") && p["type"] == "string";
    if (is_string && p.contains("enum") && p["enum"].is_array() && !p["enum"].empty()) {
      std::string alts;
      for (const auto& e : p["enum"]) {
        if (!e.is_string()) continue;
        if (!alts.empty()) alts += " | ";
        alts += gbnf_literal(xml ? e.get<std::string>() : "<|\"|>" + e.get<std::string>() + "<|\"|>");
      }
      if (!alts.empty()) return "(" + alts + ")";
    }
    if (is_string) return std::string(xml ? "xml-text" : "\"<|\\\"|>\" gemma-text \"<|\\\"|>\"");
    const std::string rule = "tool-args-" + std::to_string(slots.size());
    slots.emplace_back(rule, p.is_object() ? p : OJson::object());
    return rule;
  };
  auto param = [&](const std::string& key, bool first) {
    if (xml) return gbnf_literal("<parameter=" + key + ">\n") + " " + value(key) + " " + gbnf_literal("\n</parameter>\n");
    return gbnf_literal((first ? "" : ",") + key + ":") + " " + value(key);
  };
  std::string body = gbnf_literal(xml ? "<function=" + fname + ">\n" : "call:" + fname + "{");
  for (size_t i = 0; i < required.size(); ++i) body += " " + param(required[i], i == 0);
  // Gemma 4's optional parameters need a comma before them, so they follow a required one.
  if (xml || !required.empty())
    for (const auto& key : optional) body += " (" + param(key, false) + ")?";
  body += " " + gbnf_literal(xml ? "</function>" : "}");
  return "(" + body + ")";
}

}  // namespace

std::optional<ToolCallGrammar> tool_call_grammar(ToolCallSyntax syntax, const OJson& tools, ToolChoice choice,
                                                 const std::string& name, bool parallel) {
  if (syntax == ToolCallSyntax::kNone || choice == ToolChoice::kNone || !tools.is_array()) return std::nullopt;
  if (choice == ToolChoice::kAuto && syntax != ToolCallSyntax::kHermes && syntax != ToolCallSyntax::kQwenXml)
    return std::nullopt;
  ToolCallGrammar g;
  const char* args_key = syntax == ToolCallSyntax::kLlama3 ? "parameters" : "arguments";
  const bool named_form = syntax == ToolCallSyntax::kMistralArgs;  // name[ARGS]{...}
  std::string bodies;
  for (const auto& t : tools) {
    const OJson& f = t.is_object() && t.contains("function") ? t["function"] : t;
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string()) continue;
    const std::string fname = f["name"].get<std::string>();
    if (choice == ToolChoice::kNamed && fname != name) continue;
    OJson schema = f.contains("parameters") && !f["parameters"].is_null() ? f["parameters"] : OJson{{"type", "object"}};
    if (!bodies.empty()) bodies += " | ";
    if (syntax == ToolCallSyntax::kQwenXml || syntax == ToolCallSyntax::kGemma4) {
      bodies += keyed_call_body(syntax, fname, schema, g.arg_schemas);
      continue;
    }
    const std::string rule = "tool-args-" + std::to_string(g.arg_schemas.size());
    g.arg_schemas.emplace_back(rule, std::move(schema));
    if (named_form) {
      bodies += gbnf_literal(fname + "[ARGS]") + " " + rule;
    } else {
      const std::string prefix = "{\"name\": " + OJson(fname).dump(-1, ' ', false, OJson::error_handler_t::replace) + ", \"" + args_key + "\": ";
      bodies += gbnf_literal(prefix) + " " + rule + " \"}\"";
    }
  }
  if (bodies.empty()) return std::nullopt;
  std::string rules = "call-body ::= " + bodies + "\n";
  if (syntax == ToolCallSyntax::kQwenXml) rules += "xml-text ::= [^<]+\n";
  if (syntax == ToolCallSyntax::kGemma4) rules += "gemma-text ::= [^<]*\n";
  for (const auto& [rule, schema] : g.arg_schemas) rules += rule + " ::= \"{}\"\n";  // placeholders
  // One call for a named tool; a few for "required" (bounded so a rambling model still ends).
  const bool one = choice == ToolChoice::kNamed || !parallel;
  switch (syntax) {
    case ToolCallSyntax::kHermes:
    case ToolCallSyntax::kQwenXml:  // the same <tool_call> wrapper around another call body
      if (choice == ToolChoice::kAuto) {
        g.trigger = "<tool_call>";
        // The first call, then (unless one is asked for) a few more or the end of the turn.
        g.gbnf = std::string("root ::= \"\\n\" call-body \"\\n</tool_call>\"") +
                 (one ? "" : " (\"\\n<tool_call>\\n\" call-body \"\\n</tool_call>\"){0,3}") + "\n";
      } else {
        g.gbnf = std::string("root ::= call") + (one ? "" : " (\"\\n\" call){0,3}") +
                 "\ncall ::= \"<tool_call>\\n\" call-body \"\\n</tool_call>\"\n";
      }
      break;
    case ToolCallSyntax::kGemma4:
      // One bare call: the tags are control tokens a grammar over text cannot force, and the
      // parser reads a bare call only at the start of the reply.
      g.gbnf = "root ::= call-body\n";
      break;
    case ToolCallSyntax::kMistral:
      g.gbnf = std::string("root ::= \"[TOOL_CALLS] [\" call-body") + (one ? "" : " (\", \" call-body){0,3}") + " \"]\"\n";
      break;
    case ToolCallSyntax::kMistralArgs:
      g.gbnf = std::string("root ::= call") + (one ? "" : " call{0,3}") + "\ncall ::= \"[TOOL_CALLS]\" call-body\n";
      break;
    case ToolCallSyntax::kPhi4:
      // The call as a bare JSON list (the parser takes one naming a declared tool): the tags may
      // be control tokens of the vocabulary, which a grammar over text cannot force.
      g.gbnf = std::string("root ::= \"[\" call-body") + (one ? "" : " (\", \" call-body){0,3}") + " \"]\"\n";
      break;
    case ToolCallSyntax::kLlama3:
    case ToolCallSyntax::kJson:
      g.gbnf = "root ::= call-body\n";
      break;
    case ToolCallSyntax::kNone:
      return std::nullopt;
  }
  g.gbnf += rules;
  return g;
}

}  // namespace corral
