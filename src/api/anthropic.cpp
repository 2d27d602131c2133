// Anthropic Messages request -> OpenAI chat request translation, and Anthropic error bodies.
#include "api/anthropic.h"

#include <map>

namespace corral::api {

namespace {

bool present(const OJson& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && !it->is_null();
}

// The text of a `system` value or a tool_result's content: a string or an array of text blocks.
Result<std::string> text_of(const OJson& v, const char* what) {
  if (v.is_null()) return std::string();
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) return make_error("{} must be a string or an array of content blocks", what);
  std::string out;
  for (const auto& b : v) {
    if (!b.is_object() || !b.contains("type") || !b["type"].is_string())
      return make_error("each block of {} must be an object with a type", what);
    const auto t = b["type"].get<std::string>();
    if (t == "image" || t == "document") return make_error("{} blocks are not supported", t);
    if (t != "text") return make_error("{} may hold only text blocks, not \"{}\"", what, t);
    if (!b.contains("text") || !b["text"].is_string()) return make_error("a text block needs a text string");
    if (!out.empty()) out += "\n";
    out += b["text"].get<std::string>();
  }
  return out;
}

// One user or assistant turn -> the OpenAI messages it becomes, appended to `out`.
// `tool_names` maps the ids of earlier tool_use blocks to their tool names.
Status translate_message(const OJson& m, std::map<std::string, std::string>& tool_names, OJson& out) {
  if (!m.is_object()) return make_error("each message must be an object");
  if (!m.contains("role") || !m["role"].is_string()) return make_error("each message needs a role string");
  const auto role = m["role"].get<std::string>();
  if (role != "user" && role != "assistant" && role != "system")
    return make_error("message role must be user, assistant or system, not \"{}\"", role);
  if (!m.contains("content")) return make_error("each message needs content");
  const OJson& c = m["content"];
  if (role == "system") {
    auto text = text_of(c, "system message content");
    if (!text) return text.error();
    out.push_back(OJson{{"role", "system"}, {"content", *text}});
    return {};
  }
  if (c.is_string()) {
    out.push_back(OJson{{"role", role}, {"content", c.get<std::string>()}});
    return {};
  }
  if (!c.is_array()) return make_error("message content must be a string or an array of content blocks");
  std::string text, thinking;
  OJson calls = OJson::array();
  OJson tool_msgs = OJson::array();
  for (const auto& b : c) {
    if (!b.is_object() || !b.contains("type") || !b["type"].is_string())
      return make_error("each content block must be an object with a type");
    const auto t = b["type"].get<std::string>();
    if (t == "text") {
      if (!b.contains("text") || !b["text"].is_string()) return make_error("a text block needs a text string");
      text += b["text"].get<std::string>();
    } else if (t == "thinking" || t == "redacted_thinking") {
      if (role != "assistant") return make_error("{} blocks belong to assistant messages", t);
      if (t == "thinking") {
        if (!b.contains("thinking") || !b["thinking"].is_string())
          return make_error("a thinking block needs a thinking string");
        thinking += b["thinking"].get<std::string>();
      }
    } else if (t == "tool_use") {
      if (role != "assistant") return make_error("tool_use blocks belong to assistant messages");
      if (!b.contains("id") || !b["id"].is_string() || !b.contains("name") || !b["name"].is_string())
        return make_error("a tool_use block needs id and name strings");
      OJson input = b.value("input", OJson::object());
      if (!input.is_object()) return make_error("tool_use input must be an object");
      const auto id = b["id"].get<std::string>();
      const auto name = b["name"].get<std::string>();
      tool_names[id] = name;
      calls.push_back(OJson{{"id", id}, {"type", "function"}, {"function", OJson{{"name", name}, {"arguments", input}}}});
    } else if (t == "tool_result") {
      if (role != "user") return make_error("tool_result blocks belong to user messages");
      if (!b.contains("tool_use_id") || !b["tool_use_id"].is_string())
        return make_error("a tool_result block needs a tool_use_id string");
      const auto id = b["tool_use_id"].get<std::string>();
      auto name = tool_names.find(id);
      if (name == tool_names.end())
        return make_error("tool_result block names tool_use_id \"{}\", which no earlier tool_use block has", id);
      auto content = text_of(b.value("content", OJson()), "tool_result content");
      if (!content) return content.error();
      std::string result = std::move(*content);
      if (b.value("is_error", false)) result = "Error: " + result;
      tool_msgs.push_back(OJson{{"role", "tool"}, {"tool_call_id", id}, {"name", name->second}, {"content", result}});
    } else if (t == "image" || t == "document") {
      return make_error("{} blocks are not supported", t);
    } else {
      return make_error("unsupported content block type \"{}\"", t);
    }
  }
  for (auto& tm : tool_msgs) out.push_back(std::move(tm));
  if (role == "assistant") {
    OJson a{{"role", "assistant"}, {"content", text}};
    if (!calls.empty()) a["tool_calls"] = std::move(calls);
    if (!thinking.empty()) a["reasoning_content"] = thinking;
    out.push_back(std::move(a));
  } else if (!text.empty() || tool_msgs.empty()) {
    out.push_back(OJson{{"role", "user"}, {"content", text}});
  }
  return {};
}

Status translate_tools(const OJson& req, OJson& chat) {
  if (present(req, "tools")) {
    const OJson& tools = req["tools"];
    if (!tools.is_array()) return make_error("tools must be an array");
    OJson out = OJson::array();
    for (const auto& t : tools) {
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string())
        return make_error("each tool must be an object with a name string");
      if (auto ty = t.find("type"); ty != t.end() && !ty->is_null() && *ty != "custom")
        return make_error("tool \"{}\": server tools (type {}) are not supported", t["name"].get<std::string>(), ty->dump());
      if (!t.contains("input_schema") || !t["input_schema"].is_object())
        return make_error("tool \"{}\" needs an input_schema object", t["name"].get<std::string>());
      OJson f{{"name", t["name"]}};
      if (auto d = t.find("description"); d != t.end() && d->is_string()) f["description"] = *d;
      f["parameters"] = t["input_schema"];
      out.push_back(OJson{{"type", "function"}, {"function", std::move(f)}});
    }
    chat["tools"] = std::move(out);
  }
  if (!present(req, "tool_choice")) return {};
  const OJson& c = req["tool_choice"];
  if (!c.is_object() || !c.contains("type") || !c["type"].is_string())
    return make_error("tool_choice must be an object with a type");
  const auto t = c["type"].get<std::string>();
  if (t == "auto") chat["tool_choice"] = "auto";
  else if (t == "any") chat["tool_choice"] = "required";
  else if (t == "none") chat["tool_choice"] = "none";
  else if (t == "tool") {
    if (!c.contains("name") || !c["name"].is_string()) return make_error("tool_choice of type tool needs a name");
    chat["tool_choice"] = OJson{{"type", "function"}, {"function", OJson{{"name", c["name"]}}}};
  } else {
    return make_error("tool_choice.type must be auto, any, tool or none, not \"{}\"", t);
  }
  if (auto p = c.find("disable_parallel_tool_use"); p != c.end() && !p->is_null()) {
    if (!p->is_boolean()) return make_error("tool_choice.disable_parallel_tool_use must be a boolean");
    if (p->get<bool>()) chat["parallel_tool_calls"] = false;
  }
  return {};
}

// Scalar sampling fields, each checked for its type and copied under the OpenAI name.
Status translate_sampling(const OJson& req, bool count_tokens, OJson& chat) {
  if (present(req, "max_tokens")) {
    const OJson& n = req["max_tokens"];
    if (!n.is_number_integer() || n.get<int64_t>() < 1) return make_error("max_tokens must be a positive integer");
    chat["max_tokens"] = n;
  } else if (!count_tokens) {
    return make_error("max_tokens: field required");
  }
  for (const char* k : {"temperature", "top_p"}) {
    if (!present(req, k)) continue;
    if (!req[k].is_number()) return make_error("{} must be a number", k);
    chat[k] = req[k];
  }
  if (present(req, "top_k")) {
    if (!req["top_k"].is_number_integer()) return make_error("top_k must be an integer");
    chat["top_k"] = req["top_k"];
  }
  if (present(req, "stop_sequences")) {
    const OJson& s = req["stop_sequences"];
    if (!s.is_array()) return make_error("stop_sequences must be an array of strings");
    for (const auto& x : s)
      if (!x.is_string()) return make_error("stop_sequences must be an array of strings");
    if (!s.empty()) chat["stop"] = s;
  }
  if (present(req, "stream")) {
    if (!req["stream"].is_boolean()) return make_error("stream must be a boolean");
    chat["stream"] = req["stream"];
  }
  if (present(req, "metadata") && !req["metadata"].is_object()) return make_error("metadata must be an object");
  chat["think"] = false;
  if (present(req, "thinking")) {
    const OJson& th = req["thinking"];
    if (!th.is_object() || !th.contains("type") || !th["type"].is_string())
      return make_error("thinking must be an object with a type");
    const auto t = th["type"].get<std::string>();
    if (t == "enabled" || t == "adaptive") chat["think"] = true;
    else if (t != "disabled") return make_error("thinking.type must be enabled, adaptive or disabled, not \"{}\"", t);
    if (t == "enabled" && present(th, "budget_tokens") && !th["budget_tokens"].is_number_integer())
      return make_error("thinking.budget_tokens must be an integer");
  }
  for (const char* k : {"seed", "options", "grammar", "deadline_ms", "fallback", "keep_alive"})
    if (present(req, k)) chat[k] = req[k];
  return {};
}

}  // namespace

Result<OJson> anthropic_to_chat(const OJson& req, bool count_tokens) {
  if (!req.is_object()) return make_error("the request body must be a JSON object");
  if (!req.contains("model") || !req["model"].is_string() || req["model"].get<std::string>().empty())
    return make_error("model: field required (a string)");
  OJson chat;
  chat["model"] = req["model"];
  OJson messages = OJson::array();
  if (present(req, "system")) {
    auto sys = text_of(req["system"], "system");
    if (!sys) return sys.error();
    messages.push_back(OJson{{"role", "system"}, {"content", *sys}});
  }
  if (!req.contains("messages") || !req["messages"].is_array() || req["messages"].empty())
    return make_error("messages must be a non-empty array");
  std::map<std::string, std::string> tool_names;
  for (const auto& m : req["messages"]) CORRAL_TRY(translate_message(m, tool_names, messages));
  chat["messages"] = std::move(messages);
  CORRAL_TRY(translate_tools(req, chat));
  CORRAL_TRY(translate_sampling(req, count_tokens, chat));
  return chat;
}

const char* anthropic_error_type(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: case 529: return "overloaded_error";
    default: return status < 500 ? "invalid_request_error" : "api_error";
  }
}

std::string anthropic_error_body(std::string_view message, std::string_view type) {
  OJson e;
  e["type"] = "error";
  e["error"]["type"] = std::string(type);
  e["error"]["message"] = std::string(message);
  return e.dump(-1, ' ', false, OJson::error_handler_t::replace);
}

}  // namespace corral::api
