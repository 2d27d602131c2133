// OpenAI Responses request -> OpenAI chat request translation.
#include "api/responses.h"

#include <map>

namespace corral::api {

namespace {

bool present(const OJson& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && !it->is_null();
}

// A message's content: a string or an array of input_text / output_text / text parts.
Result<std::string> content_text(const OJson& c) {
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) return make_error("message content must be a string or an array of content parts");
  std::string out;
  for (const auto& p : c) {
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string())
      return make_error("each content part must be an object with a type");
    const auto t = p["type"].get<std::string>();
    if (t == "input_image" || t == "input_file" || t == "input_audio") return make_error("{} parts are not supported", t);
    if (t != "input_text" && t != "output_text" && t != "text" && t != "refusal")
      return make_error("unsupported content part type \"{}\"", t);
    const char* field = t == "refusal" ? "refusal" : "text";
    if (!p.contains(field) || !p[field].is_string()) return make_error("a {} part needs a {} string", t, field);
    out += p[field].get<std::string>();
  }
  return out;
}

// The call ids of the tool calls in chat messages, with their function names.
void collect_calls(const OJson& messages, std::map<std::string, std::string>& names) {
  for (const auto& m : messages) {
    if (!m.is_object() || !m.contains("tool_calls") || !m["tool_calls"].is_array()) continue;
    for (const auto& c : m["tool_calls"])
      if (c.contains("id") && c["id"].is_string() && c.contains("function") && c["function"].contains("name"))
        names[c["id"].get<std::string>()] = c["function"]["name"].get<std::string>();
  }
}

struct InputState {
  OJson& out;
  std::map<std::string, std::string> calls;  // call_id -> name
  std::string reasoning;                     // waiting for the next assistant message
};

// The assistant message a function_call or reasoning item attaches to: the last message when it
// is an assistant message, else a new empty one.
OJson& assistant_tail(InputState& s) {
  if (s.out.empty() || s.out.back()["role"] != "assistant") s.out.push_back(OJson{{"role", "assistant"}, {"content", ""}});
  OJson& a = s.out.back();
  if (!s.reasoning.empty()) {
    a["reasoning_content"] = s.reasoning;
    s.reasoning.clear();
  }
  return a;
}

Status translate_item(const OJson& item, InputState& s) {
  if (!item.is_object()) return make_error("each input item must be an object");
  std::string type = "message";
  if (present(item, "type")) {
    if (!item["type"].is_string()) return make_error("input item type must be a string");
    type = item["type"].get<std::string>();
  }
  if (type == "message") {
    if (!item.contains("role") || !item["role"].is_string()) return make_error("a message item needs a role string");
    std::string role = item["role"].get<std::string>();
    if (role == "developer") role = "system";
    if (role != "user" && role != "assistant" && role != "system")
      return make_error("message role must be user, assistant, system or developer, not \"{}\"", role);
    if (!item.contains("content")) return make_error("a message item needs content");
    auto text = content_text(item["content"]);
    if (!text) return text.error();
    if (role == "assistant") {
      OJson& a = assistant_tail(s);
      if (a.contains("tool_calls")) {  // text after calls is a new turn
        s.out.push_back(OJson{{"role", "assistant"}, {"content", *text}});
      } else {
        a["content"] = a["content"].get<std::string>() + *text;
      }
    } else {
      s.out.push_back(OJson{{"role", role}, {"content", *text}});
    }
  } else if (type == "function_call") {
    for (const char* k : {"call_id", "name", "arguments"})
      if (!item.contains(k) || !item[k].is_string()) return make_error("a function_call item needs {} as a string", k);
    const auto id = item["call_id"].get<std::string>();
    auto args = OJson::parse(item["arguments"].get<std::string>(), nullptr, false);
    if (args.is_discarded() || !args.is_object())
      return make_error("function_call \"{}\": arguments must be a JSON object in a string", id);
    s.calls[id] = item["name"].get<std::string>();
    OJson& a = assistant_tail(s);
    if (!a.contains("tool_calls")) a["tool_calls"] = OJson::array();
    a["tool_calls"].push_back(OJson{{"id", id}, {"type", "function"}, {"function", OJson{{"name", item["name"]}, {"arguments", std::move(args)}}}});
  } else if (type == "function_call_output") {
    if (!item.contains("call_id") || !item["call_id"].is_string())
      return make_error("a function_call_output item needs a call_id string");
    const auto id = item["call_id"].get<std::string>();
    auto name = s.calls.find(id);
    if (name == s.calls.end())
      return make_error("function_call_output names call_id \"{}\", which no earlier function_call has", id);
    if (!item.contains("output")) return make_error("a function_call_output item needs output");
    auto text = content_text(item["output"]);
    if (!text) return text.error();
    s.out.push_back(OJson{{"role", "tool"}, {"tool_call_id", id}, {"name", name->second}, {"content", *text}});
  } else if (type == "reasoning") {
    for (const char* k : {"summary", "content"}) {
      if (!present(item, k)) continue;
      if (!item[k].is_array()) return make_error("reasoning {} must be an array", k);
      for (const auto& p : item[k])
        if (p.is_object() && p.contains("text") && p["text"].is_string()) s.reasoning += p["text"].get<std::string>();
    }
  } else {
    return make_error("unsupported input item type \"{}\"", type);
  }
  return {};
}

Status translate_tools(const OJson& req, OJson& chat) {
  if (present(req, "tools")) {
    if (!req["tools"].is_array()) return make_error("tools must be an array");
    OJson out = OJson::array();
    for (const auto& t : req["tools"]) {
      if (!t.is_object() || t.value("type", std::string()) != "function")
        return make_error("only function tools are supported (each tool needs type \"function\")");
      if (!t.contains("name") || !t["name"].is_string()) return make_error("each function tool needs a name string");
      OJson f{{"name", t["name"]}};
      if (auto d = t.find("description"); d != t.end() && d->is_string()) f["description"] = *d;
      if (present(t, "parameters")) {
        if (!t["parameters"].is_object()) return make_error("tool \"{}\": parameters must be an object", t["name"].get<std::string>());
        f["parameters"] = t["parameters"];
      }
      out.push_back(OJson{{"type", "function"}, {"function", std::move(f)}});
    }
    chat["tools"] = std::move(out);
  }
  if (present(req, "tool_choice")) {
    const OJson& c = req["tool_choice"];
    if (c.is_string()) {
      chat["tool_choice"] = c;  // none / auto / required: checked by the chat path
    } else if (c.is_object() && c.value("type", std::string()) == "function" && c.contains("name") && c["name"].is_string()) {
      chat["tool_choice"] = OJson{{"type", "function"}, {"function", OJson{{"name", c["name"]}}}};
    } else {
      return make_error("tool_choice must be none, auto, required or {{\"type\": \"function\", \"name\": ...}}");
    }
  }
  if (present(req, "parallel_tool_calls")) chat["parallel_tool_calls"] = req["parallel_tool_calls"];
  return {};
}

Status translate_options(const OJson& req, OJson& chat) {
  if (present(req, "max_output_tokens")) {
    const OJson& n = req["max_output_tokens"];
    if (!n.is_number_integer() || n.get<int64_t>() < 1) return make_error("max_output_tokens must be a positive integer");
    chat["max_tokens"] = n;
  }
  for (const char* k : {"temperature", "top_p"}) {
    if (!present(req, k)) continue;
    if (!req[k].is_number()) return make_error("{} must be a number", k);
    chat[k] = req[k];
  }
  for (const char* k : {"stream", "store"})
    if (present(req, k) && !req[k].is_boolean()) return make_error("{} must be a boolean", k);
  if (present(req, "stream")) chat["stream"] = req["stream"];
  if (present(req, "previous_response_id") && !req["previous_response_id"].is_string())
    return make_error("previous_response_id must be a string");
  if (present(req, "metadata") && !req["metadata"].is_object()) return make_error("metadata must be an object");
  if (present(req, "text")) {
    const OJson& t = req["text"];
    if (!t.is_object()) return make_error("text must be an object");
    if (present(t, "format")) {
      const OJson& f = t["format"];
      if (!f.is_object() || !f.contains("type") || !f["type"].is_string()) return make_error("text.format must be an object with a type");
      const auto type = f["type"].get<std::string>();
      if (type == "json_object") {
        chat["response_format"] = OJson{{"type", "json_object"}};
      } else if (type == "json_schema") {
        if (!f.contains("schema") || !f["schema"].is_object()) return make_error("text.format.schema must be an object");
        OJson js{{"name", f.value("name", std::string("response"))}, {"schema", f["schema"]}};
        chat["response_format"] = OJson{{"type", "json_schema"}, {"json_schema", std::move(js)}};
      } else if (type != "text") {
        return make_error("text.format.type must be text, json_object or json_schema, not \"{}\"", type);
      }
    }
  }
  if (present(req, "reasoning")) {
    const OJson& r = req["reasoning"];
    if (!r.is_object()) return make_error("reasoning must be an object");
    if (present(r, "effort")) {
      if (!r["effort"].is_string()) return make_error("reasoning.effort must be a string");
      chat["reasoning"] = OJson{{"effort", r["effort"]}};
    }
  }
  for (const char* k : {"seed", "options", "grammar", "think", "deadline_ms", "fallback", "keep_alive"})
    if (present(req, k)) chat[k] = req[k];
  return {};
}

}  // namespace

Result<ResponsesChat> responses_to_chat(const OJson& req, const OJson& history) {
  if (!req.is_object()) return make_error("the request body must be a JSON object");
  if (!req.contains("model") || !req["model"].is_string() || req["model"].get<std::string>().empty())
    return make_error("model must be a non-empty string");
  if (!history.is_array()) return make_error("the stored conversation is not an array of messages");
  ResponsesChat r;
  r.conversation = history;
  InputState s{r.conversation, {}, {}};
  collect_calls(history, s.calls);
  if (!req.contains("input")) return make_error("input is required");
  const OJson& input = req["input"];
  if (input.is_string()) {
    r.conversation.push_back(OJson{{"role", "user"}, {"content", input}});
  } else if (input.is_array()) {
    for (const auto& item : input) CORRAL_TRY(translate_item(item, s));
  } else {
    return make_error("input must be a string or an array of input items");
  }
  if (r.conversation.empty()) return make_error("input must hold at least one item");
  OJson messages = OJson::array();
  if (present(req, "instructions")) {
    if (!req["instructions"].is_string()) return make_error("instructions must be a string");
    messages.push_back(OJson{{"role", "system"}, {"content", req["instructions"]}});
  }
  for (const auto& m : r.conversation) messages.push_back(m);
  r.chat["model"] = req["model"];
  r.chat["messages"] = std::move(messages);
  CORRAL_TRY(translate_tools(req, r.chat));
  CORRAL_TRY(translate_options(req, r.chat));
  return r;
}

}  // namespace corral::api
