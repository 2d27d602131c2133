// The Anthropic Messages API: /v1/messages and /v1/messages/count_tokens, translated onto the
// OpenAI chat path (server/openai_chat.h) so it shares dispatch, constraints, tool calls and
// thinking with every other chat route. x-api-key and anthropic-version are accepted and not
// checked (a local server has no keys); errors use Anthropic's error shape.
#include <httplib.h>

#include "api/anthropic.h"
#include "server/anthropic_reply.h"
#include "server/openai_chat.h"
#include "server/server.h"

namespace corral::server {

namespace {

using api::Json;
using api::OJson;

void send_anthropic_error(httplib::Response& res, const HttpError& e) {
  res.status = e.status;
  res.set_content(api::anthropic_error_body(e.message, api::anthropic_error_type(e.status)),
                  "application/json; charset=utf-8");
}

// The body as an OpenAI chat request (text and parsed), or a 400.
Expected<std::pair<std::string, Json>> translate(const std::string& body, bool count_tokens) {
  const OJson j = OJson::parse(body, nullptr, false);
  if (j.is_discarded()) return HttpError{400, "the request body is not valid JSON"};
  auto chat = api::anthropic_to_chat(j, count_tokens);
  if (!chat) return HttpError{400, chat.error().message};
  std::string text = chat->dump(-1, ' ', false, OJson::error_handler_t::replace);
  Json parsed = Json::parse(text);
  return std::make_pair(std::move(text), std::move(parsed));
}

std::string message_id() { return "msg_" + anthropic_tool_use_id().substr(6); }

}  // namespace

void register_anthropic_routes(httplib::Server& svr, ServerState& st) {
  svr.Post("/v1/messages", [&st](const httplib::Request& req, httplib::Response& res) {
    const int64_t t0 = mono_ns();
    auto chat = translate(req.body, false);
    if (!chat.ok()) return send_anthropic_error(res, chat.error);
    auto started = start_openai_chat(st, req, chat->second, chat->first, res, t0);
    if (!started.ok()) return send_anthropic_error(res, started.error);
    auto g = started->gen;
    auto tk = started->tokenizer;
    const auto stops = started->stop;
    const std::string id = message_id();
    if (started->stream) {
      auto out = std::make_shared<AnthropicStream>(id, started->model);
      auto parser = std::make_shared<ChatOutputParser>(started->plan.parse);
      auto raw = std::make_shared<std::string>();
      auto first = std::make_shared<bool>(true);
      stream_generation(res, g, "text/event-stream",
                        [out, parser, raw, first, tk, stops](const GenerateEvent& ev) {
                          std::string s;
                          if (*first) s += out->start(ev.prompt_tokens);
                          *first = false;
                          if (ev.done && ev.done_reason == "error")
                            return s + anthropic_event(OJson::parse(api::anthropic_error_body(ev.error, "api_error")));
                          *raw += ev.text;
                          auto piece = parser->push(ev.text);
                          if (ev.done) append_output(piece, parser->finish());
                          s += out->push(piece);
                          if (ev.done) {
                            const std::string stop = matched_stop(*tk, ev, *raw, stops);
                            s += out->finish(anthropic_stop_reason(ev, out->has_calls(), stop), stop, ev.eval_count);
                          }
                          return s;
                        },
                        "");
      return;
    }
    auto [all, lps, last] = collect_generation(*g, started->client_connected);
    if (last.done_reason == "error") return send_anthropic_error(res, {500, last.error});
    const auto parsed = parse_all(started->plan.parse, all);
    const std::string stop = matched_stop(*tk, last, all, stops);
    send_json(res, anthropic_message(id, started->model, anthropic_content(parsed),
                                     anthropic_stop_reason(last, !parsed.calls.empty(), stop), stop,
                                     last.prompt_tokens, last.eval_count));
  });

  svr.Post("/v1/messages/count_tokens", [&st](const httplib::Request& req, httplib::Response& res) {
    auto chat = translate(req.body, true);
    if (!chat.ok()) return send_anthropic_error(res, chat.error);
    auto n = count_openai_chat_tokens(st, chat->second);
    if (!n.ok()) return send_anthropic_error(res, n.error);
    send_json(res, OJson{{"input_tokens", *n}});
  });
}

}  // namespace corral::server
