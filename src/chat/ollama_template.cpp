// Ollama's template values and Execute(): collation, .Messages mode, legacy folding and the cut
// after .Response.
#include "chat/ollama_template.h"

#include <algorithm>

namespace corral {

using gotmpl::GoField;
using gotmpl::GoValue;
using gotmpl::make_struct;

namespace {

GoValue str(const nlohmann::ordered_json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_string()) return GoValue::string(j[key].get<std::string>());
  return GoValue::string("");
}

GoValue any(const nlohmann::ordered_json& j, const char* key) {
  if (j.is_object() && j.contains(key)) return gotmpl::from_json_any(j[key]);
  return GoValue::nil();
}

// Ollama's PropertyType: a string or a list of strings; one element prints and marshals as a
// plain string.
GoValue property_type(const nlohmann::ordered_json& j) {
  if (!j.is_object() || !j.contains("type")) return GoValue::nil();
  const auto& t = j["type"];
  if (t.is_string()) return GoValue::string(t.get<std::string>());
  if (t.is_array()) {
    if (t.size() == 1 && t[0].is_string()) return GoValue::string(t[0].get<std::string>());
    return gotmpl::from_json_any(t);
  }
  return GoValue::nil();
}

GoValue tool_property(const nlohmann::ordered_json& j);

GoValue property_map(const nlohmann::ordered_json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_object()) return GoValue::nil();
  std::map<std::string, GoValue> out;
  for (auto it = j[key].begin(); it != j[key].end(); ++it) out[it.key()] = tool_property(it.value());
  return GoValue::make_map(std::move(out));
}

GoValue tool_property(const nlohmann::ordered_json& j) {
  std::vector<GoValue> any_of;
  if (j.is_object() && j.contains("anyOf") && j["anyOf"].is_array())
    for (const auto& e : j["anyOf"]) any_of.push_back(tool_property(e));
  return make_struct({
      {"AnyOf", "anyOf", true, any_of.empty() ? GoValue::nil() : GoValue::make_list(std::move(any_of))},
      {"Type", "type", true, property_type(j)},
      {"Items", "items", true, any(j, "items")},
      {"Description", "description", true, str(j, "description")},
      {"Enum", "enum", true, any(j, "enum")},
      {"Properties", "properties", true, property_map(j, "properties")},
  });
}

GoValue string_list(const nlohmann::ordered_json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return GoValue::nil();
  std::vector<GoValue> out;
  for (const auto& e : j[key]) out.push_back(e.is_string() ? GoValue::string(e.get<std::string>()) : gotmpl::from_json_any(e));
  return GoValue::make_list(std::move(out));
}

GoValue tool_value(const nlohmann::ordered_json& t) {
  const nlohmann::ordered_json empty = nlohmann::ordered_json::object();
  const nlohmann::ordered_json& f = t.is_object() && t.contains("function") ? t["function"] : empty;
  const nlohmann::ordered_json& p = f.is_object() && f.contains("parameters") ? f["parameters"] : empty;
  GoValue props = property_map(p, "properties");
  if (props.is_nil()) props = GoValue::make_map();
  GoValue params = make_struct({
      {"Type", "type", false, str(p, "type")},
      {"Defs", "$defs", true, any(p, "$defs")},
      {"Items", "items", true, any(p, "items")},
      {"Required", "required", true, string_list(p, "required")},
      {"Properties", "properties", false, props},
  });
  GoValue function = make_struct({
      {"Name", "name", false, str(f, "name")},
      {"Description", "description", true, str(f, "description")},
      {"Parameters", "parameters", false, params},
  }, /*prints_as_json=*/true);
  return make_struct({
      {"Type", "type", false, str(t, "type")},
      {"Items", "items", true, any(t, "items")},
      {"Function", "function", false, function},
  }, /*prints_as_json=*/true);
}

GoValue tool_call_value(const nlohmann::ordered_json& c, size_t index) {
  const nlohmann::ordered_json empty = nlohmann::ordered_json::object();
  const nlohmann::ordered_json& f = c.is_object() && c.contains("function") ? c["function"] : empty;
  nlohmann::ordered_json args = f.is_object() && f.contains("arguments") ? f["arguments"] : empty;
  if (args.is_string()) {
    auto parsed = nlohmann::ordered_json::parse(args.get<std::string>(), nullptr, false);
    if (!parsed.is_discarded()) args = parsed;
  }
  GoValue argv = gotmpl::from_json_any(args);
  if (argv.kind != GoValue::Kind::kMap) argv = GoValue::make_map();
  argv.prints_as_json = true;
  int64_t idx = static_cast<int64_t>(index);
  if (f.is_object() && f.contains("index") && f["index"].is_number_integer()) idx = f["index"].get<int64_t>();
  GoValue function = make_struct({
      {"Index", "index", true, GoValue::integer(idx)},
      {"Name", "name", false, str(f, "name")},
      {"Arguments", "arguments", false, argv},
  });
  return make_struct({
      {"ID", "id", true, str(c, "id")},
      {"Function", "function", false, function},
  });
}

GoValue base_map(const ChatRequest& req) {
  std::map<std::string, GoValue> m;
  m["Think"] = GoValue::boolean(req.think.value_or(false));
  m["ThinkLevel"] = GoValue::string(req.think_level);
  m["IsThinkSet"] = GoValue::boolean(req.think.has_value());
  return GoValue::make_map(std::move(m));
}

}  // namespace

GoValue ollama_message_value(const ChatMessage& m) {
  std::vector<GoValue> calls;
  if (m.tool_calls.is_array())
    for (size_t k = 0; k < m.tool_calls.size(); ++k) calls.push_back(tool_call_value(m.tool_calls[k], k));
  std::vector<GoValue> images;
  for (const auto& i : m.images) images.push_back(GoValue::string(i));
  return make_struct({
      {"Role", "role", false, GoValue::string(m.role)},
      {"Content", "content", false, GoValue::string(m.content)},
      {"Thinking", "thinking", true, GoValue::string(m.thinking)},
      {"Images", "images", true, images.empty() ? GoValue::nil() : GoValue::make_list(std::move(images))},
      {"ToolCalls", "tool_calls", true, calls.empty() ? GoValue::nil() : GoValue::make_list(std::move(calls))},
      {"ToolName", "tool_name", true, GoValue::string(m.tool_name)},
      {"ToolCallID", "tool_call_id", true, GoValue::string(m.tool_call_id)},
  });
}

GoValue ollama_tools_value(const nlohmann::ordered_json& tools) {
  if (!tools.is_array() || tools.empty()) return GoValue::nil();
  std::vector<GoValue> out;
  for (const auto& t : tools) out.push_back(tool_value(t));
  return GoValue::make_list(std::move(out));
}

Result<gotmpl::Template> parse_ollama_template(std::string_view source, std::string name,
                                               const gotmpl::Limits& limits) {
  auto t = gotmpl::Template::parse(source, std::move(name), limits);
  if (!t.ok()) return t.error();
  if (!t->uses("messages") && !t->uses("response")) return t->with_response_appended();
  return t;
}

Result<std::string> render_ollama_template(const gotmpl::Template& tmpl, const ChatRequest& req) {
  std::vector<ChatMessage> msgs = req.messages;
  if (msgs.empty() && !req.prompt.empty()) msgs.push_back({"user", req.prompt, "", "", "", nlohmann::ordered_json::array(), {}});

  // collate: system messages joined; consecutive messages of one role merged (tool results kept)
  std::string system;
  bool have_system = false;
  std::vector<ChatMessage> collated;
  for (const auto& m : msgs) {
    if (m.role == "system") {
      if (have_system) system += "\n\n";
      system += m.content;
      have_system = true;
    }
    if (!collated.empty() && collated.back().role == m.role && m.role != "tool") {
      collated.back().content += "\n\n" + m.content;
    } else {
      collated.push_back(m);
    }
  }

  GoValue data = base_map(req);
  auto& dm = *data.map;
  if (!req.prompt.empty() && !req.suffix.empty()) {
    dm["Prompt"] = GoValue::string(req.prompt);
    dm["Suffix"] = GoValue::string(req.suffix);
    dm["Response"] = GoValue::string("");
    return tmpl.execute(data);
  }
  if (tmpl.uses("messages")) {
    std::vector<GoValue> mv;
    for (const auto& m : collated) mv.push_back(ollama_message_value(m));
    dm["System"] = GoValue::string(system);
    dm["Messages"] = GoValue::make_list(std::move(mv));
    dm["Tools"] = ollama_tools_value(req.tools);
    dm["Response"] = GoValue::string("");
    return tmpl.execute(data);
  }

  // Legacy: one execution per (system, prompt, response) turn, then the last turn with
  // everything after .Response removed.
  std::string out;
  std::string sys, prompt, response;
  auto execute = [&](const gotmpl::Template& t) -> Status {
    GoValue d = base_map(req);
    (*d.map)["System"] = GoValue::string(sys);
    (*d.map)["Prompt"] = GoValue::string(prompt);
    (*d.map)["Response"] = GoValue::string(response);
    auto r = t.execute(d);
    if (!r.ok()) return r.error();
    out += *r;
    sys.clear();
    prompt.clear();
    response.clear();
    return {};
  };
  for (const auto& m : collated) {
    if (m.role == "system") {
      if (!prompt.empty() || !response.empty()) CORRAL_TRY(execute(tmpl));
      sys = m.content;
    } else if (m.role == "user") {
      if (!response.empty()) CORRAL_TRY(execute(tmpl));
      prompt = m.content;
    } else if (m.role == "assistant") {
      response = m.content;
    }
  }
  CORRAL_TRY(execute(tmpl.cut_after_response()));
  return out;
}

}  // namespace corral
