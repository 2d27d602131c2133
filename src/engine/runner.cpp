// The decode loop: admit queued requests into free slots, build one batch from every active
// slot (one token for generating slots, prompt chunks for the rest), run the forward pass,
// sample, stream text. Each slot's arithmetic is independent of the others in the batch.
#include "engine/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>

#include "base/log.h"
#include "sampling/sampler.h"
#include "sampling/stop_matcher.h"

namespace corral {

namespace {
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

struct Runner::Slot {
  int32_t index = 0;
  bool active = false;
  uint64_t id = 0;
  GenerateRequest request;
  EventFn on_event;
  std::vector<int32_t> cached;   // tokens whose K/V are in this slot, positions 0..n-1
  std::vector<int32_t> tokens;   // prompt + generated so far
  size_t n_prompt = 0;
  size_t n_evaluated = 0;        // tokens of `tokens` already in the cache
  int32_t n_shifts = 0;          // context shifts so far (tokens evaluated again are not prompt)
  int32_t prompt_eval_count = 0;
  int32_t eval_count = 0;
  int64_t t_start = 0, t_prompt_done = 0;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<StopMatcher> stop;
  std::unique_ptr<StreamDecoder> decoder;
};

Result<std::unique_ptr<Runner>> Runner::create(std::shared_ptr<const Model> model,
                                               std::shared_ptr<const Tokenizer> tokenizer,
                                               const RunnerParams& params) {
  if (params.n_parallel <= 0 || params.n_batch <= 0 || params.n_ctx <= 0 || params.n_checkpoints <= 0 ||
      params.checkpoint_interval <= 0)
    return make_error("invalid runner parameters");
  if (tokenizer->n_vocab() != model->hp.n_vocab)
    return make_error("{}: tokenizer has {} tokens but the model has {}", model->file->path(),
                      tokenizer->n_vocab(), model->hp.n_vocab);
  std::unique_ptr<Runner> r(new Runner());
  r->model_ = std::move(model);
  r->tokenizer_ = std::move(tokenizer);
  r->params_ = params;
  ContextParams cp;
  cp.n_ctx = params.n_ctx;
  cp.n_seq = params.n_parallel;
  cp.kv_type = params.kv_type;
  cp.n_checkpoints = params.n_checkpoints;
  auto ctx = Context::create(r->model_, cp);
  if (!ctx) return ctx.error();
  r->ctx_ = std::move(*ctx);
  for (int32_t i = 0; i < params.n_parallel; ++i) {
    auto s = std::make_unique<Slot>();
    s->index = i;
    r->slots_.push_back(std::move(s));
  }
  r->thread_ = std::thread([raw = r.get()] { raw->loop(); });
  return r;
}

Runner::~Runner() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t Runner::n_queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

Result<uint64_t> Runner::submit(GenerateRequest request, EventFn on_event) {
  std::vector<int32_t> tokens = request.prompt_tokens;
  if (tokens.empty()) tokens = tokenizer_->encode(request.prompt, request.add_special, request.parse_special);
  if (tokens.empty() && tokenizer_->bos_id() >= 0) tokens.push_back(tokenizer_->bos_id());
  if (tokens.empty()) return make_error("the prompt is empty and the model has no BOS token");
  for (int32_t t : tokens)
    if (t < 0 || t >= model_->hp.n_vocab)
      return make_error("token id {} is outside the vocabulary (0..{})", t, model_->hp.n_vocab - 1);
  if (static_cast<int64_t>(tokens.size()) >= params_.n_ctx) {
    if (!request.truncate)
      return make_error("the prompt is {} tokens, longer than the context of {} tokens (num_ctx); "
                        "shorten it, raise num_ctx, or allow truncation (\"truncate\": true)",
                        tokens.size(), params_.n_ctx);
    // Keep the first num_keep tokens (BOS, the start of a system prompt) and the newest ones,
    // leaving one position for the answer.
    const size_t fit = static_cast<size_t>(params_.n_ctx - 1);
    const size_t keep = static_cast<size_t>(std::clamp<int64_t>(request.num_keep, 0, static_cast<int64_t>(fit / 2)));
    CORRAL_LOG_WARN("prompt of {} tokens exceeds num_ctx {}: keeping its first {} and last {} tokens", tokens.size(),
                    params_.n_ctx, keep, fit - keep);
    tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(keep),
                 tokens.end() - static_cast<std::ptrdiff_t>(fit - keep));
  }
  if (request.num_predict < 0 && request.shift)
    request.num_predict = static_cast<int32_t>(std::min<int64_t>(10 * params_.n_ctx, INT32_MAX));
  if (request.constraint) {
    // A constrained answer that cannot be complete within the budget is refused up front.
    const int64_t ctx_left = params_.n_ctx - static_cast<int64_t>(tokens.size());
    const int64_t budget = request.num_predict >= 0 ? std::min<int64_t>(request.num_predict, ctx_left) : ctx_left;
    const uint32_t need = request.constraint->min_tokens();
    if (static_cast<int64_t>(need) > budget)
      return make_error("the shortest answer the format or grammar allows takes {} tokens, more than the {} tokens "
                        "this request may generate ({})",
                        need, budget, request.num_predict >= 0 && request.num_predict <= ctx_left
                                          ? "num_predict / max_tokens" : "what is left of the context");
  }
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = next_id_++;
  queue_.push_back(Pending{id, std::move(request), std::move(tokens), std::move(on_event)});
  cv_.notify_all();
  return id;
}

void Runner::cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_.push_back(id);
  cv_.notify_all();
}

Result<GenerateEvent> Runner::generate(GenerateRequest request, const EventFn& on_event) {
  auto done = std::make_shared<std::promise<GenerateEvent>>();
  auto future = done->get_future();
  auto id = submit(std::move(request), [done, on_event](const GenerateEvent& ev) {
    const bool keep = on_event ? on_event(ev) : true;
    if (ev.done) done->set_value(ev);
    return keep;
  });
  if (!id) return id.error();
  return future.get();
}

size_t Runner::next_checkpoint(size_t n) const {
  const auto every = static_cast<size_t>(params_.checkpoint_interval);
  return (n / every + 1) * every;
}

size_t Runner::recurrent_state_bytes() const { return ctx_->recurrent_elements() * sizeof(float); }

size_t Runner::kv_bytes() const { return ctx_->kv_bytes(); }

KvType Runner::kv_type() const { return ctx_->params().kv_type; }

int64_t Runner::clamp_n_ctx(const HParams& hp, int64_t n_ctx) {
  return hp.n_ctx_train > 0 ? std::min(n_ctx, hp.n_ctx_train) : n_ctx;
}

Result<Runner::MemoryEstimate> Runner::estimate_memory(const std::string& gguf_path, const RunnerParams& params) {
  auto file = GgufFile::open(gguf_path);
  if (!file) return file.error();
  auto hp = read_hparams(**file);
  if (!hp) return hp.error();
  MemoryEstimate e;
  e.n_ctx = clamp_n_ctx(*hp, params.n_ctx);
  if (hp->encoder) return e;
  const KvType type = Context::kv_type_for(*hp, params.kv_type);
  e.kv_bytes = kv_bytes_of(type, Context::kv_elements_for(*hp, e.n_ctx, params.n_parallel));
  e.recurrent_state_bytes =
      Context::recurrent_elements_for(*hp, params.n_parallel, params.n_checkpoints) * sizeof(float);
  return e;
}

void Runner::start_slot(Slot& s, Pending&& p) {
  s.active = true;
  s.id = p.id;
  s.request = std::move(p.request);
  s.on_event = std::move(p.on_event);
  s.tokens = std::move(p.tokens);
  s.n_prompt = s.tokens.size();
  // Reuse the longest common prefix already cached; at least the last prompt token is
  // evaluated again so that its logits exist.
  size_t common = 0;
  while (common < s.cached.size() && common < s.tokens.size() && s.cached[common] == s.tokens[common]) ++common;
  if (common >= s.tokens.size()) common = s.tokens.size() - 1;
  // A sliding-window layer may have dropped what a shorter prefix needs; then start over. A
  // recurrent model resumes from the newest checkpoint within the prefix.
  common = static_cast<size_t>(ctx_->reusable_prefix(s.index, static_cast<int64_t>(common)));
  // Continuing a recurrent state where the previous request left it (the end of its answer):
  // keep a checkpoint there first, so that a later prompt sharing the answer but not what this
  // one adds (another reply to the same answer) resumes at the answer's end. Taken only now, when
  // the state is about to move on, it costs no copy and no checkpoint entry until then.
  if (ctx_->recurrent() && common > 0 && static_cast<int64_t>(common) == ctx_->recurrent_position(s.index))
    ctx_->checkpoint(s.index);
  CORRAL_LOG_DEBUG("request {}: slot {}, {} of {} prompt tokens from the prompt cache", s.id, s.index, common,
                   s.tokens.size());
  s.cached.resize(common);
  s.n_evaluated = common;
  s.prompt_eval_count = 0;
  s.eval_count = 0;
  s.n_shifts = 0;
  s.t_start = now_ns();
  s.t_prompt_done = 0;
  s.sampler = std::make_unique<Sampler>(s.request.sampling, static_cast<int32_t>(model_->hp.n_vocab));
  for (int32_t t : s.tokens) s.sampler->accept(t);
  s.stop = std::make_unique<StopMatcher>(s.request.stop);
  s.decoder = std::make_unique<StreamDecoder>(*tokenizer_);
  n_active_++;
}

void Runner::shift_context(Slot& s) {
  // As llama.cpp's context shift with --keep: the first num_keep tokens stay, half of the rest
  // (the oldest) go. Instead of rotating the cached keys to their new positions, the tokens
  // after num_keep are evaluated again (one prompt-like chunk): slower by one pass over half a
  // context, but the result is exactly that of a fresh context holding the kept tokens, and
  // windowed layers need no special case.
  const size_t n = s.tokens.size();
  const size_t keep = static_cast<size_t>(std::clamp<int64_t>(s.request.num_keep, 0, static_cast<int64_t>(n / 2)));
  const size_t discard = (n - keep) / 2;
  s.tokens.erase(s.tokens.begin() + static_cast<std::ptrdiff_t>(keep),
                 s.tokens.begin() + static_cast<std::ptrdiff_t>(keep + discard));
  s.n_evaluated = static_cast<size_t>(ctx_->reusable_prefix(s.index, static_cast<int64_t>(keep)));
  s.n_shifts++;
  CORRAL_LOG_INFO("request {} reached the context limit of {} tokens: kept the first {}, dropped the next {}",
                  s.id, params_.n_ctx, keep, discard);
}

void Runner::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty() || n_active_.load() > 0; });
      if (stop_) break;
      // Admit queued requests into free slots, preferring the slot with the longest cached
      // prefix of the request (prompt caching across turns of a conversation).
      while (!queue_.empty()) {
        Pending& p = queue_.front();
        Slot* best = nullptr;
        size_t best_common = 0;
        for (auto& s : slots_) {
          if (s->active) continue;
          size_t c = 0;
          while (c < s->cached.size() && c < p.tokens.size() && s->cached[c] == p.tokens[c]) ++c;
          if (best == nullptr || c > best_common) {
            best = s.get();
            best_common = c;
          }
        }
        if (best == nullptr) break;
        Pending taken = std::move(p);
        queue_.pop_front();
        start_slot(*best, std::move(taken));
      }
    }
    step();
  }
  // Shutting down: finish everything still running or queued as cancelled.
  GenerateEvent ev;
  ev.done = true;
  ev.done_reason = "cancel";
  for (auto& s : slots_)
    if (s->active && s->on_event) s->on_event(ev);
  for (auto& p : queue_)
    if (p.on_event) p.on_event(ev);
}

void Runner::pause_before_step() {
  if (params_.step_delay_ms <= 0) return;
  using std::chrono::steady_clock;
  std::unique_lock<std::mutex> lock(mu_);
  int64_t until = now_ns() + int64_t{params_.step_delay_ms} * 1000000;
  for (const auto& s : slots_)
    if (s->active && s->request.deadline_ns > 0) until = std::min(until, s->request.deadline_ns);
  for (const auto& p : queue_)
    if (p.request.deadline_ns > 0) until = std::min(until, p.request.deadline_ns);
  cv_.wait_until(lock, steady_clock::time_point(std::chrono::nanoseconds(until)),
                 [&] { return stop_ || !cancelled_.empty(); });
}

void Runner::take_expired_queued(int64_t now, std::vector<Pending>& expired) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->request.deadline_ns > 0 && now >= it->request.deadline_ns) {
      expired.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

bool Runner::step() {
  pause_before_step();
  std::vector<uint64_t> cancelled;
  std::vector<Pending> expired;
  const int64_t step_start = now_ns();
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled.swap(cancelled_);
    take_expired_queued(step_start, expired);
  }
  for (auto& p : expired) {  // never got a slot in time
    CORRAL_LOG_INFO("request {} passed its deadline while queued", p.id);
    GenerateEvent ev;
    ev.done = true;
    ev.done_reason = "deadline";
    ev.prompt_tokens = static_cast<int32_t>(p.tokens.size());
    if (p.on_event) p.on_event(ev);
  }
  auto finish = [&](Slot& s, const std::string& reason, const std::string& error) {
    GenerateEvent ev;
    if (reason == "stop" || reason == "length" || reason == "deadline") {
      // Text held back (partial UTF-8, a possible stop-string prefix) is released at the end.
      auto tail = s.stop->push(s.decoder->flush());
      ev.text = tail.emit + (tail.stopped ? std::string() : s.stop->flush());
    }
    ev.done = true;
    ev.done_reason = reason;
    ev.error = error;
    ev.prompt_tokens = static_cast<int32_t>(s.n_prompt);
    ev.prompt_eval_count = s.prompt_eval_count;
    ev.eval_count = s.eval_count;
    const int64_t end = now_ns();
    const int64_t prompt_done = s.t_prompt_done ? s.t_prompt_done : end;
    ev.prompt_eval_ns = prompt_done - s.t_start;
    ev.eval_ns = end - prompt_done;
    ev.context = s.tokens;
    // Keep only what is really in the cache for prefix reuse by the next request.
    s.cached.assign(s.tokens.begin(), s.tokens.begin() + static_cast<std::ptrdiff_t>(s.n_evaluated));
    s.active = false;
    n_active_--;
    EventFn on_event = std::move(s.on_event);
    s.on_event = nullptr;
    if (on_event) on_event(ev);
  };

  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (s.active && std::find(cancelled.begin(), cancelled.end(), s.id) != cancelled.end())
      finish(s, "cancel", "");
    else if (s.active && s.request.deadline_ns > 0 && step_start >= s.request.deadline_ns)
      finish(s, "deadline", "");  // returns what it has; the slot is free for the next request
  }
  if (!cancelled.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (std::find(cancelled.begin(), cancelled.end(), it->id) != cancelled.end()) {
        GenerateEvent ev;
        ev.done = true;
        ev.done_reason = "cancel";
        if (it->on_event) it->on_event(ev);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Build the batch: generating slots first (one token each), then prompt chunks.
  Batch batch;
  std::vector<std::pair<Slot*, size_t>> logit_rows;  // slot, row in the logits output
  size_t budget = static_cast<size_t>(params_.n_batch);
  size_t n_logit_rows = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& sp : slots_) {
      Slot& s = *sp;
      if (!s.active || budget == 0) continue;
      const bool in_prompt = s.n_shifts == 0 && s.n_evaluated < s.n_prompt;
      if ((pass == 0) == in_prompt) continue;
      const size_t remaining = s.tokens.size() - s.n_evaluated;
      size_t take = std::min(remaining, budget);
      // A recurrent model's state cannot be rewound: the prompt stops before its last token and
      // at each multiple of checkpoint_interval, where the context keeps a checkpoint (below)
      // that a prompt sharing that prefix resumes from.
      if (in_prompt && ctx_->recurrent()) {
        const size_t ckpt = std::min(s.n_prompt - 1, next_checkpoint(s.n_evaluated));
        if (s.n_evaluated < ckpt) take = std::min(take, ckpt - s.n_evaluated);
      }
      for (size_t i = 0; i < take; ++i) {
        const size_t idx = s.n_evaluated + i;
        const bool last = idx + 1 == s.tokens.size();
        batch.add(s.tokens[idx], static_cast<int32_t>(idx), s.index, last);
        if (last) logit_rows.emplace_back(&s, n_logit_rows++);
      }
      budget -= take;
    }
  }
  if (batch.size() == 0) return false;

  auto out = ctx_->forward(batch);
  if (!out) {
    for (auto& sp : slots_)
      if (sp->active) finish(*sp, "error", out.error().message);
    return true;
  }
  // Advance evaluation counters.
  for (size_t i = 0; i < batch.size(); ++i) {
    Slot& s = *slots_[static_cast<size_t>(batch.seq[i])];
    if (s.n_shifts == 0 && s.n_evaluated < s.n_prompt) s.prompt_eval_count++;
    s.n_evaluated++;
    // Before the prompt's last token, and at each multiple of the interval, in the prompt and in
    // the answer alike (a next turn that re-renders the answer's end differently resumes inside it).
    const bool at_checkpoint = s.n_evaluated + 1 == s.n_prompt ||
                               s.n_evaluated % static_cast<size_t>(params_.checkpoint_interval) == 0;
    if (ctx_->recurrent() && s.n_shifts == 0 && at_checkpoint &&
        (i + 1 == batch.size() || batch.seq[i + 1] != batch.seq[i]))
      ctx_->checkpoint(s.index);
  }
  const int32_t n_vocab = static_cast<int32_t>(model_->hp.n_vocab);
  std::vector<float> logits(static_cast<size_t>(n_vocab));
  for (auto& [sp, row] : logit_rows) {
    Slot& s = *sp;
    if (s.t_prompt_done == 0) s.t_prompt_done = now_ns();
    std::copy_n(out->data() + row * static_cast<size_t>(n_vocab), n_vocab, logits.data());
    GenerateEvent ev;
    if (s.request.logprobs) {
      // Log-probabilities of the model's own distribution (before sampling transforms).
      double mx = logits[0];
      for (float v : logits) mx = std::max(mx, static_cast<double>(v));
      double sum = 0;
      for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
      const double lse = mx + std::log(sum);
      TokenLogprob lp;
      if (s.request.top_logprobs > 0) {
        std::vector<int32_t> ids(static_cast<size_t>(n_vocab));
        for (int32_t i = 0; i < n_vocab; ++i) ids[static_cast<size_t>(i)] = i;
        const size_t k = std::min(static_cast<size_t>(s.request.top_logprobs), ids.size());
        std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                          [&](int32_t a, int32_t b) { return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] || (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b); });
        for (size_t i = 0; i < k; ++i)
          lp.top.emplace_back(ids[i], static_cast<float>(logits[static_cast<size_t>(ids[i])] - lse));
      }
      ev.logprobs.push_back(std::move(lp));
      ev.logprobs.back().logprob = static_cast<float>(lse);  // temporarily the lse; fixed below
    }
    if (s.request.constraint) {
      // Tokens that may still be generated, this one included: the answer must close within them.
      int64_t left = params_.n_ctx - static_cast<int64_t>(s.tokens.size());
      if (s.request.num_predict >= 0) left = std::min<int64_t>(left, s.request.num_predict - s.eval_count);
      s.request.constraint->set_tokens_left(static_cast<int32_t>(std::clamp<int64_t>(left, 0, INT32_MAX)));
      s.request.constraint->mask(logits.data(), n_vocab);
    }
    const int32_t tok = s.sampler->sample(logits.data());
    s.sampler->accept(tok);
    if (s.request.constraint) s.request.constraint->accept(tok);
    if (!ev.logprobs.empty()) {
      TokenLogprob& lp = ev.logprobs.back();
      const double lse = lp.logprob;
      lp.token = tok;
      lp.text = tokenizer_->token_to_piece(tok);
      lp.logprob = static_cast<float>(out->data()[row * static_cast<size_t>(n_vocab) + static_cast<size_t>(tok)] - lse);
    }
    // An answer the token budget closed early is reported as cut by the budget.
    const bool budget_closed = s.request.constraint && s.request.constraint->budget_forced();
    if (tokenizer_->is_eog(tok)) {
      finish(s, budget_closed ? "length" : "stop", "");
      continue;
    }
    s.tokens.push_back(tok);
    s.eval_count++;
    auto piece = s.stop->push(s.decoder->push(tok));
    ev.text = std::move(piece.emit);
    ev.prompt_tokens = static_cast<int32_t>(s.n_prompt);  // known from the first token on (Anthropic's message_start)
    bool keep = true;
    if (!ev.text.empty() || !ev.logprobs.empty()) keep = s.on_event(ev);
    if (!keep) {
      finish(s, "cancel", "");
    } else if (piece.stopped) {
      finish(s, "stop", "");
    } else if (s.request.constraint && s.request.constraint->done()) {
      finish(s, budget_closed ? "length" : "stop", "");
    } else if (s.request.num_predict >= 0 && s.eval_count >= s.request.num_predict) {
      finish(s, "length", "");
    } else if (static_cast<int64_t>(s.tokens.size()) >= params_.n_ctx) {
      if (s.request.shift) {
        shift_context(s);
      } else {
        CORRAL_LOG_INFO("request {} reached the context limit of {} tokens", s.id, params_.n_ctx);
        finish(s, "length", "");
      }
    }
  }
  return true;
}

}  // namespace corral
