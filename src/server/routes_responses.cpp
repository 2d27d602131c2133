// The OpenAI Responses API: POST /v1/responses (translated onto the OpenAI chat path,
// server/openai_chat.h), GET and DELETE /v1/responses/{id}. With `store` (the default) a
// response is kept in the job database with the conversation that led to it, so a later
// request continues it with previous_response_id. Errors use OpenAI's error shape.
#include <httplib.h>

#include "api/responses.h"
#include "base/log.h"
#include "jobs/job_store.h"
#include "server/openai_chat.h"
#include "server/responses_reply.h"
#include "server/server.h"

namespace corral::server {

namespace {

using api::Json;
using api::OJson;

// The record kept per stored response: the response object and the conversation as chat
// messages, ending with this response's output.
std::string record(const OJson& response, const OJson& conversation) {
  OJson conv = conversation;
  for (auto& m : responses_output_messages(response["output"])) conv.push_back(std::move(m));
  return OJson{{"response", response}, {"conversation", std::move(conv)}}.dump(-1, ' ', false, OJson::error_handler_t::replace);
}

Expected<OJson> load(jobs::JobStore* store, const std::string& id) {
  if (store == nullptr) return HttpError{404, fmt::format("response \"{}\" not found (responses are not stored: no job database)", id)};
  auto r = store->get_response(id);
  if (!r) return HttpError{500, r.error().message};
  if (!r->has_value()) return HttpError{404, fmt::format("response \"{}\" not found", id)};
  OJson j = OJson::parse(**r, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return HttpError{500, fmt::format("stored response \"{}\" is unreadable", id)};
  return j;
}

void save(jobs::JobStore* store, const OJson& response, const OJson& conversation) {
  if (store == nullptr) return;
  auto s = store->put_response(response["id"].get<std::string>(), record(response, conversation), api::unix_now_ns() / 1000000);
  if (!s.ok()) CORRAL_LOG_ERROR("responses: storing {} failed: {}", response["id"].dump(), s.error().message);
}

}  // namespace

void register_responses_routes(httplib::Server& svr, ServerState& st, std::shared_ptr<jobs::JobStore> store) {
  svr.Post("/v1/responses", [&st, store](const httplib::Request& req, httplib::Response& res) {
    const int64_t t0 = mono_ns();
    OJson body = OJson::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return send_openai_error(res, {400, "the request body is not a JSON object"});
    OJson history = OJson::array();
    if (auto p = body.find("previous_response_id"); p != body.end() && p->is_string()) {
      auto prev = load(store.get(), p->get<std::string>());
      if (!prev.ok()) return send_openai_error(res, prev.error);
      history = (*prev)["conversation"];
    }
    auto tr = api::responses_to_chat(body, history);
    if (!tr) return send_openai_error(res, {400, tr.error().message});
    const std::string text = tr->chat.dump(-1, ' ', false, OJson::error_handler_t::replace);
    auto started = start_openai_chat(st, req, Json::parse(text), text, res, t0);
    if (!started.ok()) return send_openai_error(res, started.error);
    const bool keep = body.value("store", true) && store != nullptr;
    ResponseMeta meta{responses_id("resp"), started->model, api::unix_now_ns() / 1000000000, body};
    meta.request["store"] = keep;
    jobs::JobStore* db = keep ? store.get() : nullptr;
    auto conversation = std::make_shared<OJson>(std::move(tr->conversation));
    if (started->stream) {
      auto out = std::make_shared<ResponsesStream>(meta);
      auto parser = std::make_shared<ChatOutputParser>(started->plan.parse);
      auto first = std::make_shared<bool>(true);
      stream_generation(res, started->gen, "text/event-stream",
                        [out, parser, first, meta, db, store, conversation](const GenerateEvent& ev) {
                          std::string s;
                          if (*first) s += out->start();
                          *first = false;
                          if (ev.done && ev.done_reason == "error") return s + out->error(ev.error);
                          auto piece = parser->push(ev.text);
                          if (ev.done) append_output(piece, parser->finish());
                          s += out->push(piece);
                          if (ev.done) {
                            s += out->finish(ev);
                            save(db, response_object(meta, response_status(ev), out->output(), &ev), *conversation);
                          }
                          return s;
                        },
                        "");
      return;
    }
    auto [all, lps, last] = collect_generation(*started->gen, started->client_connected);
    if (last.done_reason == "error") return send_openai_error(res, {500, last.error});
    const auto parsed = parse_all(started->plan.parse, all);
    OJson response = response_object(meta, response_status(last), responses_output(parsed), &last);
    save(db, response, *conversation);
    send_json(res, response);
  });

  svr.Get(R"(/v1/responses/([^/]+))", [store](const httplib::Request& req, httplib::Response& res) {
    auto r = load(store.get(), req.matches[1].str());
    if (!r.ok()) return send_openai_error(res, r.error);
    send_json(res, (*r)["response"]);
  });

  svr.Delete(R"(/v1/responses/([^/]+))", [store](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1].str();
    if (store == nullptr) return send_openai_error(res, {404, fmt::format("response \"{}\" not found", id)});
    auto d = store->delete_response(id);
    if (!d) return send_openai_error(res, {500, d.error().message});
    if (!*d) return send_openai_error(res, {404, fmt::format("response \"{}\" not found", id)});
    send_json(res, OJson{{"id", id}, {"object", "response.deleted"}, {"deleted", true}});
  });
}

}  // namespace corral::server
