// Generation lifecycle between the decode thread and an HTTP thread, plus metrics rendering.
#include "server/generation.h"

#include <chrono>

#include <fmt/format.h>

namespace corral::server {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

GenerateRequest engine_request(const api::Options& o) {
  GenerateRequest r;
  SamplingParams& s = r.sampling;
  s.repeat_penalty = 1.0f;  // Ollama's current default (api/types.go DefaultOptions)
  if (o.temperature) s.temperature = static_cast<float>(*o.temperature);
  if (o.top_k) s.top_k = static_cast<int32_t>(std::clamp<int64_t>(*o.top_k, -1, INT32_MAX));
  if (o.top_p) s.top_p = static_cast<float>(*o.top_p);
  if (o.min_p) s.min_p = static_cast<float>(*o.min_p);
  if (o.typical_p) s.typical_p = static_cast<float>(*o.typical_p);
  if (o.repeat_penalty) s.repeat_penalty = static_cast<float>(*o.repeat_penalty);
  if (o.repeat_last_n) s.repeat_last_n = static_cast<int32_t>(std::clamp<int64_t>(*o.repeat_last_n, -1, INT32_MAX));
  if (o.presence_penalty) s.presence_penalty = static_cast<float>(*o.presence_penalty);
  if (o.frequency_penalty) s.frequency_penalty = static_cast<float>(*o.frequency_penalty);
  if (o.seed && *o.seed >= 0) {
    s.seed = static_cast<uint64_t>(*o.seed);
    s.has_seed = true;
  }
  if (o.num_predict) r.num_predict = static_cast<int32_t>(std::clamp<int64_t>(*o.num_predict, -2, INT32_MAX));
  if (r.num_predict < -1) r.num_predict = -1;  // -2 (fill the context) behaves like -1 here
  if (o.stop) r.stop = *o.stop;
  if (o.num_keep) r.num_keep = static_cast<int32_t>(std::clamp<int64_t>(*o.num_keep, 0, INT32_MAX));
  return r;
}

Expected<std::shared_ptr<Generation>> start_generation(Scheduler::Lease lease, GenerateRequest req,
                                                       int64_t start_ns, Metrics* metrics,
                                                       Resilience* resilience, Lifecycle* lifecycle) {
  std::shared_ptr<Generation> g(new Generation());
  g->resilience_ = resilience;
  g->start_ns_ = start_ns;
  g->load_ns_ = lease.load_duration().count();
  g->metrics_ = metrics;
  Runner* runner = lease.runner();
  if (runner == nullptr) {  // an embedding-only model (the routes say so first, by name)
    g->runner_done_ = true;
    g->reader_done_ = true;
    return HttpError{400, "this model is embedding-only and does not support generate"};
  }
  g->lease_ = std::move(lease);
  // The callback holds a raw pointer: the Generation's destructor waits for the final event,
  // so the callback never outlives what it touches.
  Generation* raw = g.get();
  auto id = runner->submit(std::move(req), [raw](const GenerateEvent& event) {
    std::lock_guard<std::mutex> lock(raw->mu_);
    GenerateEvent ev = event;
    if (ev.done && ev.done_reason == "cancel" && raw->shutdown_.load()) ev.done_reason = "shutdown";
    if (!ev.text.empty() && !raw->first_text_) {
      raw->first_text_ = true;
      if (raw->metrics_ != nullptr)
        raw->metrics_->observe_ttft(static_cast<double>(mono_ns() - raw->start_ns_) / 1e9);
    }
    if (ev.done) {
      raw->runner_done_ = true;
      if (raw->metrics_ != nullptr) raw->metrics_->add_tokens(ev.prompt_tokens, ev.eval_count);
      if (raw->resilience_ != nullptr && ev.done_reason == "deadline" && raw->first_text_)
        raw->resilience_->count_deadline("generating");
    }
    raw->events_.push_back(std::move(ev));
    raw->cv_.notify_all();
    return !raw->cancelled_.load();
  });
  if (!id) {
    g->runner_done_ = true;
    g->reader_done_ = true;
    return HttpError{400, id.error().message};
  }
  g->id_ = *id;
  if (lifecycle != nullptr) {
    g->lifecycle_ = lifecycle;
    lifecycle->add(raw);
  }
  return g;
}

bool Generation::next(GenerateEvent* ev) { return next(ev, nullptr); }

bool Generation::next(GenerateEvent* ev, const std::function<bool()>& client_connected) {
  std::unique_lock<std::mutex> lock(mu_);
  if (reader_done_) return false;
  // The client is asked on a clock, not only when no token came for a while: tokens may arrive
  // faster than the interval for the whole answer.
  constexpr auto kInterval = std::chrono::milliseconds(50);
  for (;;) {
    if (client_connected && !cancelled_.load()) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_client_check_) {
        next_client_check_ = now + kInterval;
        lock.unlock();
        const bool connected = client_connected();
        if (!connected) cancel();
        lock.lock();
        continue;
      }
    }
    if (!events_.empty()) break;
    if (!client_connected || cancelled_.load()) {
      cv_.wait(lock, [&] { return !events_.empty(); });  // nobody to ask, or the final event follows
    } else {
      cv_.wait_until(lock, next_client_check_, [&] { return !events_.empty(); });
    }
  }
  *ev = std::move(events_.front());
  events_.pop_front();
  if (ev->done) reader_done_ = true;
  return true;
}

CollectedGeneration collect_generation(Generation& gen, const std::function<bool()>& client_connected) {
  CollectedGeneration out;
  GenerateEvent ev;
  while (gen.next(&ev, client_connected)) {
    out.text += ev.text;
    out.logprobs.insert(out.logprobs.end(), ev.logprobs.begin(), ev.logprobs.end());
    if (ev.done) out.last = ev;
  }
  return out;
}

bool Generation::wait_first(int64_t deadline_ns, GenerateEvent* first,
                            const std::function<bool()>& client_connected) {
  std::unique_lock<std::mutex> lock(mu_);
  auto ready = [&] { return !events_.empty() || reader_done_; };
  const auto until = std::chrono::steady_clock::time_point{std::chrono::nanoseconds(deadline_ns)};
  for (;;) {
    // Wake every 50 ms to ask after the client; without one, sleep until the event or deadline.
    auto wake = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    if (!client_connected || cancelled_.load()) wake = std::chrono::steady_clock::time_point::max();
    if (deadline_ns > 0 && until < wake) wake = until;
    if (wake == std::chrono::steady_clock::time_point::max()) {
      cv_.wait(lock, ready);
    } else if (!cv_.wait_until(lock, wake, ready)) {
      if (deadline_ns > 0 && std::chrono::steady_clock::now() >= until) return false;
      if (client_connected && !cancelled_.load()) {
        lock.unlock();
        if (!client_connected()) cancel();
        lock.lock();
      }
      continue;
    }
    break;
  }
  if (events_.empty()) return false;
  *first = events_.front();
  return true;
}

void Generation::cancel() {
  if (cancelled_.exchange(true)) return;
  if (Runner* r = lease_ ? lease_.runner() : nullptr) r->cancel(id_);
}

void Generation::shutdown() {
  shutdown_.store(true);
  cancel();
}

Generation::~Generation() {
  if (lifecycle_ != nullptr) lifecycle_->remove(this);
  std::unique_lock<std::mutex> lock(mu_);
  if (!runner_done_) {
    lock.unlock();
    cancel();
    lock.lock();
    cv_.wait(lock, [&] { return runner_done_; });
  }
  // lease_ is released after this body: the runner is done with our callback by now.
}

api::OJson logprobs_json(const Tokenizer& tk, const std::vector<TokenLogprob>& lps) {
  auto bytes_of = [](const std::string& s) {
    api::OJson b = api::OJson::array();
    for (unsigned char c : s) b.push_back(static_cast<int>(c));
    return b;
  };
  api::OJson out = api::OJson::array();
  for (const auto& lp : lps) {
    api::OJson e;
    e["token"] = lp.text;
    e["logprob"] = lp.logprob;
    e["bytes"] = bytes_of(lp.text);
    api::OJson top = api::OJson::array();
    for (const auto& [id, p] : lp.top) {
      const std::string piece = tk.token_to_piece(id);
      api::OJson t;
      t["token"] = piece;
      t["logprob"] = p;
      t["bytes"] = bytes_of(piece);
      top.push_back(std::move(t));
    }
    e["top_logprobs"] = std::move(top);
    out.push_back(std::move(e));
  }
  return out;
}

void Metrics::count_request(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  requests_[{route, status}]++;
}

void Metrics::add_tokens(int64_t prompt, int64_t generated) {
  prompt_tokens_ += prompt;
  generated_tokens_ += generated;
}

void Metrics::observe_ttft(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < kTtftBuckets.size(); ++i)
    if (seconds <= kTtftBuckets[i]) ttft_counts_[i]++;
  ttft_count_++;
  ttft_sum_ += seconds;
}

std::string Metrics::render(const Scheduler& sched) const {
  std::string o;
  o += "# HELP corral_requests_total HTTP requests by route and status.\n";
  o += "# TYPE corral_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, n] : requests_)
      o += fmt::format("corral_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", k.first, k.second, n);
    o += "# HELP corral_time_to_first_token_seconds Time from request to first generated text.\n";
    o += "# TYPE corral_time_to_first_token_seconds histogram\n";
    for (size_t i = 0; i < kTtftBuckets.size(); ++i)
      o += fmt::format("corral_time_to_first_token_seconds_bucket{{le=\"{}\"}} {}\n", kTtftBuckets[i],
                       ttft_counts_[i]);
    o += fmt::format("corral_time_to_first_token_seconds_bucket{{le=\"+Inf\"}} {}\n", ttft_count_);
    o += fmt::format("corral_time_to_first_token_seconds_sum {}\n", ttft_sum_);
    o += fmt::format("corral_time_to_first_token_seconds_count {}\n", ttft_count_);
  }
  o += "# HELP corral_prompt_tokens_total Prompt tokens of finished requests.\n";
  o += "# TYPE corral_prompt_tokens_total counter\n";
  o += fmt::format("corral_prompt_tokens_total {}\n", prompt_tokens_.load());
  o += "# HELP corral_generated_tokens_total Generated tokens of finished requests.\n";
  o += "# TYPE corral_generated_tokens_total counter\n";
  o += fmt::format("corral_generated_tokens_total {}\n", generated_tokens_.load());
  o += "# HELP corral_queue_depth Requests waiting for a model or a slot.\n";
  o += "# TYPE corral_queue_depth gauge\n";
  o += fmt::format("corral_queue_depth {}\n", sched.queue_depth());
  o += "# HELP corral_model_loaded Loaded model instances (1 loaded, 0 loading) and their users.\n";
  o += "# TYPE corral_model_loaded gauge\n";
  auto models = sched.loaded();
  for (const auto& m : models)
    o += fmt::format("corral_model_loaded{{model=\"{}\",num_ctx=\"{}\"}} {}\n", m.name, m.n_ctx, m.loading ? 0 : 1);
  o += "# TYPE corral_model_active_requests gauge\n";
  for (const auto& m : models)
    o += fmt::format("corral_model_active_requests{{model=\"{}\",num_ctx=\"{}\"}} {}\n", m.name, m.n_ctx, m.n_active);
  o += fmt::format("# TYPE corral_models_loaded gauge\ncorral_models_loaded {}\n", models.size());
  return o;
}

}  // namespace corral::server
