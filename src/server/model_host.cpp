// Model resolution, loading (the scheduler's loader), prompt rendering and embeddings.
#include "server/model_host.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdlib>

#include "base/log.h"
#include "chat/chat_template.h"
#include "chat/jinja.h"
#include "chat/ollama_template.h"
#include "engine/loaded_model.h"
#include "engine/rerank.h"

namespace corral::server {

namespace {

int64_t env_int(const char* name, int64_t def) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return def;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (*end != '\0' || n <= 0) {
    CORRAL_LOG_WARN("ignoring {}={}", name, v);
    return def;
  }
  return n;
}

bool is_file(const std::string& p, int64_t* size, int64_t* mtime) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  *size = static_cast<int64_t>(st.st_size);
  *mtime = static_cast<int64_t>(st.st_mtime);
  return true;
}

// CORRAL_MODEL_PATHS="name=/path/a.gguf,other=/path/b.gguf".
std::optional<std::string> alias_path(const std::string& name) {
  const char* v = std::getenv("CORRAL_MODEL_PATHS");
  if (v == nullptr) return std::nullopt;
  std::string_view s(v);
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      std::string_view n = item.substr(0, eq);
      if (n == name || std::string(n) + ":latest" == name) return std::string(item.substr(eq + 1));
    }
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

// OLLAMA_KV_CACHE_TYPE as Ollama reads it: f16 (the default), q8_0 or q4_0, whatever the case;
// anything else is warned about and gives f16.
KvType env_kv_type() {
  const char* v = std::getenv("OLLAMA_KV_CACHE_TYPE");
  if (v == nullptr || *v == '\0') return KvType::kF16;
  const std::optional<KvType> t = parse_kv_type(v);
  if (!t || *t == KvType::kF32) {
    CORRAL_LOG_WARN("OLLAMA_KV_CACHE_TYPE={} is not a supported KV cache type (f16, q8_0, q4_0); using f16", v);
    return KvType::kF16;
  }
  if (*t != KvType::kF16) CORRAL_LOG_INFO("KV cache type {} (OLLAMA_KV_CACHE_TYPE)", kv_type_name(*t));
  return *t;
}

}  // namespace

ModelHost::ModelHost(std::unique_ptr<Store> store, SchedulerConfig config) : store_(std::move(store)) {
  num_parallel_ = static_cast<int32_t>(env_int("OLLAMA_NUM_PARALLEL", 1));
  default_num_ctx_ = env_int("OLLAMA_CONTEXT_LENGTH", 4096);
  // Recurrent models' prompt-cache checkpoints per slot, and the prompt positions they are taken at.
  n_checkpoints_ = static_cast<int32_t>(std::min<int64_t>(env_int("CORRAL_CHECKPOINTS", n_checkpoints_), 64));
  checkpoint_interval_ = static_cast<int32_t>(std::min<int64_t>(env_int("CORRAL_CHECKPOINT_INTERVAL", checkpoint_interval_), INT32_MAX));
  kv_type_ = env_kv_type();
  LoaderFn loader = [faults = &resilience_.faults](const LoadSpec& spec) -> Result<LoadedInstance> {
    if (faults->take_load_failure(spec.name)) return make_error("test fault: load failure injected for {}", spec.name);
    auto lm = load_model(spec.path);
    if (!lm) return lm.error();
    RunnerParams p = spec.params;
    p.n_ctx = Runner::clamp_n_ctx(lm->model->hp, p.n_ctx);
    auto ex = std::make_shared<ModelExtras>();
    ex->model = lm->model;
    ex->tokenizer = lm->tokenizer;
    LoadedInstance inst;
    if (lm->model->hp.encoder) {
      ex->encoder = std::make_unique<Encoder>(lm->model);  // embedding-only: no runner, no KV cache
    } else {
      auto runner = Runner::create(lm->model, lm->tokenizer, p);
      if (!runner) return runner.error();
      inst.runner = std::shared_ptr<Runner>(std::move(*runner));
    }
    if (auto t = lm->model->file->get_string("tokenizer.chat_template")) ex->gguf_chat_template = *t;
    inst.user = ex;
    // Recurrent models (qwen35, qwen35moe) also hold fixed-size states per slot (and their
    // checkpoints): the estimate counted them from the header; what the runner holds replaces it.
    inst.size_bytes = spec.estimated_bytes - spec.estimated_state_bytes +
                      (inst.runner ? static_cast<int64_t>(inst.runner->recurrent_state_bytes()) : 0);
    // Likewise the KV cache (a model whose head sizes a quantized cache cannot take holds f16).
    inst.size_bytes += -spec.estimated_kv_bytes + (inst.runner ? static_cast<int64_t>(inst.runner->kv_bytes()) : 0);
    return inst;
  };
  scheduler_ = std::make_unique<Scheduler>(config, std::move(loader));
}

Expected<ModelRef> ModelHost::resolve(const std::string& name) const {
  if (name.empty()) return HttpError{400, "model is required"};
  ModelRef ref;
  ref.name = name;
  std::string path;
  if (auto a = alias_path(name)) path = *a;
  else if (name.front() == '/' && name.size() > 5 && name.ends_with(".gguf")) path = name;
  if (!path.empty()) {
    if (!is_file(path, &ref.size_bytes, &ref.modified_unix_s)) return HttpError{404, not_found_message(name)};
    ref.path = path;
    return ref;
  }
  if (!store_) return HttpError{404, not_found_message(name)};
  auto parsed = ModelName::parse(name);
  if (!parsed) return HttpError{400, fmt::format("invalid model name \"{}\"", name)};
  auto rm = store_->resolve_model(*parsed);
  if (!rm) return HttpError{404, not_found_message(name)};
  ref.name = rm->name.display_shortest();
  ref.path = rm->model_path;
  ref.digest = rm->manifest_digest;
  ref.has_template = rm->has_template;
  ref.template_text = rm->template_text;
  ref.system = rm->system;
  ref.licenses = rm->licenses;
  ref.size_bytes = rm->manifest.total_size();
  int64_t sz = 0;
  is_file(rm->model_path, &sz, &ref.modified_unix_s);
  auto pj = api::Json::parse(rm->params_json, nullptr, false);
  if (!pj.is_discarded() && pj.is_object()) {
    auto opts = api::parse_options(pj);
    if (opts) ref.params = std::move(*opts);
    else CORRAL_LOG_WARN("{}: ignoring params layer: {}", name, opts.error().message);
    if (auto fb = pj.find("fallback"); fb != pj.end() && fb->is_array())
      for (const auto& f : *fb)
        if (f.is_string()) ref.fallbacks.push_back(f.get<std::string>());
  }
  return ref;
}

Runner::MemoryEstimate ModelHost::memory_estimate(const std::string& path, int64_t modified,
                                                  const RunnerParams& p) const {
  const std::string key = fmt::format("{}|{}|{}|{}|{}|{}", path, modified, p.n_parallel, p.n_checkpoints, p.n_ctx,
                                      kv_type_name(p.kv_type));
  std::lock_guard<std::mutex> lock(memory_estimate_mu_);
  if (auto it = memory_estimates_.find(key); it != memory_estimates_.end()) return it->second;
  auto e = Runner::estimate_memory(path, p);
  Runner::MemoryEstimate v;
  if (e) v = *e;
  else v.n_ctx = p.n_ctx;
  memory_estimates_.emplace(key, v);
  return v;
}

LoadSpec ModelHost::load_spec(const ModelRef& ref, const api::Options& opts) const {
  LoadSpec s;
  s.name = ref.name;
  s.path = ref.path;
  s.params.n_parallel = num_parallel_;
  s.params.n_checkpoints = n_checkpoints_;
  s.params.checkpoint_interval = checkpoint_interval_;
  s.params.n_ctx = opts.num_ctx && *opts.num_ctx > 0 ? *opts.num_ctx : default_num_ctx_;
  if (opts.num_batch && *opts.num_batch > 0 && *opts.num_batch <= 8192)
    s.params.n_batch = static_cast<int32_t>(*opts.num_batch);
  s.params.kv_type = kv_type_;
  // The context the load will have (clamped to the training context), so that /api/ps reports
  // it and two requests asking for more than the model has share one loaded instance.
  const auto mem = memory_estimate(ref.path, ref.modified_unix_s, s.params);
  s.params.n_ctx = mem.n_ctx;
  s.key = fmt::format("{}|ctx={}|batch={}", ref.name, s.params.n_ctx, s.params.n_batch);
  s.estimated_state_bytes = static_cast<int64_t>(mem.recurrent_state_bytes);
  s.estimated_kv_bytes = static_cast<int64_t>(mem.kv_bytes);
  s.estimated_bytes = ref.size_bytes + s.estimated_state_bytes + s.estimated_kv_bytes;  // weights, states, KV
  s.params.step_delay_ms = resilience_.faults.stall_ms(ref.name);  // test hook; 0 normally
  return s;
}

Expected<std::optional<std::chrono::nanoseconds>> ModelHost::keep_alive(const std::optional<std::string>& text) {
  if (!text) return std::optional<std::chrono::nanoseconds>{};
  auto d = parse_keep_alive(*text);
  if (!d) return HttpError{400, d.error().message};
  return std::optional<std::chrono::nanoseconds>(*d);
}

Expected<Scheduler::Lease> ModelHost::acquire(const ModelRef& ref, const api::Options& opts,
                                              const std::optional<std::string>& keep_alive_text,
                                              std::optional<std::chrono::steady_clock::time_point> deadline,
                                              const std::function<bool()>& client_connected) {
  auto ka = keep_alive(keep_alive_text);
  if (!ka.ok()) return ka.error;
  std::function<bool()> cancelled;
  if (client_connected) cancelled = [&client_connected] { return !client_connected(); };
  auto r = scheduler_->acquire(load_spec(ref, opts), *ka, cancelled, deadline);
  switch (r.kind) {
    case SchedulerErrorKind::kNone: return std::move(r.lease);
    case SchedulerErrorKind::kBusy: return HttpError{503, r.error};
    case SchedulerErrorKind::kCancelled: return HttpError{499, r.error};
    case SchedulerErrorKind::kDeadline:
      return HttpError{504, fmt::format("deadline exceeded: model {} could not start in time ({})", ref.name, r.error)};
    case SchedulerErrorKind::kLoadFailed: break;
  }
  return HttpError{500, fmt::format("failed to load model {}: {}", ref.name, r.error)};
}

std::optional<HttpError> ModelHost::check_completion(const ModelExtras& ex, const std::string& model, const char* what) {
  if (!ex.encoder) return std::nullopt;
  return HttpError{400, fmt::format("\"{}\" does not support {}", model, what)};
}

namespace {

// The model's single-sequence context for embeddings and rerank scores, made (or made larger)
// for n_ctx positions when needed.
std::optional<HttpError> ensure_embed_context(ModelExtras& ex, int64_t n_ctx) {
  if (ex.embed_ctx && ex.embed_ctx->params().n_ctx >= n_ctx) return std::nullopt;
  ContextParams cp;
  cp.n_ctx = n_ctx;
  cp.n_seq = 1;
  auto c = Context::create(ex.model, cp);
  if (!c) return HttpError{500, c.error().message};
  ex.embed_ctx = std::move(*c);
  return std::nullopt;
}

// Pools a decoder's final-norm rows of one sequence (run through a single-sequence context).
Expected<std::vector<float>> decoder_embedding(ModelExtras& ex, const std::vector<int32_t>& toks, int64_t n_ctx) {
  const auto& hp = ex.model->hp;
  if (auto e = ensure_embed_context(ex, n_ctx)) return *e;
  const auto E = static_cast<size_t>(hp.n_embd);
  const Pooling pooling = hp.pooling;
  std::vector<double> sum(E, 0.0);
  constexpr size_t kChunk = 512;
  for (size_t start = 0; start < toks.size(); start += kChunk) {
    Batch b;
    b.embeddings = true;
    const size_t end = std::min(toks.size(), start + kChunk);
    for (size_t i = start; i < end; ++i) b.add(toks[i], static_cast<int32_t>(i), 0, true);
    auto out = ex.embed_ctx->forward(b);
    if (!out) return HttpError{500, out.error().message};
    for (size_t t = 0; t < end - start; ++t) {
      const size_t i = start + t;
      const bool take = pooling == Pooling::kLast ? i + 1 == toks.size() : pooling == Pooling::kCls ? i == 0 : true;
      if (!take) continue;
      for (size_t e = 0; e < E; ++e) sum[e] += (*out)[t * E + e];
    }
  }
  const double n = pooling == Pooling::kLast || pooling == Pooling::kCls ? 1.0 : static_cast<double>(toks.size());
  std::vector<float> v(E);
  for (size_t e = 0; e < E; ++e) v[e] = static_cast<float>(sum[e] / n);
  return v;
}

}  // namespace

Expected<std::vector<std::vector<float>>> ModelHost::embed(ModelExtras& ex, const std::vector<std::string>& texts,
                                                           bool truncate, int64_t n_ctx, int64_t dimensions,
                                                           int64_t* n_tokens) {
  const auto& hp = ex.model->hp;
  if (ex.encoder && hp.pooling == Pooling::kRank)
    return HttpError{400, "this model is a reranker (pooling_type rank), which gives scores, not embeddings: use /v1/rerank"};
  if (ex.encoder) n_ctx = ex.encoder->max_tokens();
  if (hp.n_ctx_train > 0 && n_ctx > hp.n_ctx_train) n_ctx = hp.n_ctx_train;
  std::vector<std::vector<int32_t>> seqs;
  *n_tokens = 0;
  for (const std::string& text : texts) {
    std::vector<int32_t> toks = ex.tokenizer->encode(text, true, true);
    if (toks.empty()) return HttpError{400, "input is empty"};
    if (static_cast<int64_t>(toks.size()) > n_ctx) {
      if (!truncate)
        return HttpError{400, fmt::format("input length {} exceeds the context length {}", toks.size(), n_ctx)};
      const int32_t last = toks.back();
      toks.resize(static_cast<size_t>(n_ctx));
      if (ex.encoder) toks.back() = last;  // an encoder's input still ends with its [SEP]
    }
    *n_tokens += static_cast<int64_t>(toks.size());
    seqs.push_back(std::move(toks));
  }
  std::vector<std::vector<float>> out;
  if (ex.encoder) {
    // Concurrent requests share encoder passes (embed_batcher.h).
    auto r = ex.embed_batcher.embed(std::move(seqs), [&ex, &hp](const EmbedBatcher::Seqs& all) {
      return ex.encoder->embed(all, hp.pooling);
    });
    if (!r) return HttpError{500, r.error().message};
    out = std::move(*r);
  } else {
    std::lock_guard<std::mutex> lock(ex.embed_mu);
    for (const auto& toks : seqs) {
      auto v = decoder_embedding(ex, toks, n_ctx);
      if (!v.ok()) return v.error;
      out.push_back(std::move(*v));
    }
  }
  for (auto& v : out) {
    normalize_l2(v);
    if (dimensions > 0 && static_cast<size_t>(dimensions) < v.size()) {
      v.resize(static_cast<size_t>(dimensions));
      normalize_l2(v);
    }
  }
  return out;
}

Expected<std::vector<float>> ModelHost::rerank(ModelExtras& ex, const std::string& model, const std::string& query,
                                               const std::vector<std::string>& docs, int64_t n_ctx, int64_t* n_tokens) {
  const Model& m = *ex.model;
  *n_tokens = 0;
  const bool cross = ex.encoder && m.cls.data != nullptr;
  const bool decoder = !ex.encoder && is_decoder_reranker(m);
  if (!cross && !decoder)
    return HttpError{400, fmt::format("\"{}\" does not support reranking (it is not a reranker model)", model)};
  if (cross) {
    std::vector<std::vector<int32_t>> seqs;
    std::vector<size_t> second;
    for (const std::string& doc : docs) {
      auto p = frame_rerank_pair(*ex.tokenizer, query, doc, ex.encoder->max_tokens());
      if (!p) return HttpError{400, p.error().message};
      *n_tokens += static_cast<int64_t>(p->ids.size());
      seqs.push_back(std::move(p->ids));
      second.push_back(p->second_from);
    }
    std::lock_guard<std::mutex> lock(ex.embed_mu);
    auto r = ex.encoder->rank(seqs, second);
    if (!r) return HttpError{500, r.error().message};
    return std::move(*r);
  }
  const auto yn = yes_no_tokens(*ex.tokenizer);
  if (!yn) return HttpError{400, fmt::format("\"{}\" has no \"yes\" and \"no\" tokens to score with", model)};
  if (m.hp.n_ctx_train > 0 && n_ctx > m.hp.n_ctx_train) n_ctx = m.hp.n_ctx_train;
  std::vector<float> out;
  std::lock_guard<std::mutex> lock(ex.embed_mu);
  for (const std::string& doc : docs) {
    std::vector<int32_t> ids =
        ex.tokenizer->encode(qwen3_rerank_prompt(query, doc, kQwen3RerankInstruction), false, true);
    if (static_cast<int64_t>(ids.size()) > n_ctx)
      return HttpError{400, fmt::format("a rerank prompt of {} tokens exceeds the context length {}", ids.size(), n_ctx)};
    if (auto e = ensure_embed_context(ex, n_ctx)) return *e;
    auto s = decoder_rerank_score(*ex.embed_ctx, ids, *yn);
    if (!s) return HttpError{500, s.error().message};
    *n_tokens += static_cast<int64_t>(ids.size());
    out.push_back(*s);
  }
  return out;
}

namespace {

ChatRequest to_chat_request(const PromptInput& in, const ModelExtras& ex) {
  ChatRequest cr;
  for (const auto& m : in.messages) {
    ChatMessage cm;
    cm.role = m.role;
    cm.content = m.content;
    cm.thinking = m.thinking;
    cm.tool_name = m.tool_name;
    cm.tool_call_id = m.tool_call_id;
    cm.tool_calls = m.tool_calls;
    cm.images = m.images;
    cr.messages.push_back(std::move(cm));
  }
  cr.tools = in.tools;
  cr.prompt = in.prompt;
  cr.suffix = in.suffix;
  if (in.think.is_boolean()) cr.think = in.think.get<bool>();
  else if (in.think.is_string()) {
    // "true"/"false" are the booleans; other strings are levels (gpt-oss: reasoning_effort).
    const std::string s = in.think.get<std::string>();
    cr.think = s != "false";
    if (s != "true" && s != "false") cr.think_level = s;
  }
  const auto& tk = *ex.tokenizer;
  if (tk.bos_id() >= 0) cr.bos_token = tk.token_text(tk.bos_id());
  if (tk.eos_id() >= 0) cr.eos_token = tk.token_text(tk.eos_id());
  return cr;
}

}  // namespace

Expected<std::string> render_prompt(const ModelRef& ref, const ModelExtras& ex, const PromptInput& in) {
  const std::string* go_template = nullptr;
  if (in.template_override) go_template = &*in.template_override;
  else if (ref.has_template) go_template = &ref.template_text;
  const std::string system = !in.system.empty() ? in.system : ref.system;
  PromptInput with_system = in;
  if (in.messages.empty()) {
    with_system.system = system;
  } else if (!system.empty() && (in.messages.empty() || in.messages.front().role != "system")) {
    api::Message sm;
    sm.role = "system";
    sm.content = system;
    with_system.messages.insert(with_system.messages.begin(), sm);
  }
  ChatRequest cr = to_chat_request(with_system, ex);
  if (in.messages.empty() && !system.empty()) {
    ChatMessage sm;
    sm.role = "system";
    sm.content = system;
    // Ollama's generate path: a system message and the prompt as a user message.
    cr.messages.push_back(sm);
  }
  if (go_template != nullptr) {
    if (in.messages.empty() && !in.prompt.empty()) {
      ChatMessage um;
      um.role = "user";
      um.content = in.prompt;
      cr.messages.push_back(um);
    }
    auto t = parse_ollama_template(*go_template, "template");
    if (!t) return HttpError{400, fmt::format("template error: {}", t.error().message)};
    auto s = render_ollama_template(*t, cr);
    if (!s) return HttpError{500, fmt::format("template error: {}", s.error().message)};
    return *s;
  }
  if (!ex.gguf_chat_template.empty()) {
    if (in.messages.empty() && !in.prompt.empty()) {
      ChatMessage um;
      um.role = "user";
      um.content = in.prompt;
      cr.messages.push_back(um);
    }
    auto t = jinja::Template::parse(ex.gguf_chat_template, "tokenizer.chat_template");
    if (!t) return HttpError{500, fmt::format("chat template error: {}", t.error().message)};
    // transformers' variables: reasoning_content, tool calls with object arguments, tool
    // results' name and tool_call_id, and enable_thinking when `think` is set (Qwen3's
    // think:false renders its empty <think></think> block).
    auto s = t->render(jinja_context(cr, ex.gguf_chat_template));
    if (!s) return HttpError{500, fmt::format("chat template error: {}", s.error().message)};
    // Templates written for transformers start with bos_token, and our tokenizer adds BOS too
    // when the model says so: drop the rendered one rather than feed the model two.
    if (ex.tokenizer->add_bos() && !cr.bos_token.empty() && s->rfind(cr.bos_token, 0) == 0)
      s->erase(0, cr.bos_token.size());
    return *s;
  }
  // No template at all (base models such as stories260K): the text itself.
  std::string out;
  if (in.messages.empty()) {
    if (!system.empty()) out = system + "\n\n";
    return out + in.prompt;
  }
  for (const auto& m : cr.messages) {
    if (!out.empty()) out += "\n";
    out += m.content;
  }
  return out;
}

Expected<std::string> render_chat_fitting(const ModelRef& ref, const ModelExtras& ex, PromptInput in,
                                          int64_t n_ctx) {
  for (;;) {
    auto s = render_prompt(ref, ex, in);
    if (!s.ok()) return s;
    const auto n = static_cast<int64_t>(ex.tokenizer->encode(*s, true, true).size());
    if (n < n_ctx) return s;
    // Drop the oldest message that is neither a system message nor the last one.
    size_t drop = in.messages.size();
    for (size_t i = 0; i + 1 < in.messages.size(); ++i) {
      if (in.messages[i].role != "system") {
        drop = i;
        break;
      }
    }
    if (drop == in.messages.size()) return s;  // nothing left to drop: the runner reports it
    CORRAL_LOG_WARN("{}: prompt of {} tokens exceeds num_ctx {}: dropping an old {} message", ref.name, n,
                    n_ctx, in.messages[drop].role);
    in.messages.erase(in.messages.begin() + static_cast<std::ptrdiff_t>(drop));
  }
}

}  // namespace corral::server
