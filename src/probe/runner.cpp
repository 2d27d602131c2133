// Runs the probe experiments over HTTP. Queueing delay: with the server's own durations (Ollama),
// queue_ms = client TTFT - (load + prompt eval) on the server's clock, the time the request spent
// before the server worked on it plus transport; without them (OpenAI API) it is the TTFT above the
// fastest warm sequential TTFT.
#include "probe/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include "api/http_client.h"
#include "api/types.h"

namespace corral::probe {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string base_url(const ProbeConfig& cfg) {
  std::string h = cfg.host;
  if (h.find("://") == std::string::npos) h = "http://" + h;
  while (!h.empty() && h.back() == '/') h.pop_back();
  return h;
}

std::string error_from_body(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    if (e.is_string()) return e.get<std::string>();
    if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"];
  }
  return body.substr(0, 200);
}

double ns_field_ms(const json& j, const char* key) {
  if (j.contains(key) && j[key].is_number()) return j[key].get<double>() / 1e6;
  return std::nan("");
}

}  // namespace

bool ProbeResult::thresholds_passed() const {
  return std::all_of(thresholds.begin(), thresholds.end(), [](const ThresholdVerdict& v) { return v.passed; });
}

Status preflight(const ProbeConfig& cfg) {
  api::HttpClientOptions o;
  o.total_timeout_s = 30;
  const std::string base = base_url(cfg);
  if (cfg.api == ApiKind::kOllama) {
    auto r = api::http_post_json(base + "/api/show", json{{"model", cfg.model}}.dump(), o);
    if (!r) return make_error("{} (is the server running? start one with `corral serve`)", r.error().message);
    if (r->status == 404) {
      return make_error("model '{}' not found on {} ({})", cfg.model, base, error_from_body(r->body));
    }
    if (r->status >= 400) return make_error("{}: /api/show answered HTTP {}: {}", base, r->status, error_from_body(r->body));
    return {};
  }
  auto r = api::http_get(base + "/v1/models", o);
  if (!r) return make_error("{} (is the server running?)", r.error().message);
  if (r->status >= 400) return make_error("{}: /v1/models answered HTTP {}: {}", base, r->status, error_from_body(r->body));
  auto j = json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("data") || !j["data"].is_array()) {
    return make_error("{}: /v1/models did not return a model list", base);
  }
  for (const auto& m : j["data"]) {
    if (m.is_object() && m.value("id", std::string()) == cfg.model) return {};
  }
  // Some servers list only part of what they serve; ask for the model itself before giving up.
  auto one = api::http_get(base + "/v1/models/" + cfg.model, o);
  if (one && one->status == 200) return {};
  return make_error("model '{}' not found on {} (not in /v1/models)", cfg.model, base);
}

Call call_model(const ProbeConfig& cfg, const std::string& model, const std::string& prompt,
                const CallOptions& opts) {
  Call c;
  c.prompt = prompt;
  c.ttft_ms = c.queue_ms = std::nan("");
  c.srv_total_ms = c.srv_load_ms = c.srv_prompt_ms = c.srv_eval_ms = c.prompt_tokens = std::nan("");
  const bool ollama = cfg.api == ApiKind::kOllama;
  json req = {{"model", model},
              {"messages", json::array({json{{"role", "user"}, {"content", prompt}}})},
              {"stream", true}};
  if (ollama) {
    json o = {{"num_predict", opts.num_predict}};
    if (opts.temperature) o["temperature"] = *opts.temperature;
    if (opts.seed) o["seed"] = *opts.seed;
    req["options"] = o;
    if (!opts.format.is_null()) req["format"] = opts.format;
  } else {
    req["max_tokens"] = opts.num_predict;
    req["stream_options"] = {{"include_usage", true}};
    if (opts.temperature) req["temperature"] = *opts.temperature;
    if (opts.seed) req["seed"] = *opts.seed;
    if (!opts.format.is_null()) {
      req["response_format"] = {{"type", "json_schema"},
                                {"json_schema", {{"name", "answer"}, {"schema", opts.format}, {"strict", true}}}};
    }
  }
  const std::string url = base_url(cfg) + (ollama ? "/api/chat" : "/v1/chat/completions");
  double chunks = 0, counted_tokens = std::nan("");
  std::string stream_error;
  const auto t0 = Clock::now();
  auto on_line = [&](std::string_view line) -> bool {
    std::string_view payload = ollama ? line : api::sse_data(line);
    if (payload.empty() || payload == "[DONE]") return true;
    auto j = json::parse(payload.begin(), payload.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      stream_error = "malformed stream line: " + std::string(payload.substr(0, 120));
      return false;
    }
    if (j.contains("error")) {
      stream_error = "server error mid-stream: " + error_from_body(j.dump());
      return false;
    }
    std::string piece;
    if (ollama) {
      if (j.contains("message") && j["message"].is_object() && j["message"].contains("content") &&
          j["message"]["content"].is_string()) {
        piece = j["message"]["content"];
      }
      if (j.value("done", false)) {
        c.srv_total_ms = ns_field_ms(j, "total_duration");
        c.srv_load_ms = ns_field_ms(j, "load_duration");
        c.srv_prompt_ms = ns_field_ms(j, "prompt_eval_duration");
        c.srv_eval_ms = ns_field_ms(j, "eval_duration");
        if (j.contains("eval_count") && j["eval_count"].is_number()) counted_tokens = j["eval_count"];
        if (j.contains("prompt_eval_count") && j["prompt_eval_count"].is_number()) c.prompt_tokens = j["prompt_eval_count"];
      }
    } else {
      if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
        const json& ch = j["choices"][0];
        if (ch.contains("delta") && ch["delta"].is_object() && ch["delta"].contains("content") &&
            ch["delta"]["content"].is_string()) {
          piece = ch["delta"]["content"];
        }
      }
      if (j.contains("usage") && j["usage"].is_object()) {
        const json& u = j["usage"];
        if (u.contains("completion_tokens") && u["completion_tokens"].is_number()) counted_tokens = u["completion_tokens"];
        if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number()) c.prompt_tokens = u["prompt_tokens"];
      }
    }
    if (!piece.empty()) {
      if (std::isnan(c.ttft_ms)) c.ttft_ms = ms_since(t0);
      c.text += piece;
      chunks += 1;
    }
    return true;
  };
  api::HttpClientOptions ho;
  ho.total_timeout_s = cfg.request_timeout_s;
  auto r = api::http_post_stream(url, req.dump(), on_line, ho);
  c.total_ms = ms_since(t0);
  if (!r) {
    c.error = r.error().message;
    return c;
  }
  c.http_status = r->status;
  if (r->status >= 400) {
    c.error = fmt::format("HTTP {}: {}", r->status, error_from_body(r->body));
    return c;
  }
  if (!stream_error.empty()) {
    c.error = stream_error;
    return c;
  }
  c.ok = true;
  if (std::isnan(c.ttft_ms)) c.ttft_ms = c.total_ms;
  c.tokens = std::isnan(counted_tokens) ? chunks : counted_tokens;
  const double gen_ms = c.total_ms - c.ttft_ms;
  // The first token arrives at TTFT; the rest are generated in the remaining time. Under 5 ms the
  // tokens came in one burst (buffered) and a rate would be noise.
  c.tokens_per_s = (c.tokens > 1 && gen_ms >= 5) ? (c.tokens - 1) / (gen_ms / 1000.0) : std::nan("");
  if (!std::isnan(c.srv_prompt_ms)) {
    const double load = std::isnan(c.srv_load_ms) ? 0.0 : c.srv_load_ms;
    c.queue_ms = std::max(0.0, c.ttft_ms - load - c.srv_prompt_ms);
  }
  return c;
}

namespace {

struct Runner {
  const ProbeConfig& cfg;
  const ProgressFn& progress;
  ProbeResult& res;
  Clock::time_point t0;
  int consecutive_failures = 0;

  bool stopped() const { return res.partial; }

  // Records a finished call; decides whether the run must stop.
  void account(Call& c, const char* what) {
    if (c.ok) {
      consecutive_failures = 0;
      if (progress) progress(fmt::format("  {} ok: ttft {:.0f} ms, total {:.0f} ms, {} tokens", what, c.ttft_ms, c.total_ms, c.tokens));
      return;
    }
    ++consecutive_failures;
    if (progress) progress(fmt::format("  {} FAILED: {}", what, c.error));
    const bool unreachable = c.http_status == 0 && c.error.find("cannot reach") != std::string::npos;
    if (unreachable || consecutive_failures >= cfg.max_consecutive_failures) {
      res.partial = true;
      res.stop_reason = unreachable ? "server went away: " + c.error
                                    : fmt::format("{} failed requests in a row, last: {}", consecutive_failures, c.error);
    }
  }

  Call one(const std::string& prompt, const CallOptions& o, const char* what) {
    const double start = ms_since(t0);
    Call c = call_model(cfg, cfg.model, prompt, o);
    c.start_ms = start;
    account(c, what);
    return c;
  }

  static CallOptions opts_of(const Experiment& x) {
    CallOptions o;
    o.num_predict = x.num_predict;
    o.temperature = x.temperature;
    return o;
  }

  void latency(const Experiment& x) {
    res.latency.ran = true;
    const int runs = x.runs.value_or(cfg.runs);
    const int conc = x.concurrency.value_or(cfg.concurrency);
    const CallOptions o = opts_of(x);
    if (progress) progress(fmt::format("latency: {} sequential calls, then {} concurrent", runs, conc > 1 ? conc : 0));
    for (int i = 0; i < runs && !stopped(); ++i) {
      res.latency.sequential.push_back(one(x.prompts[static_cast<size_t>(i) % x.prompts.size()], o, i == 0 ? "cold" : "warm"));
    }
    if (conc > 1 && !stopped()) {
      std::vector<Call> batch(static_cast<size_t>(conc));
      std::vector<std::thread> threads;
      for (size_t i = 0; i < batch.size(); ++i) {
        threads.emplace_back([&, i] {
          const double start = ms_since(t0);
          batch[i] = call_model(cfg, cfg.model, x.prompts[0], o);
          batch[i].start_ms = start;
          batch[i].concurrent = true;
        });
      }
      for (auto& t : threads) t.join();
      for (auto& c : batch) account(c, "concurrent");
      res.latency.concurrent = std::move(batch);
    }
    // Without server durations: queueing is TTFT above the fastest warm sequential TTFT.
    double base = std::nan("");
    for (size_t i = 1; i < res.latency.sequential.size(); ++i) {
      const Call& c = res.latency.sequential[i];
      if (c.ok && (std::isnan(base) || c.ttft_ms < base)) base = c.ttft_ms;
    }
    for (auto* v : {&res.latency.sequential, &res.latency.concurrent}) {
      for (Call& c : *v) {
        if (c.ok && std::isnan(c.queue_ms) && !std::isnan(base)) c.queue_ms = std::max(0.0, c.ttft_ms - base);
      }
    }
  }

  void variation(const Experiment& x) {
    auto& v = res.variation;
    v.ran = true;
    v.prompt = x.prompts[0];
    v.seed = x.seed;
    const int runs = x.runs.value_or(cfg.runs);
    if (progress) progress(fmt::format("variation: {} calls without a seed, {} with seed {}", runs, runs, x.seed));
    CallOptions o = opts_of(x);
    for (int i = 0; i < runs && !stopped(); ++i) v.free_runs.push_back(one(v.prompt, o, "free"));
    o.seed = x.seed;
    for (int i = 0; i < runs && !stopped(); ++i) v.seeded_runs.push_back(one(v.prompt, o, "seeded"));
    const size_t n = v.free_runs.size();
    v.distance.assign(n, std::vector<size_t>(n, 0));
    for (size_t a = 0; a < n; ++a) {
      for (size_t b = a + 1; b < n; ++b) {
        v.distance[a][b] = v.distance[b][a] = edit_distance(v.free_runs[a].text, v.free_runs[b].text);
      }
    }
  }

  void structure(const Experiment& x) {
    auto& s = res.structure;
    s.ran = true;
    s.prompt = x.prompts[0];
    s.fields = x.fields;
    const int runs = x.runs.value_or(cfg.runs);
    if (progress) progress(fmt::format("structure: {} calls without a constraint, {} with a JSON schema", runs, runs));
    CallOptions o = opts_of(x);
    for (int i = 0; i < runs && !stopped(); ++i) {
      s.free_runs.push_back(one(s.prompt, o, "free"));
      s.free_verdicts.push_back(check_json_answer(s.free_runs.back().text, s.fields));
    }
    o.format = x.schema;
    for (int i = 0; i < runs && !stopped(); ++i) {
      s.constrained_runs.push_back(one(s.prompt, o, "schema"));
      s.constrained_verdicts.push_back(check_json_answer(s.constrained_runs.back().text, s.fields));
    }
  }

  VaguenessVerdict judge(const std::string& prompt, const std::string& answer, std::string* judged_by) {
    static const char* kRubric =
        "You grade how an assistant handled a request that lacks the context needed to answer it.\n"
        "Request: \"{}\"\nAnswer: \"{}\"\n"
        "Verdicts: asks_clarification (it asks for the missing information), states_assumptions "
        "(it answers but says what it assumes), invents_context (it answers as if it knew details it "
        "was never given). Reply with JSON {{\"verdict\": ..., \"reason\": ...}}.";
    CallOptions o;
    o.num_predict = 200;
    o.temperature = 0.0;
    o.format = json{{"type", "object"},
                    {"properties",
                     {{"verdict", {{"type", "string"}, {"enum", {"asks_clarification", "states_assumptions", "invents_context"}}}},
                      {"reason", {{"type", "string"}}}}},
                    {"required", {"verdict", "reason"}}};
    Call c = call_model(cfg, cfg.judge, fmt::format(fmt::runtime(kRubric), prompt, answer), o);
    std::string why;
    if (c.ok) {
      auto j = json::parse(c.text, nullptr, false);
      Vagueness v;
      if (!j.is_discarded() && j.is_object() && j.contains("verdict") && j["verdict"].is_string() &&
          parse_vagueness(j["verdict"].get<std::string>(), &v)) {
        *judged_by = cfg.judge;
        VaguenessVerdict out;
        out.verdict = v;
        out.reason = j.contains("reason") && j["reason"].is_string() ? j["reason"].get<std::string>() : "";
        return out;
      }
      why = "unusable verdict: " + c.text.substr(0, 80);
    } else {
      why = c.error;
    }
    *judged_by = "heuristics (judge failed: " + why + ")";
    return classify_vague_answer(answer);
  }

  void vagueness(const Experiment& x) {
    res.vagueness.ran = true;
    const int runs = x.runs.value_or(1);
    if (progress) progress(fmt::format("vagueness: {} prompts x {}, judged by {}", x.prompts.size(), runs,
                                       cfg.judge.empty() ? "heuristics" : cfg.judge));
    const CallOptions o = opts_of(x);
    for (const auto& p : x.prompts) {
      for (int i = 0; i < runs && !stopped(); ++i) {
        VagueAnswer a;
        a.call = one(p, o, "vague");
        if (!a.call.ok) continue;
        if (cfg.judge.empty()) {
          a.verdict = classify_vague_answer(a.call.text);
          a.judged_by = "heuristics";
        } else {
          a.verdict = judge(p, a.call.text, &a.judged_by);
        }
        res.vagueness.answers.push_back(std::move(a));
      }
    }
  }
};

void put_summary(std::map<std::string, double>& m, const std::string& name, const std::vector<double>& v) {
  if (v.empty()) return;
  const Summary s = summarize(v);
  m["min_" + name] = s.min;
  m["median_" + name] = s.median;
  m["mean_" + name] = s.mean;
  m["p90_" + name] = s.p90;
  m["p95_" + name] = s.p95;
  m["p99_" + name] = s.p99;
  m["max_" + name] = s.max;
  m["spread_" + name] = s.spread();
  m["stddev_" + name] = s.stddev;
}

template <class F>
std::vector<double> collect(const std::vector<Call>& calls, F f, size_t from = 0) {
  std::vector<double> out;
  for (size_t i = from; i < calls.size(); ++i) {
    if (calls[i].ok && !std::isnan(f(calls[i]))) out.push_back(f(calls[i]));
  }
  return out;
}

double frac(size_t k, size_t n) { return n ? static_cast<double>(k) / static_cast<double>(n) : std::nan(""); }

}  // namespace

std::map<std::string, double> compute_metrics(const ProbeResult& r) {
  std::map<std::string, double> m;
  size_t requests = 0, failed = 0;
  auto count = [&](const std::vector<Call>& v) {
    for (const Call& c : v) {
      ++requests;
      if (!c.ok) ++failed;
    }
  };
  const auto& L = r.latency;
  if (L.ran) {
    count(L.sequential);
    count(L.concurrent);
    put_summary(m, "total_ms", collect(L.sequential, [](const Call& c) { return c.total_ms; }));
    put_summary(m, "ttft_ms", collect(L.sequential, [](const Call& c) { return c.ttft_ms; }));
    auto tps = collect(L.sequential, [](const Call& c) { return c.tokens_per_s; });
    if (!tps.empty()) m["median_tokens_per_s"] = percentile(tps, 50);
    auto q = collect(L.sequential, [](const Call& c) { return c.queue_ms; });
    if (!q.empty()) m["median_queue_ms"] = percentile(q, 50);
    auto srv = collect(L.sequential, [](const Call& c) { return c.srv_total_ms; });
    if (!srv.empty()) m["median_server_total_ms"] = percentile(srv, 50);
    if (!L.sequential.empty() && L.sequential[0].ok) {
      m["cold_total_ms"] = L.sequential[0].total_ms;
      m["cold_ttft_ms"] = L.sequential[0].ttft_ms;
    }
    auto warm = collect(L.sequential, [](const Call& c) { return c.total_ms; }, 1);
    if (!warm.empty()) m["warm_median_total_ms"] = percentile(warm, 50);
    auto warm_ttft = collect(L.sequential, [](const Call& c) { return c.ttft_ms; }, 1);
    if (!warm_ttft.empty()) m["warm_median_ttft_ms"] = percentile(warm_ttft, 50);
    auto ct = collect(L.concurrent, [](const Call& c) { return c.total_ms; });
    if (!ct.empty()) {
      m["concurrent_median_total_ms"] = percentile(ct, 50);
      m["concurrent_max_total_ms"] = percentile(ct, 100);
    }
    auto cq = collect(L.concurrent, [](const Call& c) { return c.queue_ms; });
    if (!cq.empty()) {
      m["concurrent_median_queue_ms"] = percentile(cq, 50);
      m["concurrent_max_queue_ms"] = percentile(cq, 100);
    }
  }
  const auto& V = r.variation;
  if (V.ran) {
    count(V.free_runs);
    count(V.seeded_runs);
    std::set<std::string> distinct, seeded;
    for (const Call& c : V.free_runs) if (c.ok) distinct.insert(c.text);
    size_t seeded_ok = 0;
    for (const Call& c : V.seeded_runs) {
      if (c.ok) {
        seeded.insert(c.text);
        ++seeded_ok;
      }
    }
    m["distinct_outputs"] = static_cast<double>(distinct.size());
    m["seeded_distinct_outputs"] = static_cast<double>(seeded.size());
    if (seeded_ok > 0) m["seeded_identical"] = seeded.size() == 1 ? 1.0 : 0.0;
    double sum = 0;
    size_t pairs = 0;
    for (size_t a = 0; a < V.free_runs.size(); ++a) {
      for (size_t b = a + 1; b < V.free_runs.size(); ++b) {
        if (!V.free_runs[a].ok || !V.free_runs[b].ok) continue;
        sum += static_cast<double>(V.distance[a][b]);
        ++pairs;
      }
    }
    if (pairs) m["mean_edit_distance"] = sum / static_cast<double>(pairs);
  }
  const auto& S = r.structure;
  if (S.ran) {
    count(S.free_runs);
    count(S.constrained_runs);
    auto rates = [&](const std::vector<Call>& calls, const std::vector<JsonVerdict>& vs, const std::string& pre) {
      size_t n = 0, parse = 0, exact = 0, prose = 0, valid = 0;
      for (size_t i = 0; i < calls.size(); ++i) {
        if (!calls[i].ok) continue;
        ++n;
        parse += vs[i].parses;
        exact += vs[i].exact_fields;
        prose += vs[i].prose;
        valid += vs[i].valid();
      }
      if (!n) return;
      m[pre + "parse_rate"] = frac(parse, n);
      m[pre + "exact_fields_rate"] = frac(exact, n);
      m[pre + "prose_rate"] = frac(prose, n);
      m[pre + "valid_rate"] = frac(valid, n);
    };
    rates(S.free_runs, S.free_verdicts, "free_");
    rates(S.constrained_runs, S.constrained_verdicts, "schema_");
    if (m.count("schema_valid_rate")) m["schema_valid"] = m["schema_valid_rate"];
  }
  const auto& G = r.vagueness;
  if (G.ran) {
    size_t k[3] = {0, 0, 0};
    for (const auto& a : G.answers) {
      ++requests;
      ++k[static_cast<int>(a.verdict.verdict)];
    }
    const size_t n = G.answers.size();
    if (n) {
      m["asks_clarification_rate"] = frac(k[0], n);
      m["states_assumptions_rate"] = frac(k[1], n);
      m["invents_context_rate"] = frac(k[2], n);
    }
  }
  m["requests"] = static_cast<double>(requests);
  m["failed_requests"] = static_cast<double>(failed);
  m["error_rate"] = frac(failed, requests);
  m["partial"] = r.partial ? 1.0 : 0.0;
  return m;
}

ProbeResult run_probe(const ProbeConfig& cfg, const Suite& suite, const ProgressFn& progress) {
  ProbeResult res;
  res.config = cfg;
  res.suite_name = suite.name;
  res.started_at = api::rfc3339_nano(api::unix_now_ns());
  Runner run{cfg, progress, res, Clock::now()};
  for (const auto& x : suite.experiments) {
    if (run.stopped()) break;
    switch (x.kind) {
      case ExperimentKind::kLatency: run.latency(x); break;
      case ExperimentKind::kVariation: run.variation(x); break;
      case ExperimentKind::kStructure: run.structure(x); break;
      case ExperimentKind::kVagueness: run.vagueness(x); break;
    }
  }
  res.metrics = compute_metrics(res);
  for (const auto& t : suite.thresholds) res.thresholds.push_back(evaluate_threshold(t, res.metrics));
  return res;
}

}  // namespace corral::probe
