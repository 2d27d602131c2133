// The chat request the template layer renders: messages, tools and options, independent of the
// wire API (api/ converts its request types into these).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace corral {

struct ChatMessage {
  std::string role;       // system, user, assistant, tool
  std::string content;
  std::string thinking;   // assistant reasoning (Ollama "thinking", HF "reasoning_content")
  std::string tool_name;  // for role=tool: the function whose result this is
  std::string tool_call_id;
  // OpenAI/Ollama shape: [{"id"?, "type"?, "function": {"name", "arguments": {...}}}]
  nlohmann::ordered_json tool_calls = nlohmann::ordered_json::array();
  std::vector<std::string> images;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  nlohmann::ordered_json tools = nlohmann::ordered_json::array();  // [{"type":"function","function":{...}}]
  bool add_generation_prompt = true;
  std::optional<bool> think;   // unset: template default
  std::string think_level;     // "low" | "medium" | "high" (Ollama .ThinkLevel)
  std::string bos_token, eos_token;
  std::string prompt, suffix;  // /api/generate style: used when messages is empty
  nlohmann::ordered_json documents;    // optional RAG documents (Jinja `documents`)
  // Extra variables for Jinja templates (chat_template_kwargs), merged last.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

}  // namespace corral
