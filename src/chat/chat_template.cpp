// Template selection, the Jinja context for a chat request, and render_chat.
#include "chat/chat_template.h"

#include "chat/jinja_value.h"
#include "chat/ollama_template.h"

namespace corral {

Result<ChatTemplate> parse_chat_template(TemplateKind kind, std::string source, std::string name) {
  ChatTemplate t;
  t.kind = kind;
  t.name = name;
  if (kind == TemplateKind::kGo) {
    auto g = parse_ollama_template(source, name);
    if (!g.ok()) return g.error();
    t.go = std::make_shared<const gotmpl::Template>(std::move(*g));
  } else {
    auto j = jinja::Template::parse(source, name);
    if (!j.ok()) return j.error();
    t.jinja = std::make_shared<const jinja::Template>(std::move(*j));
  }
  t.source = std::move(source);
  return t;
}

Result<ChatTemplate> select_chat_template(const TemplateSources& s) {
  const std::string prefix = s.model_name.empty() ? "" : s.model_name + ":";
  if (s.ollama_template && !s.ollama_template->empty()) {
    auto t = parse_chat_template(TemplateKind::kGo, *s.ollama_template, prefix + "template");
    if (!t.ok()) return t.error();
    t->origin = "ollama template layer";
    return t;
  }
  if (s.gguf_chat_template && !s.gguf_chat_template->empty()) {
    auto t = parse_chat_template(TemplateKind::kJinja, *s.gguf_chat_template, prefix + "tokenizer.chat_template");
    if (!t.ok()) return t.error();
    t->origin = "gguf tokenizer.chat_template";
    return t;
  }
  auto t = parse_chat_template(TemplateKind::kGo, kFallbackTemplate, prefix + "fallback");
  if (!t.ok()) return t.error();
  t->origin = "fallback";
  return t;
}

TemplateKind guess_template_kind(const std::string& src) {
  if (src.find("{%") != std::string::npos || src.find("{#") != std::string::npos) return TemplateKind::kJinja;
  if (src.find("{{ .") != std::string::npos || src.find("{{- .") != std::string::npos ||
      src.find("{{.") != std::string::npos || src.find("{{-.") != std::string::npos)
    return TemplateKind::kGo;
  if (src.find("messages") != std::string::npos || src.find("message[") != std::string::npos ||
      src.find("message.") != std::string::npos)
    return TemplateKind::kJinja;
  return TemplateKind::kGo;
}

namespace {

// The tools' function objects ({"name", "description", "parameters"}), as the model cards of
// Phi-4-mini and SmolLM3 pass them.
nlohmann::ordered_json tool_functions(const nlohmann::ordered_json& tools) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& t : tools) out.push_back(t.is_object() && t.contains("function") ? t["function"] : t);
  return out;
}

// Templates that take the tool list under another name than transformers' `tools`.
void adapt_tools(nlohmann::ordered_json& ctx, std::string_view source) {
  if (!ctx.contains("tools") || source.empty()) return;
  const nlohmann::ordered_json& tools = ctx["tools"];
  // SmolLM3: `xml_tools` (printed one per line between <tools> tags).
  if (source.find("xml_tools") != std::string_view::npos && !ctx.contains("xml_tools"))
    ctx["xml_tools"] = tool_functions(tools);
  // Phi-4-mini: a JSON string in the system message's `tools` key, printed between <|tool|> and
  // <|/tool|>; without a system message, one is added with the line Ollama's template uses.
  if (source.find("message['tools']") != std::string_view::npos ||
      source.find("message.tools") != std::string_view::npos) {
    auto& msgs = ctx["messages"];
    if (msgs.empty() || msgs[0].value("role", std::string()) != "system") {
      nlohmann::ordered_json sys = nlohmann::ordered_json::object();
      sys["role"] = "system";
      sys["content"] = "You may call one or more functions to assist with the user query.";
      msgs.insert(msgs.begin(), std::move(sys));
    }
    if (!msgs[0].contains("tools")) {
      jinja::JsonOptions opts;  // Python json.dumps, as the model card's example
      opts.item_sep = ", ";
      opts.key_sep = ": ";
      auto text = jinja::to_json(jinja::Value::from_json(tool_functions(tools)), opts);
      if (text.ok()) msgs[0]["tools"] = *text;
    }
  }
}

}  // namespace

nlohmann::ordered_json jinja_context(const ChatRequest& req, std::string_view template_source) {
  using json = nlohmann::ordered_json;
  json msgs = json::array();
  std::vector<ChatMessage> messages = req.messages;
  if (messages.empty() && !req.prompt.empty()) {
    ChatMessage m;
    m.role = "user";
    m.content = req.prompt;
    messages.push_back(std::move(m));
  }
  for (const auto& m : messages) {
    json j = json::object();
    j["role"] = m.role;
    j["content"] = m.content;
    if (!m.thinking.empty()) {
      j["reasoning_content"] = m.thinking;  // transformers' name (Qwen3, DeepSeek-R1)
      j["thinking"] = m.thinking;           // the gpt-oss template's name
    }
    if (m.tool_calls.is_array() && !m.tool_calls.empty()) {
      json calls = json::array();
      for (const auto& c : m.tool_calls) {
        json call = json::object();
        if (c.contains("id")) call["id"] = c["id"];
        call["type"] = c.value("type", std::string("function"));
        json fn = json::object();
        const json& f = c.contains("function") ? c["function"] : c;
        fn["name"] = f.value("name", std::string());
        json args = f.contains("arguments") ? f["arguments"] : json::object();
        if (args.is_string()) {
          auto parsed = json::parse(args.get<std::string>(), nullptr, false);
          if (!parsed.is_discarded()) args = parsed;
        }
        fn["arguments"] = args;
        call["function"] = fn;
        calls.push_back(call);
      }
      j["tool_calls"] = calls;
    }
    if (m.role == "tool") {
      if (!m.tool_name.empty()) j["name"] = m.tool_name;
      if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
    }
    msgs.push_back(std::move(j));
  }
  json ctx = json::object();
  ctx["messages"] = std::move(msgs);
  if (req.tools.is_array() && !req.tools.empty()) ctx["tools"] = req.tools;
  if (!req.documents.is_null()) ctx["documents"] = req.documents;
  ctx["add_generation_prompt"] = req.add_generation_prompt;
  ctx["bos_token"] = req.bos_token;
  ctx["eos_token"] = req.eos_token;
  if (req.think.has_value()) ctx["enable_thinking"] = *req.think;
  // gpt-oss's template: "Reasoning: <effort>" in its system message (its default is medium).
  if (!req.think_level.empty()) ctx["reasoning_effort"] = req.think_level;
  if (req.extra.is_object())
    for (auto it = req.extra.begin(); it != req.extra.end(); ++it) ctx[it.key()] = it.value();
  adapt_tools(ctx, template_source);
  return ctx;
}

Result<std::string> render_chat(const ChatTemplate& tmpl, const ChatRequest& req) {
  if (tmpl.kind == TemplateKind::kGo) {
    if (!tmpl.go) return make_error("chat template {} is not parsed", tmpl.name);
    return render_ollama_template(*tmpl.go, req);
  }
  if (!tmpl.jinja) return make_error("chat template {} is not parsed", tmpl.name);
  return tmpl.jinja->render(jinja_context(req, tmpl.source));
}

}  // namespace corral
