// Choosing a model's chat template and rendering a chat request with it: the entry point the
// server and the CLI use. Both engines (Go text/template, Jinja) hide behind ChatTemplate.
//
// Selection order (as Ollama, ../shared/guide/ollama-reference.md §4.3):
//   1. the Ollama TEMPLATE layer (Go template) when the model has one;
//   2. else the GGUF `tokenizer.chat_template` (Jinja);
//   3. else the fallback `{{ .Prompt }}` (what Ollama gives an imported model without a
//      template): the user turns are concatenated as plain text, with no role markup.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "chat/chat_types.h"
#include "chat/gotmpl.h"
#include "chat/jinja.h"

namespace corral {

enum class TemplateKind { kGo, kJinja };

inline constexpr const char* kFallbackTemplate = "{{ .Prompt }}";

struct ChatTemplate {
  TemplateKind kind = TemplateKind::kGo;
  std::string name;    // for error messages, e.g. "llama3:template" or "tokenizer.chat_template"
  std::string origin;  // "ollama template layer", "gguf tokenizer.chat_template", "fallback", "file"
  std::string source;
  std::shared_ptr<const gotmpl::Template> go;
  std::shared_ptr<const jinja::Template> jinja;
};

struct TemplateSources {
  std::optional<std::string> ollama_template;     // text of the template layer
  std::optional<std::string> gguf_chat_template;  // tokenizer.chat_template
  std::string model_name;                         // for error messages
};

// Parses `source` as the given kind. Errors name the template, line and column.
Result<ChatTemplate> parse_chat_template(TemplateKind kind, std::string source, std::string name);

// Applies the selection order above; an empty string counts as absent.
Result<ChatTemplate> select_chat_template(const TemplateSources& sources);

// Guesses the engine for a template file: Jinja when it has {% %} statements or uses
// `messages`/`message[` without a leading dot, Go otherwise.
TemplateKind guess_template_kind(const std::string& source);

// The Jinja variables for `req`, following transformers' apply_chat_template conventions:
// messages (role, content, reasoning_content, tool_calls with object arguments, name and
// tool_call_id for tool results), tools, documents, add_generation_prompt, bos_token,
// eos_token, enable_thinking, reasoning_effort (the think level), then `extra`. An assistant
// message's reasoning is both `reasoning_content` and `thinking` (gpt-oss's name).
// With the template's source, tools also go where templates that do not read `tools` want them:
// `xml_tools` (SmolLM3) and, as a JSON string, the system message's `tools` key (Phi-4-mini; a
// system message is added when there is none).
nlohmann::ordered_json jinja_context(const ChatRequest& req, std::string_view template_source = {});

// Renders the prompt text for `req`. Errors name the template, line and column.
Result<std::string> render_chat(const ChatTemplate& tmpl, const ChatRequest& req);

}  // namespace corral
