// `corral template render`: prints exactly the prompt text a model would receive for a chat, so
// users can debug prompts. The template comes from a GGUF's tokenizer.chat_template or a file.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>

#include "base/file_util.h"
#include "chat/chat_template.h"
#include "cli/command.h"
#include "store/store.h"
#include "gguf/gguf_file.h"

namespace corral::cli {
namespace {

using json = nlohmann::ordered_json;

Result<json> read_json(const std::string& path, const char* what) {
  auto text = read_file(path);
  if (!text.ok()) return text.error();
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return make_error("{} file {} is not valid JSON", what, path);
  return j;
}

std::string str_field(const json& m, const char* a, const char* b = nullptr) {
  if (m.contains(a) && m[a].is_string()) return m[a].get<std::string>();
  if (b && m.contains(b) && m[b].is_string()) return m[b].get<std::string>();
  return "";
}

// Accepts a JSON array of messages or an object with "messages" (and optionally "tools"), in
// Ollama or OpenAI shape.
Status load_messages(const json& j, ChatRequest& req) {
  const json* list = &j;
  if (j.is_object()) {
    if (!j.contains("messages")) return make_error("messages file: expected an array or an object with \"messages\"");
    list = &j["messages"];
    if (j.contains("tools") && j["tools"].is_array()) req.tools = j["tools"];
  }
  if (!list->is_array()) return make_error("messages file: \"messages\" must be an array");
  for (const auto& m : *list) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return make_error("messages file: each message needs a string \"role\"");
    ChatMessage msg;
    msg.role = m["role"].get<std::string>();
    if (m.contains("content") && !m["content"].is_null()) {
      if (!m["content"].is_string()) return make_error("messages file: \"content\" must be a string");
      msg.content = m["content"].get<std::string>();
    }
    msg.thinking = str_field(m, "thinking", "reasoning_content");
    msg.tool_name = str_field(m, "tool_name", "name");
    msg.tool_call_id = str_field(m, "tool_call_id");
    if (m.contains("tool_calls") && m["tool_calls"].is_array()) msg.tool_calls = m["tool_calls"];
    if (m.contains("images") && m["images"].is_array())
      for (const auto& i : m["images"])
        if (i.is_string()) msg.images.push_back(i.get<std::string>());
    req.messages.push_back(std::move(msg));
  }
  return {};
}

std::string token_text(const GgufFile& f, const char* id_key) {
  auto id = f.get_int(id_key);
  const GgufArray* toks = f.get_array("tokenizer.ggml.tokens");
  if (!id || !toks || *id < 0 || static_cast<size_t>(*id) >= toks->strings.size()) return "";
  return toks->strings[static_cast<size_t>(*id)];
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "Error: %s\n", msg.c_str());
  return 1;
}

int cmd_template(int argc, char** argv) {
  CLI::App app{"Show how a chat is rendered into the prompt text", "corral template"};
  app.require_subcommand(1);
  auto* render = app.add_subcommand("render", "Print exactly the prompt text the model would receive");
  std::string model, gguf_path, template_path, messages_path, tools_path, kind, think;
  bool no_gen = false;
  auto* src = render->add_option_group("source", "Where the template comes from");
  src->add_option("--model", model, "Model name in the local store");
  src->add_option("--gguf", gguf_path, "GGUF file: uses tokenizer.chat_template and its BOS/EOS text");
  src->add_option("--template", template_path, "Template file (Go text/template or Jinja)");
  src->require_option(1);
  render->add_option("--messages", messages_path, "JSON file: an array of messages, or {\"messages\": [...], \"tools\": [...]}")
      ->required();
  render->add_option("--tools", tools_path, "JSON file: an array of tools (function schemas)");
  render->add_flag("--no-generation-prompt", no_gen, "Do not open an assistant turn at the end");
  render->add_option("--kind", kind, "Template language of --template: go or jinja (default: guessed)")
      ->check(CLI::IsMember({"go", "jinja"}));
  render->add_option("--think", think, "Set thinking on or off: true or false (default: unset)")
      ->check(CLI::IsMember({"true", "false"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  ChatRequest req;
  req.add_generation_prompt = !no_gen;
  if (!think.empty()) req.think = think == "true";
  auto messages = read_json(messages_path, "messages");
  if (!messages.ok()) return fail(messages.error().message);
  if (auto st = load_messages(*messages, req); !st.ok()) return fail(st.error().message);
  if (!tools_path.empty()) {
    auto tools = read_json(tools_path, "tools");
    if (!tools.ok()) return fail(tools.error().message);
    if (!tools->is_array()) return fail("tools file: expected a JSON array of tools");
    req.tools = *tools;
  }

  Result<ChatTemplate> tmpl = make_error("no template source");
  if (!model.empty()) {
    // The model's own template layer wins; else its GGUF's chat template (Ollama's order). The
    // model's SYSTEM is used when the chat has no system message, as Ollama does.
    auto store = Store::open_default();
    if (!store.ok()) return fail(store.error().message);
    auto resolved = store->resolve_model(model);
    if (!resolved.ok()) return fail(resolved.error().message);
    auto file = GgufFile::open(resolved->model_path);
    if (!file.ok()) return fail(file.error().message);
    req.bos_token = token_text(**file, "tokenizer.ggml.bos_token_id");
    req.eos_token = token_text(**file, "tokenizer.ggml.eos_token_id");
    TemplateSources sources;
    sources.model_name = model;
    if (resolved->has_template) sources.ollama_template = resolved->template_text;
    sources.gguf_chat_template = (*file)->get_string("tokenizer.chat_template");
    tmpl = select_chat_template(sources);
    const bool has_system_message = std::any_of(req.messages.begin(), req.messages.end(),
                                                [](const ChatMessage& m) { return m.role == "system"; });
    if (resolved->has_system && !has_system_message) {
      ChatMessage sys;
      sys.role = "system";
      sys.content = resolved->system;
      req.messages.insert(req.messages.begin(), sys);
    }
  } else if (!gguf_path.empty()) {
    auto file = GgufFile::open(gguf_path);
    if (!file.ok()) return fail(file.error().message);
    req.bos_token = token_text(**file, "tokenizer.ggml.bos_token_id");
    req.eos_token = token_text(**file, "tokenizer.ggml.eos_token_id");
    TemplateSources sources;
    sources.model_name = gguf_path;
    sources.gguf_chat_template = (*file)->get_string("tokenizer.chat_template");
    tmpl = select_chat_template(sources);
    if (tmpl.ok() && tmpl->origin == "fallback")
      std::fprintf(stderr, "warning: %s has no tokenizer.chat_template; using the fallback %s\n", gguf_path.c_str(),
                   kFallbackTemplate);
  } else {
    auto text = read_file(template_path);
    if (!text.ok()) return fail(text.error().message);
    const TemplateKind k = kind.empty() ? guess_template_kind(*text)
                           : kind == "go" ? TemplateKind::kGo : TemplateKind::kJinja;
    tmpl = parse_chat_template(k, *text, template_path);
  }
  if (!tmpl.ok()) return fail(tmpl.error().message);
  auto out = render_chat(*tmpl, req);
  if (!out.ok()) return fail(out.error().message);
  std::fwrite(out->data(), 1, out->size(), stdout);
  return 0;
}

}  // namespace

CORRAL_COMMAND("template", "Render a chat into the exact prompt text a model sees", cmd_template);

}  // namespace corral::cli
