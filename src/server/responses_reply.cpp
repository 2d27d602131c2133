// Responses output items, response objects and stream events from parsed generation output.
#include "server/responses_reply.h"

#include <random>

namespace corral::server {

using api::OJson;

std::string responses_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id = std::string(prefix) + "_";
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % 36];
  return id;
}

namespace {

OJson reasoning_item(const std::string& id, const std::string& text) {
  OJson content = OJson::array();
  if (!text.empty()) content.push_back(OJson{{"type", "reasoning_text"}, {"text", text}});
  return OJson{{"type", "reasoning"}, {"id", id}, {"summary", OJson::array()}, {"content", std::move(content)}};
}

OJson text_part(const std::string& text) {
  return OJson{{"type", "output_text"}, {"text", text}, {"annotations", OJson::array()}, {"logprobs", OJson::array()}};
}

OJson message_item(const std::string& id, const std::string& status, OJson content) {
  return OJson{{"type", "message"}, {"id", id}, {"status", status}, {"role", "assistant"}, {"content", std::move(content)}};
}

OJson call_item(const ToolCall& c, const std::string& status) {
  return OJson{{"type", "function_call"}, {"id", responses_id("fc")}, {"call_id", responses_id("call")},
               {"name", c.name}, {"arguments", status == "completed" ? c.arguments.dump(-1, ' ', false, OJson::error_handler_t::replace) : ""},
               {"status", status}};
}

}  // namespace

OJson responses_output(const ChatOutputParser::Out& out) {
  OJson items = OJson::array();
  if (!out.thinking.empty()) items.push_back(reasoning_item(responses_id("rs"), out.thinking));
  if (!out.content.empty() || out.calls.empty())
    items.push_back(message_item(responses_id("msg"), "completed", OJson::array({text_part(out.content)})));
  for (const auto& c : out.calls) items.push_back(call_item(c, "completed"));
  return items;
}

std::string response_status(const GenerateEvent& last) {
  return last.done_reason == "length" || last.done_reason == "deadline" || last.done_reason == "shutdown" ? "incomplete" : "completed";
}

OJson response_object(const ResponseMeta& meta, const std::string& status, OJson output, const GenerateEvent* last) {
  const OJson& q = meta.request;
  auto echo = [&q](const char* k, OJson fallback) { return q.contains(k) && !q[k].is_null() ? q[k] : fallback; };
  OJson r;
  r["id"] = meta.id;
  r["object"] = "response";
  r["created_at"] = meta.created_at;
  r["status"] = status;
  r["error"] = nullptr;
  r["incomplete_details"] = nullptr;
  if (status == "incomplete" && last != nullptr)
    r["incomplete_details"] = OJson{{"reason", last->done_reason == "length" ? "max_output_tokens" : last->done_reason}};
  r["instructions"] = echo("instructions", nullptr);
  r["max_output_tokens"] = echo("max_output_tokens", nullptr);
  r["model"] = meta.model;
  r["output"] = std::move(output);
  r["parallel_tool_calls"] = echo("parallel_tool_calls", true);
  r["previous_response_id"] = echo("previous_response_id", nullptr);
  r["reasoning"] = echo("reasoning", OJson{{"effort", nullptr}, {"summary", nullptr}});
  r["store"] = echo("store", true);
  r["temperature"] = echo("temperature", 1.0);
  r["text"] = echo("text", OJson{{"format", OJson{{"type", "text"}}}});
  r["tool_choice"] = echo("tool_choice", "auto");
  r["tools"] = echo("tools", OJson::array());
  r["top_p"] = echo("top_p", 1.0);
  r["truncation"] = "disabled";
  r["usage"] = nullptr;
  if (last != nullptr) {
    int64_t reasoning_tokens = 0;
    r["usage"] = OJson{{"input_tokens", last->prompt_tokens},
                       {"input_tokens_details", OJson{{"cached_tokens", last->prompt_tokens - last->prompt_eval_count}}},
                       {"output_tokens", last->eval_count},
                       {"output_tokens_details", OJson{{"reasoning_tokens", reasoning_tokens}}},
                       {"total_tokens", last->prompt_tokens + last->eval_count}};
  }
  r["metadata"] = echo("metadata", OJson::object());
  return r;
}

OJson responses_output_messages(const OJson& output) {
  OJson a{{"role", "assistant"}, {"content", ""}};
  std::string content, thinking;
  OJson calls = OJson::array();
  for (const auto& item : output) {
    const auto type = item.value("type", std::string());
    if (type == "reasoning") {
      for (const auto& p : item.value("content", OJson::array())) thinking += p.value("text", std::string());
    } else if (type == "message") {
      for (const auto& p : item.value("content", OJson::array())) content += p.value("text", std::string());
    } else if (type == "function_call") {
      auto args = OJson::parse(item.value("arguments", std::string("{}")), nullptr, false);
      calls.push_back(OJson{{"id", item["call_id"]}, {"type", "function"},
                            {"function", OJson{{"name", item["name"]}, {"arguments", args.is_discarded() ? OJson::object() : args}}}});
    }
  }
  a["content"] = content;
  if (!thinking.empty()) a["reasoning_content"] = thinking;
  if (!calls.empty()) a["tool_calls"] = std::move(calls);
  return OJson::array({std::move(a)});
}

std::string ResponsesStream::event(const char* type, OJson data) {
  OJson e{{"type", type}, {"sequence_number", seq_++}};
  for (auto& [k, v] : data.items()) e[k] = v;
  return std::string("event: ") + type + "\ndata: " + e.dump(-1, ' ', false, OJson::error_handler_t::replace) + "\n\n";
}

std::string ResponsesStream::start() {
  std::string out = event("response.created", OJson{{"response", response_object(meta_, "in_progress", OJson::array(), nullptr)}});
  out += event("response.in_progress", OJson{{"response", response_object(meta_, "in_progress", OJson::array(), nullptr)}});
  return out;
}

std::string ResponsesStream::open(const char* kind) {
  std::string out = close();
  open_kind_ = kind;
  text_.clear();
  const auto index = output_.size();
  if (open_kind_ == "reasoning") {
    item_ = reasoning_item(responses_id("rs"), "");
    out += event("response.output_item.added", OJson{{"output_index", index}, {"item", item_}});
    out += event("response.content_part.added", OJson{{"item_id", item_["id"]}, {"output_index", index}, {"content_index", 0},
                                                      {"part", OJson{{"type", "reasoning_text"}, {"text", ""}}}});
  } else {
    item_ = message_item(responses_id("msg"), "in_progress", OJson::array());
    out += event("response.output_item.added", OJson{{"output_index", index}, {"item", item_}});
    out += event("response.content_part.added", OJson{{"item_id", item_["id"]}, {"output_index", index}, {"content_index", 0},
                                                      {"part", text_part("")}});
  }
  return out;
}

std::string ResponsesStream::close() {
  if (open_kind_.empty()) return "";
  std::string out;
  const auto index = output_.size();
  OJson ids{{"item_id", item_["id"]}, {"output_index", index}, {"content_index", 0}};
  if (open_kind_ == "reasoning") {
    OJson d = ids;
    d["text"] = text_;
    out += event("response.reasoning_text.done", std::move(d));
    OJson p = ids;
    p["part"] = OJson{{"type", "reasoning_text"}, {"text", text_}};
    out += event("response.content_part.done", std::move(p));
    item_ = reasoning_item(item_["id"], text_);
  } else {
    OJson d = ids;
    d["text"] = text_;
    d["logprobs"] = OJson::array();
    out += event("response.output_text.done", std::move(d));
    OJson p = ids;
    p["part"] = text_part(text_);
    out += event("response.content_part.done", std::move(p));
    item_ = message_item(item_["id"], "completed", OJson::array({text_part(text_)}));
  }
  out += event("response.output_item.done", OJson{{"output_index", index}, {"item", item_}});
  output_.push_back(item_);
  open_kind_.clear();
  item_ = nullptr;
  return out;
}

std::string ResponsesStream::push(const ChatOutputParser::Out& piece) {
  std::string out;
  auto delta = [&](const char* type, const std::string& text) {
    text_ += text;
    out += event(type, OJson{{"item_id", item_["id"]}, {"output_index", output_.size()}, {"content_index", 0}, {"delta", text}});
  };
  if (!piece.thinking.empty()) {
    if (open_kind_ != "reasoning") out += open("reasoning");
    delta("response.reasoning_text.delta", piece.thinking);
  }
  if (!piece.content.empty()) {
    if (open_kind_ != "message") out += open("message");
    delta("response.output_text.delta", piece.content);
  }
  for (const auto& c : piece.calls) {
    out += close();
    const auto index = output_.size();
    OJson item = call_item(c, "in_progress");
    out += event("response.output_item.added", OJson{{"output_index", index}, {"item", item}});
    const std::string args = c.arguments.dump(-1, ' ', false, OJson::error_handler_t::replace);
    out += event("response.function_call_arguments.delta", OJson{{"item_id", item["id"]}, {"output_index", index}, {"delta", args}});
    out += event("response.function_call_arguments.done", OJson{{"item_id", item["id"]}, {"output_index", index}, {"arguments", args}});
    item["arguments"] = args;
    item["status"] = "completed";
    out += event("response.output_item.done", OJson{{"output_index", index}, {"item", item}});
    output_.push_back(std::move(item));
  }
  return out;
}

std::string ResponsesStream::finish(const GenerateEvent& last) {
  std::string out;
  if (output_.empty() && open_kind_.empty()) out += open("message");  // an empty reply is one empty message
  out += close();
  const std::string status = response_status(last);
  out += event(status == "completed" ? "response.completed" : "response.incomplete",
               OJson{{"response", response_object(meta_, status, output_, &last)}});
  return out;
}

std::string ResponsesStream::error(const std::string& message) {
  OJson r = response_object(meta_, "failed", output_, nullptr);
  r["error"] = OJson{{"code", "server_error"}, {"message", message}};
  return event("response.failed", OJson{{"response", std::move(r)}});
}

}  // namespace corral::server
