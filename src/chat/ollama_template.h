// Ollama's use of Go templates: the values it exposes (.Messages, .Tools, .System, ...), the
// appended {{ .Response }}, message collation and the legacy per-turn folding for templates that
// only use .System/.Prompt/.Response (ollama/ollama template/template.go, Execute).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "chat/chat_types.h"
#include "chat/gotmpl.h"

namespace corral {

// Parses a TEMPLATE layer as Ollama does: a template using neither .Messages nor .Response gets
// {{ .Response }} appended.
Result<gotmpl::Template> parse_ollama_template(std::string_view source, std::string name = "",
                                               const gotmpl::Limits& limits = {});

// Renders `req` the way Ollama's template.Execute does.
Result<std::string> render_ollama_template(const gotmpl::Template& tmpl, const ChatRequest& req);

// The Go value of one message (api.Message) and of the tool list (api.Tools).
gotmpl::GoValue ollama_message_value(const ChatMessage& m);
gotmpl::GoValue ollama_tools_value(const nlohmann::ordered_json& tools);

}  // namespace corral
