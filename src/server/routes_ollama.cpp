// Ollama's inference routes: /api/generate, /api/chat, /api/embed, /api/embeddings, with NDJSON
// streams shaped exactly like Ollama's (metrics on the final line, zero metrics omitted).
#include <httplib.h>

#include "base/log.h"
#include "engine/grammar_constraint.h"
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
  return ev.done_reason == "length" ? "length" : "stop";
}

void warn_unsupported(const std::string& model, const api::Json& format, const api::Json& think) {
  (void)format;  // enforced: constraint_from_request_body
  if (think.is_boolean() && think.get<bool>())
    CORRAL_LOG_DEBUG("{}: think requested; thinking is not separated for this template", model);
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
    warn_unsupported(ref->name, gr->format, gr->think);
    auto lease = st.host.acquire(*ref, opts, gr->keep_alive);
    if (!lease.ok()) return send_error(res, lease.error);
    ModelExtras& ex = ModelHost::extras(*lease);
    std::string text = gr->prompt;
    if (!gr->raw) {
      PromptInput in;
      in.prompt = gr->prompt;
      in.suffix = gr->suffix;
      in.system = gr->system;
      in.template_override = gr->template_text;
      in.think = gr->think;
      auto rendered = render_prompt(*ref, ex, in);
      if (!rendered.ok()) return send_error(res, rendered.error);
      text = std::move(*rendered);
    }
    GenerateRequest er = engine_request(opts);
    auto constraint = constraint_from_request_body(req.body, *ex.tokenizer);  // format / grammar
    if (!constraint.ok()) return send_error(res, {400, constraint.error().message});
    er.constraint = *constraint;
    er.logprobs = gr->logprobs || gr->top_logprobs > 0;
    er.top_logprobs = gr->top_logprobs;
    if (!gr->context.empty()) {
      er.prompt_tokens = gr->context;
      auto more = ex.tokenizer->encode(text, false, true);
      er.prompt_tokens.insert(er.prompt_tokens.end(), more.begin(), more.end());
    } else {
      er.prompt = text;
    }
    auto tk = ex.tokenizer;
    auto gen = start_generation(std::move(*lease), std::move(er), t0, &st.metrics);
    if (!gen.ok()) return send_error(res, gen.error);
    auto g = *gen;
    const bool raw = gr->raw;
    const bool want_lp = gr->logprobs;
    auto make = [g, name = ref->name, raw, want_lp, tk](const GenerateEvent& ev, const std::string& text_out) {
      OJson j;
      j["model"] = name;
      j["created_at"] = api::rfc3339_nano(api::unix_now_ns());
      if (ev.done && ev.done_reason == "error") return OJson{{"error", ev.error}};
      j["response"] = text_out;
      j["done"] = ev.done;
      if (ev.done) {
        j["done_reason"] = done_reason(ev);
        if (!raw) j["context"] = ev.context;
        add_metrics(j, ev, g->start_ns(), g->load_ns());
      }
      if (want_lp && !ev.logprobs.empty()) j["logprobs"] = logprobs_json(*tk, ev.logprobs);
      return j;
    };
    if (gr->stream) {
      stream_generation(res, g, "application/x-ndjson",
                        [make](const GenerateEvent& ev) {
                          if (!ev.done && ev.text.empty() && ev.logprobs.empty()) return std::string();
                          return json_line(make(ev, ev.text));
                        },
                        "");
      return;
    }
    std::string all;
    GenerateEvent ev, last;
    std::vector<TokenLogprob> lps;
    while (g->next(&ev)) {
      all += ev.text;
      lps.insert(lps.end(), ev.logprobs.begin(), ev.logprobs.end());
      if (ev.done) last = ev;
    }
    if (last.done_reason == "error") return send_error(res, {500, last.error});
    last.logprobs = std::move(lps);
    send_json(res, make(last, all));
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
    warn_unsupported(ref->name, cr->format, cr->think);
    auto lease = st.host.acquire(*ref, opts, cr->keep_alive);
    if (!lease.ok()) return send_error(res, lease.error);
    ModelExtras& ex = ModelHost::extras(*lease);
    PromptInput in;
    in.messages = cr->messages;
    in.tools = cr->tools;
    in.think = cr->think;
    const int64_t n_ctx = lease->runner() != nullptr ? lease->runner()->params().n_ctx : 2048;
    auto rendered = render_chat_fitting(*ref, ex, std::move(in), n_ctx);
    if (!rendered.ok()) return send_error(res, rendered.error);
    GenerateRequest er = engine_request(opts);
    auto constraint = constraint_from_request_body(req.body, *ex.tokenizer);  // format / grammar
    if (!constraint.ok()) return send_error(res, {400, constraint.error().message});
    er.constraint = *constraint;
    er.prompt = std::move(*rendered);
    er.logprobs = cr->logprobs || cr->top_logprobs > 0;
    er.top_logprobs = cr->top_logprobs;
    auto tk = ex.tokenizer;
    auto gen = start_generation(std::move(*lease), std::move(er), t0, &st.metrics);
    if (!gen.ok()) return send_error(res, gen.error);
    auto g = *gen;
    const bool want_lp = cr->logprobs;
    auto make = [g, name = ref->name, want_lp, tk](const GenerateEvent& ev, const std::string& text_out) {
      if (ev.done && ev.done_reason == "error") return OJson{{"error", ev.error}};
      OJson j;
      j["model"] = name;
      j["created_at"] = api::rfc3339_nano(api::unix_now_ns());
      j["message"] = OJson{{"role", "assistant"}, {"content", text_out}};
      j["done"] = ev.done;
      if (ev.done) {
        j["done_reason"] = done_reason(ev);
        add_metrics(j, ev, g->start_ns(), g->load_ns());
      }
      if (want_lp && !ev.logprobs.empty()) j["logprobs"] = logprobs_json(*tk, ev.logprobs);
      return j;
    };
    if (cr->stream) {
      stream_generation(res, g, "application/x-ndjson",
                        [make](const GenerateEvent& ev) {
                          if (!ev.done && ev.text.empty() && ev.logprobs.empty()) return std::string();
                          return json_line(make(ev, ev.text));
                        },
                        "");
      return;
    }
    std::string all;
    GenerateEvent ev, last;
    std::vector<TokenLogprob> lps;
    while (g->next(&ev)) {
      all += ev.text;
      lps.insert(lps.end(), ev.logprobs.begin(), ev.logprobs.end());
      if (ev.done) last = ev;
    }
    if (last.done_reason == "error") return send_error(res, {500, last.error});
    last.logprobs = std::move(lps);
    send_json(res, make(last, all));
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
    auto lease = st.host.acquire(*ref, opts, er->keep_alive);
    if (!lease.ok()) return send_error(res, lease.error);
    ModelExtras& ex = ModelHost::extras(*lease);
    const int64_t n_ctx = lease->runner() != nullptr ? lease->runner()->params().n_ctx : 2048;
    OJson vectors = OJson::array();
    int64_t n_tokens = 0;
    for (const auto& text : er->input) {
      if (legacy && text.empty()) break;  // Ollama answers an empty prompt with an empty vector
      int32_t n = 0;
      auto v = ModelHost::embed(ex, text, er->truncate, n_ctx, &n);
      if (!v.ok()) return send_error(res, v.error);
      n_tokens += n;
      if (er->dimensions > 0 && static_cast<size_t>(er->dimensions) < v->size()) {
        v->resize(static_cast<size_t>(er->dimensions));
        double norm = 0;
        for (float x : *v) norm += static_cast<double>(x) * x;
        norm = std::sqrt(norm);
        if (norm > 0)
          for (auto& x : *v) x = static_cast<float>(x / norm);
      }
      vectors.push_back(*v);
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
