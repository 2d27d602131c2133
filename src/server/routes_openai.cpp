// The OpenAI API as a translator onto the same engine calls: /v1/chat/completions,
// /v1/completions, /v1/embeddings, /v1/models, /v1/models/{id}. Streams are SSE ending in
// "data: [DONE]"; errors use OpenAI's error shape.
#include <httplib.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "base/log.h"
#include "engine/grammar_constraint.h"
#include "server/chat_output.h"
#include "server/dispatch.h"
#include "server/generation.h"
#include "server/openai_chat.h"
#include "server/server.h"

namespace corral::server {

namespace {

using api::Json;
using api::OJson;

std::string new_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}-{}", prefix, rng() % 1000);
}

int64_t unix_s() { return api::unix_now_ns() / 1000000000; }

// Fields common to chat and completions, mapped to Ollama options. Missing temperature and
// top_p become 1.0 as in Ollama's /v1 layer; Ollama options (num_ctx, top_k...) may also be
// given at the top level or under "options".
Status openai_options(const Json& j, api::Options* o, bool* stream, bool* include_usage) {
  o->temperature = 1.0;
  o->top_p = 1.0;
  if (auto it = j.find("options"); it != j.end() && !it->is_null()) {
    auto extra = api::parse_options(*it);
    if (!extra) return extra.error();
    o->merge(*extra);
  }
  for (const char* k : {"num_ctx", "top_k", "min_p", "repeat_penalty", "num_predict", "num_batch"}) {
    if (auto it = j.find(k); it != j.end() && !it->is_null()) {
      auto extra = api::parse_options(Json{{k, *it}});
      if (!extra) return extra.error();
      o->merge(*extra);
    }
  }
  double d = 0;
  if (j.contains("temperature") && !j["temperature"].is_null()) {
    CORRAL_TRY(api::get_number(j, "temperature", &d));
    o->temperature = d;
  }
  if (j.contains("top_p") && !j["top_p"].is_null()) {
    CORRAL_TRY(api::get_number(j, "top_p", &d));
    o->top_p = d;
  }
  if (j.contains("frequency_penalty") && !j["frequency_penalty"].is_null()) {
    CORRAL_TRY(api::get_number(j, "frequency_penalty", &d));
    o->frequency_penalty = d;
  }
  if (j.contains("presence_penalty") && !j["presence_penalty"].is_null()) {
    CORRAL_TRY(api::get_number(j, "presence_penalty", &d));
    o->presence_penalty = d;
  }
  int64_t n = -1;
  if (j.contains("seed") && !j["seed"].is_null()) {
    CORRAL_TRY(api::get_int(j, "seed", &n));
    o->seed = n;
  }
  for (const char* k : {"max_tokens", "max_completion_tokens"}) {
    if (j.contains(k) && !j[k].is_null()) {
      CORRAL_TRY(api::get_int(j, k, &n));
      o->num_predict = n;
    }
  }
  if (j.contains("n") && !j["n"].is_null()) {
    CORRAL_TRY(api::get_int(j, "n", &n));
    if (n != 1) return make_error("n must be 1: only one choice per request is supported");
  }
  if (auto it = j.find("stop"); it != j.end() && !it->is_null()) {
    std::vector<std::string> stops;
    if (it->is_string()) stops.push_back(it->get<std::string>());
    else if (it->is_array()) {
      for (const auto& s : *it) {
        if (!s.is_string()) return make_error("stop must be a string or an array of strings");
        stops.push_back(s.get<std::string>());
      }
    } else {
      return make_error("stop must be a string or an array of strings");
    }
    o->stop = std::move(stops);
  }
  CORRAL_TRY(api::get_bool(j, "stream", stream));
  if (auto it = j.find("stream_options"); it != j.end() && it->is_object())
    CORRAL_TRY(api::get_bool(*it, "include_usage", include_usage));
  if (auto it = j.find("response_format"); it != j.end() && !it->is_null()) {
    if (!it->is_object() || !it->contains("type") || !(*it)["type"].is_string())
      return make_error("response_format must be an object with a type");
    const auto t = (*it)["type"].get<std::string>();
    if (t != "text" && t != "json_object" && t != "json_schema")
      return make_error("response_format.type must be text, json_object or json_schema");
  }
  return {};
}

// OpenAI message content: a string or an array of {type: "text", text} parts.
Result<std::string> content_text(const Json& c) {
  if (c.is_null()) return std::string();
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) return make_error("message content must be a string or an array of parts");
  std::string out;
  for (const auto& p : c) {
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string())
      return make_error("content part must be an object with a type");
    const auto t = p["type"].get<std::string>();
    if (t == "text") {
      if (!p.contains("text") || !p["text"].is_string()) return make_error("text part needs a text string");
      out += p["text"].get<std::string>();
    } else if (t == "image_url") {
      return make_error("this model does not support images");
    } else {
      return make_error("unsupported content part type \"{}\"", t);
    }
  }
  return out;
}

// "deadline": the request's deadline stopped the generation (partial output), a corral value;
// "shutdown": the server's drain deadline did (also corral's).
std::string finish_reason(const GenerateEvent& ev) {
  if (ev.done_reason == "length" || ev.done_reason == "deadline" || ev.done_reason == "shutdown") return ev.done_reason;
  return "stop";
}

OJson usage_json(const GenerateEvent& ev) {
  // cached_tokens: prompt tokens taken from the slot's prompt cache instead of evaluated.
  return OJson{{"prompt_tokens", ev.prompt_tokens},
               {"completion_tokens", ev.eval_count},
               {"total_tokens", ev.prompt_tokens + ev.eval_count},
               {"prompt_tokens_details", OJson{{"cached_tokens", std::max(0, ev.prompt_tokens - ev.prompt_eval_count)}}}};
}

struct Started {
  std::shared_ptr<Generation> gen;
  std::string model;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::function<bool()> client_connected;
};

// What a chat or completions request asks of its reply besides the prompt.
struct ReplyRequest {
  ToolRequest tools;
  Json think;
  bool logprobs = false;
  int32_t top_logprobs = 0;
};

// Chat `logprobs` (bool) and `top_logprobs` (0..20, needs logprobs); completions `logprobs`
// (0..20: the alternatives per token).
Status openai_logprobs(const Json& j, bool chat, ReplyRequest* r) {
  auto lp = j.find("logprobs");
  const bool has_lp = lp != j.end() && !lp->is_null();
  if (chat) {
    if (has_lp) {
      if (!lp->is_boolean()) return make_error("logprobs must be a boolean");
      r->logprobs = lp->get<bool>();
    }
    if (auto t = j.find("top_logprobs"); t != j.end() && !t->is_null()) {
      if (!t->is_number_integer() || t->get<int64_t>() < 0 || t->get<int64_t>() > 20)
        return make_error("top_logprobs must be an integer from 0 to 20");
      if (!r->logprobs && t->get<int64_t>() > 0) return make_error("top_logprobs requires logprobs to be true");
      r->top_logprobs = static_cast<int32_t>(t->get<int64_t>());
    }
  } else if (has_lp) {
    if (!lp->is_number_integer() || lp->get<int64_t>() < 0 || lp->get<int64_t>() > 20)
      return make_error("logprobs must be an integer from 0 to 20");
    r->logprobs = true;
    r->top_logprobs = static_cast<int32_t>(lp->get<int64_t>());
  }
  return {};
}

// Shared tail of chat and completions: resolve, then dispatch (deadline, fallbacks, load,
// render, start). `model` in the result names the model that answers.
Expected<Started> start(ServerState& st, const std::string& model, const api::Options& req_opts,
                        std::optional<PromptInput> chat, const std::string& raw_prompt, int64_t t0,
                        const httplib::Request& req, const Json& body, std::string_view body_text,
                        httplib::Response& res, const ReplyRequest& reply, OutputPlan* plan) {
  auto ref = st.host.resolve(model);
  if (!ref.ok()) return ref.error;
  auto policy = request_policy(body, req.get_header_value(kDeadlineHeader), true,
                               st.host.resilience().default_deadline_ms);
  if (!policy.ok()) return policy.error;
  auto build = [&](const ModelRef& mref, const api::Options& mopts, Scheduler::Lease& lease) -> Expected<GenerateRequest> {
    ModelExtras& ex = ModelHost::extras(lease);
    if (auto no = ModelHost::check_completion(ex, model, chat ? "chat" : "generate")) return *no;
    GenerateRequest er = engine_request(mopts);
    er.logprobs = reply.logprobs;
    er.top_logprobs = reply.top_logprobs;
    if (chat) {
      const int64_t n_ctx = lease.runner() != nullptr ? lease.runner()->params().n_ctx : 2048;
      auto rendered = render_chat_fitting(mref, ex, *chat, n_ctx);
      if (!rendered.ok()) return rendered.error;
      // response_format / grammar / tool_choice, deferred past a thinking part
      auto p = plan_output(mref, ex, template_text_for(mref, ex), *rendered, reply.think, reply.tools, body_text, false, &er);
      if (!p.ok()) return p.error;
      *plan = std::move(*p);
      er.prompt = std::move(*rendered);
    } else {
      auto constraint = constraint_from_request_body(body_text, *ex.tokenizer);  // response_format / grammar
      if (!constraint.ok()) return HttpError{400, constraint.error().message};
      er.constraint = *constraint;
      er.prompt = raw_prompt;
    }
    return er;
  };
  auto d = dispatch(st, DispatchInput{std::move(*ref.value), req_opts, std::nullopt, *policy, t0, client_connected(req), model_filter(st, req)}, build, res);
  if (!d.ok()) return d.error;
  return Started{d->gen, d->ref.name, d->tokenizer, d->client_connected};
}

// The messages, tools, thinking and logprobs of an OpenAI chat body.
Expected<PromptInput> chat_input(const Json& body, std::string_view body_text, ReplyRequest* reply) {
  auto msgs = body.find("messages");
  if (msgs == body.end() || !msgs->is_array() || msgs->empty()) return HttpError{400, "messages must be a non-empty array"};
  PromptInput in;
  for (const auto& m : *msgs) {
    if (!m.is_object()) return HttpError{400, "each message must be an object"};
    api::Message am;
    if (auto s = api::get_string(m, "role", &am.role); !s.ok()) return HttpError{400, s.error().message};
    auto text = content_text(m.value("content", Json()));
    if (!text) return HttpError{400, text.error().message};
    am.content = std::move(*text);
    if (auto tc = m.find("tool_calls"); tc != m.end() && tc->is_array()) {
      for (const auto& c : *tc) {  // OpenAI arguments are JSON strings; templates want objects
        Json call = c;
        if (c.contains("function") && c["function"].contains("arguments") && c["function"]["arguments"].is_string()) {
          auto args = Json::parse(c["function"]["arguments"].get<std::string>(), nullptr, false);
          call["function"]["arguments"] = args.is_discarded() ? Json::object() : args;
        }
        am.tool_calls.push_back(call);
      }
    }
    (void)api::get_string(m, "tool_call_id", &am.tool_call_id);
    (void)api::get_string(m, "name", &am.tool_name);
    (void)api::get_string(m, "reasoning_content", &am.thinking);
    in.messages.push_back(std::move(am));
  }
  auto tools = tool_request_from_body(body_text, true);
  if (!tools.ok()) return tools.error;
  reply->tools = std::move(*tools);
  reply->think = openai_think(body);
  in.think = reply->think;
  if (auto s = openai_logprobs(body, true, reply); !s.ok()) return HttpError{400, s.error().message};
  // tool_choice "none": the tools are not shown to the model at all.
  if (auto t = body.find("tools"); t != body.end() && t->is_array() && reply->tools.choice != ToolChoice::kNone)
    in.tools = *t;
  return in;
}

}  // namespace

Expected<ChatStarted> start_openai_chat(ServerState& st, const httplib::Request& req, const Json& body,
                                        std::string_view body_text, httplib::Response& res, int64_t t0) {
  ChatStarted out;
  std::string model;
  if (auto s = api::get_string(body, "model", &model); !s.ok()) return HttpError{400, s.error().message};
  api::Options opts;
  if (auto s = openai_options(body, &opts, &out.stream, &out.include_usage); !s.ok()) return HttpError{400, s.error().message};
  ReplyRequest reply;
  auto in = chat_input(body, body_text, &reply);
  if (!in.ok()) return in.error;
  auto started = start(st, model, opts, std::move(*in), "", t0, req, body, body_text, res, reply, &out.plan);
  if (!started.ok()) return started.error;
  out.gen = started->gen;
  out.model = started->model;
  out.tokenizer = started->tokenizer;
  out.client_connected = started->client_connected;
  out.logprobs = reply.logprobs;
  if (opts.stop) out.stop = *opts.stop;
  return out;
}

Expected<int64_t> count_openai_chat_tokens(ServerState& st, const Json& body) {
  std::string model;
  if (auto s = api::get_string(body, "model", &model); !s.ok()) return HttpError{400, s.error().message};
  ReplyRequest reply;
  auto in = chat_input(body, body.dump(), &reply);
  if (!in.ok()) return in.error;
  auto ref = st.host.resolve(model);
  if (!ref.ok()) return ref.error;
  auto lease = st.host.acquire(*ref, ref->params, std::nullopt);
  if (!lease.ok()) return lease.error;
  ModelExtras& ex = ModelHost::extras(*lease);
  auto prompt = render_prompt(*ref, ex, *in);
  if (!prompt.ok()) return prompt.error;
  return static_cast<int64_t>(ex.tokenizer->encode(*prompt, true, true).size());
}

std::string matched_stop(const Tokenizer& tk, const GenerateEvent& last, const std::string& text,
                         const std::vector<std::string>& stops) {
  if (stops.empty() || last.done_reason != "stop" || last.prompt_tokens < 0 ||
      static_cast<size_t>(last.prompt_tokens) > last.context.size())
    return "";
  const std::span<const int32_t> gen(last.context.data() + last.prompt_tokens, last.context.size() - static_cast<size_t>(last.prompt_tokens));
  const std::string all = tk.decode(gen);
  if (all.size() <= text.size() || all.compare(0, text.size(), text) != 0) return "";
  const std::string_view rest = std::string_view(all).substr(text.size());
  for (const auto& s : stops)
    if (!s.empty() && rest.starts_with(s)) return s;
  return "";
}

namespace {

// encoding_format "base64": the float32 values, little-endian, base64-encoded (the OpenAI SDKs
// ask for this by default).
std::string base64_floats(const std::vector<float>& v) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * 4, '\0');
  std::memcpy(bytes.data(), v.data(), bytes.size());  // x86 and ARM hosts are little-endian
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// The fields every OpenAI completion object and stream chunk starts with.
OJson openai_object(const std::string& id, const char* object, int64_t created, const std::string& model) {
  OJson j;
  j["id"] = id;
  j["object"] = object;
  j["created"] = created;
  j["model"] = model;
  j["system_fingerprint"] = "fp_corral";
  return j;
}

// The last chunk of a stream with stream_options.include_usage: no choices, the usage.
OJson usage_chunk(OJson j, const GenerateEvent& ev) {
  j["choices"] = OJson::array();
  j["usage"] = usage_json(ev);
  return j;
}

std::string sse(const OJson& j) {
  return "data: " + j.dump(-1, ' ', false, OJson::error_handler_t::replace) + "\n\n";
}

}  // namespace

void register_openai_routes(httplib::Server& svr, ServerState& st) {
  svr.Post("/v1/chat/completions", [&st](const httplib::Request& req, httplib::Response& res) {
    const int64_t t0 = mono_ns();
    auto body = api::parse_json_body(req.body);
    if (!body) return send_openai_error(res, {400, body.error().message});
    auto started = start_openai_chat(st, req, *body, req.body, res, t0);
    if (!started.ok()) return send_openai_error(res, started.error);
    const bool stream = started->stream, include_usage = started->include_usage;
    const OutputPlan plan = started->plan;
    auto g = started->gen;
    auto tk = started->tokenizer;
    const bool want_lp = started->logprobs;
    const std::string model = started->model;  // a fallback may have answered
    const std::string id = new_id("chatcmpl");
    const int64_t created = unix_s();
    auto base = [id, created, model] { return openai_object(id, "chat.completion.chunk", created, model); };
    if (stream) {
      auto first = std::make_shared<bool>(true);
      auto parser = std::make_shared<ChatOutputParser>(plan.parse);
      auto n_calls = std::make_shared<size_t>(0);
      stream_generation(res, g, "text/event-stream",
                        [base, first, include_usage, parser, n_calls, want_lp, tk](const GenerateEvent& ev) {
                          if (ev.done && ev.done_reason == "error")
                            return sse(OJson::parse(api::openai_error_body(ev.error, "api_error")));
                          auto parsed = parser->push(ev.text);
                          if (ev.done) append_output(parsed, parser->finish());
                          const bool has_lp = want_lp && !ev.logprobs.empty();
                          std::string out;
                          if (!parsed.empty() || has_lp || *first) {
                            OJson j = base();
                            OJson delta;
                            if (*first) delta["role"] = "assistant";
                            if (*first || !parsed.content.empty()) delta["content"] = parsed.content;
                            if (!parsed.thinking.empty()) delta["reasoning_content"] = parsed.thinking;
                            if (!parsed.calls.empty()) {
                              delta["tool_calls"] = openai_tool_calls_json(parsed.calls, *n_calls, true);
                              *n_calls += parsed.calls.size();
                            }
                            OJson choice{{"index", 0}, {"delta", delta}};
                            if (has_lp) choice["logprobs"] = openai_chat_logprobs(*tk, ev.logprobs);
                            choice["finish_reason"] = nullptr;
                            j["choices"] = OJson::array({std::move(choice)});
                            out += sse(j);
                            *first = false;
                          }
                          if (ev.done) {
                            OJson j = base();
                            j["choices"] = OJson::array({OJson{{"index", 0},
                                                               {"delta", OJson::object()},
                                                               {"finish_reason", *n_calls > 0 ? std::string("tool_calls") : finish_reason(ev)}}});
                            out += sse(j);
                            if (include_usage) out += sse(usage_chunk(base(), ev));
                          }
                          return out;
                        },
                        "data: [DONE]\n\n");
      return;
    }
    auto [all, lps, last] = collect_generation(*g, started->client_connected);
    if (last.done_reason == "error") return send_openai_error(res, {500, last.error});
    const auto parsed = parse_all(plan.parse, all);
    OJson message{{"role", "assistant"}};
    message["content"] = parsed.content.empty() && !parsed.calls.empty() ? OJson(nullptr) : OJson(parsed.content);
    if (!parsed.thinking.empty()) message["reasoning_content"] = parsed.thinking;
    if (!parsed.calls.empty()) message["tool_calls"] = openai_tool_calls_json(parsed.calls, 0, false);
    OJson j = openai_object(id, "chat.completion", created, model);
    j["choices"] = OJson::array({OJson{{"index", 0},
                                       {"message", std::move(message)},
                                       {"logprobs", want_lp ? openai_chat_logprobs(*tk, lps) : OJson(nullptr)},
                                       {"finish_reason", parsed.calls.empty() ? finish_reason(last) : std::string("tool_calls")}}});
    j["usage"] = usage_json(last);
    send_json(res, j);
  });

  svr.Post("/v1/completions", [&st](const httplib::Request& req, httplib::Response& res) {
    const int64_t t0 = mono_ns();
    auto body = api::parse_json_body(req.body);
    if (!body) return send_openai_error(res, {400, body.error().message});
    std::string model, prompt;
    if (auto s = api::get_string(*body, "model", &model); !s.ok()) return send_openai_error(res, {400, s.error().message});
    if (auto s = api::get_string(*body, "prompt", &prompt); !s.ok())
      return send_openai_error(res, {400, "prompt must be a string"});
    api::Options opts;
    bool stream = false, include_usage = false;
    if (auto s = openai_options(*body, &opts, &stream, &include_usage); !s.ok())
      return send_openai_error(res, {400, s.error().message});
    ReplyRequest reply;
    if (auto s = openai_logprobs(*body, false, &reply); !s.ok()) return send_openai_error(res, {400, s.error().message});
    OutputPlan plan;
    auto started = start(st, model, opts, std::nullopt, prompt, t0, req, *body, req.body, res, reply, &plan);
    if (!started.ok()) return send_openai_error(res, started.error);
    auto g = started->gen;
    auto tk = started->tokenizer;
    const bool want_lp = reply.logprobs;
    model = started->model;  // a fallback may have answered
    const std::string id = new_id("cmpl");
    const int64_t created = unix_s();
    auto base = [id, created, model] { return openai_object(id, "text_completion", created, model); };
    if (stream) {
      auto offset = std::make_shared<size_t>(0);
      stream_generation(res, g, "text/event-stream",
                        [base, include_usage, want_lp, tk, offset](const GenerateEvent& ev) {
                          if (ev.done && ev.done_reason == "error")
                            return sse(OJson::parse(api::openai_error_body(ev.error, "api_error")));
                          if (!ev.done && ev.text.empty() && !(want_lp && !ev.logprobs.empty())) return std::string();
                          OJson lp = nullptr;
                          if (want_lp) lp = openai_completion_logprobs(*tk, ev.logprobs, *offset);
                          *offset += ev.text.size();
                          OJson j = base();
                          j["choices"] = OJson::array({OJson{{"text", ev.text},
                                                             {"index", 0},
                                                             {"logprobs", std::move(lp)},
                                                             {"finish_reason", ev.done ? OJson(finish_reason(ev)) : OJson(nullptr)}}});
                          std::string out = sse(j);
                          if (ev.done && include_usage) out += sse(usage_chunk(base(), ev));
                          return out;
                        },
                        "data: [DONE]\n\n");
      return;
    }
    auto [all, lps, last] = collect_generation(*g, started->client_connected);
    if (last.done_reason == "error") return send_openai_error(res, {500, last.error});
    OJson j = base();
    j["choices"] = OJson::array({OJson{{"text", all},
                                       {"index", 0},
                                       {"logprobs", want_lp ? openai_completion_logprobs(*tk, lps, 0) : OJson(nullptr)},
                                       {"finish_reason", finish_reason(last)}}});
    j["usage"] = usage_json(last);
    send_json(res, j);
  });

  svr.Post("/v1/embeddings", [&st](const httplib::Request& req, httplib::Response& res) {
    auto body = api::parse_json_body(req.body);
    if (!body) return send_openai_error(res, {400, body.error().message});
    std::string model;
    if (auto s = api::get_string(*body, "model", &model); !s.ok()) return send_openai_error(res, {400, s.error().message});
    std::vector<std::string> inputs;
    auto in = body->find("input");
    if (in == body->end() || in->is_null()) return send_openai_error(res, {400, "invalid input"});
    if (in->is_string()) inputs.push_back(in->get<std::string>());
    else if (in->is_array()) {
      for (const auto& s : *in) {
        if (!s.is_string()) return send_openai_error(res, {400, "input must be a string or an array of strings"});
        inputs.push_back(s.get<std::string>());
      }
    } else {
      return send_openai_error(res, {400, "input must be a string or an array of strings"});
    }
    std::string encoding = "float";
    if (auto s = api::get_string(*body, "encoding_format", &encoding); !s.ok())
      return send_openai_error(res, {400, s.error().message});
    if (encoding != "float" && encoding != "base64")
      return send_openai_error(res, {400, "encoding_format must be float or base64"});
    const bool base64 = encoding == "base64";
    int64_t dims = 0;
    if (auto s = api::get_int(*body, "dimensions", &dims); !s.ok()) return send_openai_error(res, {400, s.error().message});
    auto ref = st.host.resolve(model);
    if (!ref.ok()) return send_openai_error(res, ref.error);
    if (auto no = model_forbidden(st, req, ref->name)) return send_openai_error(res, *no);
    auto lease = st.host.acquire(*ref, ref->params, std::nullopt);
    if (!lease.ok()) return send_openai_error(res, lease.error);
    ModelExtras& ex = ModelHost::extras(*lease);
    const int64_t n_ctx = lease->runner() != nullptr ? lease->runner()->params().n_ctx : 2048;
    OJson data = OJson::array();
    int64_t n_tokens = 0;
    if (dims < 0) return send_openai_error(res, {400, "dimensions must be a positive integer"});
    auto vecs = ModelHost::embed(ex, inputs, true, n_ctx, dims, &n_tokens);
    if (!vecs.ok()) return send_openai_error(res, vecs.error);
    for (size_t i = 0; i < vecs->size(); ++i) {
      if (base64) {
        data.push_back(OJson{{"object", "embedding"}, {"embedding", base64_floats((*vecs)[i])}, {"index", i}});
      } else {
        data.push_back(OJson{{"object", "embedding"}, {"embedding", (*vecs)[i]}, {"index", i}});
      }
    }
    OJson j;
    j["object"] = "list";
    j["data"] = data;
    j["model"] = model;
    j["usage"] = OJson{{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}};
    send_json(res, j);
  });

  auto model_obj = [](const std::string& id, int64_t created, const std::string& owner) {
    return OJson{{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", owner}};
  };
  svr.Get("/v1/models", [&st, model_obj](const httplib::Request&, httplib::Response& res) {
    OJson data = OJson::array();
    if (Store* store = st.host.store()) {
      if (auto list = store->list()) {
        for (const auto& e : *list) data.push_back(model_obj(e.name.display_shortest(), e.modified_unix_s, e.name.ns));
      }
    }
    send_json(res, OJson{{"object", "list"}, {"data", data}});
  });
  svr.Get(R"(/v1/models/(.+))", [&st, model_obj](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1].str();
    auto ref = st.host.resolve(id);
    if (!ref.ok()) return send_openai_error(res, {404, fmt::format("model \"{}\" not found", id)});
    auto name = ModelName::parse(ref->name);
    send_json(res, model_obj(ref->name, ref->modified_unix_s, name ? name->ns : "library"));
  });
}

}  // namespace corral::server
