// Ollama's inference routes: /api/generate, /api/chat, /api/embed, /api/embeddings, with NDJSON
// streams shaped exactly like Ollama's (metrics on the final line, zero metrics omitted).
#include <httplib.h>

#include <functional>

#include "base/log.h"
#include "engine/grammar_constraint.h"
#include "server/chat_output.h"
#include "server/dispatch.h"
#include "server/generation.h"
#include "server/server.h"

namespace corral::server {

namespace {

using api::OJson;

// Ollama's final-chunk metrics; fields that are zero are left out.
void add_metrics(OJson& j, const GenerateEvent& ev, int64_t start_ns, int64_t load_ns) {
  auto put = [&](const char* k, int64_t v) {
    if (v != 0) j[k] = v;
  };
  put("total_duration", mono_ns() - start_ns);
  put("load_duration", load_ns);
  put("prompt_eval_count", ev.prompt_tokens);
  put("prompt_eval_duration", ev.prompt_eval_ns);
  put("eval_count", ev.eval_count);
  put("eval_duration", ev.eval_ns);
}

std::string done_reason(const GenerateEvent& ev) {
  if (ev.done_reason == "length" || ev.done_reason == "deadline" || ev.done_reason == "shutdown") return ev.done_reason;
  return "stop";
}


// Resolves the model and merges options; an HttpError when the model is unknown.
Expected<ModelRef> resolve_with_opts(ServerState& st, const std::string& model, const api::Options& req_opts,
                                     api::Options* merged) {
  auto ref = st.host.resolve(model);
  if (!ref.ok()) return ref.error;
  *merged = ref->params;
  merged->merge(req_opts);
  return std::move(*ref.value);
}

// The reply to an empty prompt / empty messages: load (done_reason "load") or, with keep_alive
// 0, unload (done_reason "unload").
bool handle_load_only(ServerState& st, const ModelRef& ref, const api::Options& opts,
                      const std::optional<std::string>& keep_alive, bool chat, httplib::Response& res) {
  auto ka = ModelHost::keep_alive(keep_alive);
  if (!ka.ok()) {
    send_error(res, ka.error);
    return true;
  }
  OJson j;
  j["model"] = ref.name;
  j["created_at"] = api::rfc3339_nano(api::unix_now_ns());
  std::string reason = "load";
  if (ka->has_value() && ka->value().count() == 0) {
    st.host.scheduler().unload(ref.name);
    reason = "unload";
  } else {
    auto lease = st.host.acquire(ref, opts, keep_alive);
    if (!lease.ok()) {
      send_error(res, lease.error);
      return true;
    }
  }
  if (chat) {
    j["message"] = OJson{{"role", "assistant"}, {"content", ""}};
  } else {
    j["response"] = "";
  }
  j["done"] = true;
  j["done_reason"] = reason;
  send_json(res, j);
  return true;
}

// Sends a generation as Ollama does: NDJSON lines as it goes (`stream`), or one object at its
// end. `make` turns an event and the parsed output behind it (content, thinking, tool calls)
// into the line or object.
using ReplyFn = std::function<OJson(const GenerateEvent&, const ChatOutputParser::Out&)>;
void send_reply(const std::function<bool()>& connected, httplib::Response& res, const std::shared_ptr<Generation>& g,
                const ChatOutputOptions& parse, bool stream, const ReplyFn& make) {
  if (stream) {
    auto parser = std::make_shared<ChatOutputParser>(parse);
    stream_generation(res, g, "application/x-ndjson",
                      [make, parser](const GenerateEvent& ev) {
                        auto out = parser->push(ev.text);
                        if (ev.done) append_output(out, parser->finish());
                        if (!ev.done && out.empty() && ev.logprobs.empty()) return std::string();
                        return json_line(make(ev, out));
                      },
                      "");
    return;
  }
  auto [all, lps, last] = collect_generation(*g, connected);
  if (last.done_reason == "error") return send_error(res, {500, last.error});
  last.logprobs = std::move(lps);
  send_json(res, make(last, parse_all(parse, all)));
}

}  // namespace

void stream_generation(httplib::Response& res, std::shared_ptr<Generation> gen, const std::string& content_type,
                       std::function<std::string(const GenerateEvent&)> chunk, std::string trailer) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      content_type,
      [gen, chunk = std::move(chunk), trailer = std::move(trailer)](size_t, httplib::DataSink& sink) {
        GenerateEvent ev;
        if (!gen->next(&ev)) {
          sink.done();
          return true;
        }
        std::string out = chunk(ev);
        if (ev.done) out += trailer;
        if (!out.empty() && !sink.write(out.data(), out.size())) {
          gen->cancel();
          return false;
        }
        if (ev.done) sink.done();
        return true;
      },
      [gen](bool success) {
        if (!success) gen->cancel();
      });
}

void register_ollama_routes(httplib::Server& svr, ServerState& st) {
  svr.Post("/api/generate", [&st](const httplib::Request& req, httplib::Response& res) {
    const int64_t t0 = mono_ns();
    auto body = api::parse_json_body(req.body);
    if (!body) return send_error(res, {400, body.error().message});
    auto gr = api::parse_generate_request(*body);
    if (!gr) return send_error(res, {400, gr.error().message});
    if (gr->has_images) return send_error(res, {400, fmt::format("\"{}\" does not support images", gr->model)});
    api::Options opts;
    auto ref = resolve_with_opts(st, gr->model, gr->options, &opts);
    if (!ref.ok()) return send_error(res, ref.error);
    if (gr->prompt.empty() && gr->context.empty() && gr->suffix.empty())
      return (void)handle_load_only(st, *ref, opts, gr->keep_alive, false, res);
    auto policy = request_policy(*body, req.get_header_value(kDeadlineHeader), false,
                                 st.host.resilience().default_deadline_ms);
    if (!policy.ok()) return send_error(res, policy.error);
    OutputPlan plan;
    // The engine request for whichever model answers (primary or a fallback).
    auto build = [&](const ModelRef& mref, const api::Options& mopts, Scheduler::Lease& lease) -> Expected<GenerateRequest> {
      ModelExtras& ex = ModelHost::extras(lease);
      if (auto no = ModelHost::check_completion(ex, gr->model, "generate")) return *no;
      std::string text = gr->prompt;
      if (!gr->raw) {
        PromptInput in;
        in.prompt = gr->prompt;
        in.suffix = gr->suffix;
        in.system = gr->system;
        in.template_override = gr->template_text;
        in.think = gr->think;
        auto rendered = render_prompt(mref, ex, in);
        if (!rendered.ok()) return rendered.error;
        text = std::move(*rendered);
      }
      GenerateRequest er = engine_request(mopts);
      // format / grammar, deferred past a thinking part; how the output splits into thinking
      auto p = plan_output(mref, ex, template_text_for(mref, ex, gr->template_text), text, gr->think, ToolRequest{},
                           req.body, gr->raw, &er);
      if (!p.ok()) return p.error;
      plan = std::move(*p);
      er.logprobs = gr->logprobs || gr->top_logprobs > 0;
      er.top_logprobs = gr->top_logprobs;
      er.truncate = gr->truncate;
      er.shift = gr->shift;
      if (!gr->context.empty()) {
        er.prompt_tokens = gr->context;
        auto more = ex.tokenizer->encode(text, false, true);
        er.prompt_tokens.insert(er.prompt_tokens.end(), more.begin(), more.end());
      } else {
        er.prompt = text;
      }
      return er;
    };
    auto started = dispatch(st, DispatchInput{std::move(*ref.value), gr->options, gr->keep_alive, *policy, t0, client_connected(req), model_filter(st, req)}, build, res);
    if (!started.ok()) return send_error(res, started.error);
    auto g = started->gen;
    auto tk = started->tokenizer;
    const bool raw = gr->raw;
    const bool want_lp = gr->logprobs;
    auto make = [g, name = started->ref.name, raw, want_lp, tk](const GenerateEvent& ev, const ChatOutputParser::Out& out) {
      OJson j;
      j["model"] = name;
      j["created_at"] = api::rfc3339_nano(api::unix_now_ns());
      if (ev.done && ev.done_reason == "error") return OJson{{"error", ev.error}};
      j["response"] = out.content;
      if (!out.thinking.empty()) j["thinking"] = out.thinking;
      j["done"] = ev.done;
      if (ev.done) {
        j["done_reason"] = done_reason(ev);
        if (!raw) j["context"] = ev.context;
        add_metrics(j, ev, g->start_ns(), g->load_ns());
      }
      if (want_lp && !ev.logprobs.empty()) j["logprobs"] = logprobs_json(*tk, ev.logprobs);
      return j;
    };
    send_reply(started->client_connected, res, g, plan.parse, gr->stream, make);
  });

  svr.Post("/api/chat", [&st](const httplib::Request& req, httplib::Response& res) {
    const int64_t t0 = mono_ns();
    auto body = api::parse_json_body(req.body);
    if (!body) return send_error(res, {400, body.error().message});
    auto cr = api::parse_chat_request(*body);
    if (!cr) return send_error(res, {400, cr.error().message});
    api::Options opts;
    auto ref = resolve_with_opts(st, cr->model, cr->options, &opts);
    if (!ref.ok()) return send_error(res, ref.error);
    if (cr->messages.empty()) return (void)handle_load_only(st, *ref, opts, cr->keep_alive, true, res);
    for (const auto& m : cr->messages)
      if (!m.images.empty()) return send_error(res, {400, fmt::format("\"{}\" does not support images", cr->model)});
    auto policy = request_policy(*body, req.get_header_value(kDeadlineHeader), false,
                                 st.host.resilience().default_deadline_ms);
    if (!policy.ok()) return send_error(res, policy.error);
    // tools (and, as an extension, OpenAI's tool_choice: "none" leaves them out of the prompt)
    auto tools = tool_request_from_body(req.body, true);
    if (!tools.ok()) return send_error(res, tools.error);
    OutputPlan plan;
    // The engine request for whichever model answers (primary or a fallback).
    auto build = [&](const ModelRef& mref, const api::Options& mopts, Scheduler::Lease& lease) -> Expected<GenerateRequest> {
      ModelExtras& ex = ModelHost::extras(lease);
      if (auto no = ModelHost::check_completion(ex, cr->model, "chat")) return *no;
      PromptInput in;
      in.messages = cr->messages;
      if (tools->choice != ToolChoice::kNone) in.tools = cr->tools;
      in.think = cr->think;
      const int64_t n_ctx = lease.runner() != nullptr ? lease.runner()->params().n_ctx : 2048;
      // truncate: false keeps every message; a prompt that does not fit is then a 400.
      auto rendered = cr->truncate ? render_chat_fitting(mref, ex, std::move(in), n_ctx) : render_prompt(mref, ex, in);
      if (!rendered.ok()) return rendered.error;
      GenerateRequest er = engine_request(mopts);
      // format / grammar / tool calls, deferred past a thinking part; how the output splits
      auto p = plan_output(mref, ex, template_text_for(mref, ex), *rendered, cr->think, *tools, req.body, false, &er);
      if (!p.ok()) return p.error;
      plan = std::move(*p);
      er.prompt = std::move(*rendered);
      er.logprobs = cr->logprobs || cr->top_logprobs > 0;
      er.top_logprobs = cr->top_logprobs;
      er.truncate = cr->truncate;
      er.shift = cr->shift;
      return er;
    };
    auto started = dispatch(st, DispatchInput{std::move(*ref.value), cr->options, cr->keep_alive, *policy, t0, client_connected(req), model_filter(st, req)}, build, res);
    if (!started.ok()) return send_error(res, started.error);
    auto g = started->gen;
    auto tk = started->tokenizer;
    const bool want_lp = cr->logprobs;
    // Tool calls are numbered across the whole reply.
    auto n_calls = std::make_shared<size_t>(0);
    auto make = [g, name = started->ref.name, want_lp, tk, n_calls](const GenerateEvent& ev, const ChatOutputParser::Out& out) {
      if (ev.done && ev.done_reason == "error") return OJson{{"error", ev.error}};
      OJson j;
      j["model"] = name;
      j["created_at"] = api::rfc3339_nano(api::unix_now_ns());
      OJson msg{{"role", "assistant"}, {"content", out.content}};
      if (!out.thinking.empty()) msg["thinking"] = out.thinking;
      if (!out.calls.empty()) {
        msg["tool_calls"] = ollama_tool_calls_json(out.calls, *n_calls);
        *n_calls += out.calls.size();
      }
      j["message"] = std::move(msg);
      j["done"] = ev.done;
      if (ev.done) {
        j["done_reason"] = done_reason(ev);
        add_metrics(j, ev, g->start_ns(), g->load_ns());
      }
      if (want_lp && !ev.logprobs.empty()) j["logprobs"] = logprobs_json(*tk, ev.logprobs);
      return j;
    };
    send_reply(started->client_connected, res, g, plan.parse, cr->stream, make);
  });

  auto embed = [&st](const httplib::Request& req, httplib::Response& res, bool legacy) {
    const int64_t t0 = mono_ns();
    auto body = api::parse_json_body(req.body);
    if (!body) return send_error(res, {400, body.error().message});
    auto er = api::parse_embed_request(*body, legacy);
    if (!er) return send_error(res, {400, er.error().message});
    api::Options opts;
    auto ref = resolve_with_opts(st, er->model, er->options, &opts);
    if (!ref.ok()) return send_error(res, ref.error);
    if (auto no = model_forbidden(st, req, ref->name)) return send_error(res, *no);
    auto lease = st.host.acquire(*ref, opts, er->keep_alive);
    if (!lease.ok()) return send_error(res, lease.error);
    ModelExtras& ex = ModelHost::extras(*lease);
    const int64_t n_ctx = lease->runner() != nullptr ? lease->runner()->params().n_ctx : 2048;
    OJson vectors = OJson::array();
    int64_t n_tokens = 0;
    // Ollama answers an empty legacy prompt with an empty vector.
    if (!(legacy && (er->input.empty() || er->input[0].empty())) && !er->input.empty()) {
      auto v = ModelHost::embed(ex, er->input, er->truncate, n_ctx, er->dimensions, &n_tokens);
      if (!v.ok()) return send_error(res, v.error);
      for (auto& row : *v) vectors.push_back(std::move(row));
    }
    st.metrics.add_tokens(n_tokens, 0);
    OJson j;
    if (legacy) {
      j["embedding"] = vectors.empty() ? OJson::array() : vectors[0];
    } else {
      j["model"] = ref->name;
      j["embeddings"] = vectors;
      j["total_duration"] = mono_ns() - t0;
      j["load_duration"] = lease->load_duration().count();
      j["prompt_eval_count"] = n_tokens;
    }
    send_json(res, j);
  };
  svr.Post("/api/embed", [embed](const httplib::Request& req, httplib::Response& res) { embed(req, res, false); });
  svr.Post("/api/embeddings", [embed](const httplib::Request& req, httplib::Response& res) { embed(req, res, true); });
}

}  // namespace corral::server
