// Deadlines, fallbacks and circuit breakers around acquire + start for the generating routes.
#include "server/dispatch.h"

#include <httplib.h>

#include <cmath>
#include <cstdlib>

#include "base/log.h"

namespace corral::server {

namespace {

Status read_deadline(const api::Json& obj, const char* where, std::optional<int64_t>* out) {
  auto it = obj.find("deadline_ms");
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_number_integer() && !(it->is_number_float() && std::floor(it->get<double>()) == it->get<double>()))
    return make_error("{}deadline_ms must be a positive integer (milliseconds)", where);
  const double v = it->get<double>();
  if (v <= 0 || v > 1e12) return make_error("{}deadline_ms must be a positive integer (milliseconds)", where);
  *out = static_cast<int64_t>(v);
  return {};
}

Status read_fallback(const api::Json& obj, const char* where, std::optional<std::vector<std::string>>* out) {
  auto it = obj.find("fallback");
  if (it == obj.end() || it->is_null()) return {};
  std::vector<std::string> names;
  if (it->is_string()) {
    names.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const auto& n : *it) {
      if (!n.is_string() || n.get<std::string>().empty())
        return make_error("{}fallback must be an array of model names", where);
      names.push_back(n.get<std::string>());
    }
  } else {
    return make_error("{}fallback must be an array of model names", where);
  }
  if (names.size() > 16) return make_error("{}fallback names at most 16 models", where);
  *out = std::move(names);
  return {};
}

std::string ms_text(int64_t ns) { return fmt::format("{}", ns / 1000000); }

}  // namespace

Expected<RequestPolicy> request_policy(const api::Json& body, const std::string& header, bool openai,
                                       int64_t default_ms) {
  RequestPolicy p;
  std::optional<int64_t> body_ms;
  if (body.is_object()) {
    if (auto o = body.find("options"); o != body.end() && o->is_object()) {
      if (auto s = read_deadline(*o, "options.", &body_ms); !s.ok()) return HttpError{400, s.error().message};
      if (auto s = read_fallback(*o, "options.", &p.fallback); !s.ok()) return HttpError{400, s.error().message};
    }
    if (openai) {
      if (auto s = read_deadline(body, "", &body_ms); !s.ok()) return HttpError{400, s.error().message};
      if (auto s = read_fallback(body, "", &p.fallback); !s.ok()) return HttpError{400, s.error().message};
    }
  }
  std::optional<int64_t> header_ms;
  if (!header.empty()) {
    char* end = nullptr;
    const double secs = std::strtod(header.c_str(), &end);
    if (end == header.c_str() || *end != '\0' || !std::isfinite(secs) || secs <= 0 || secs > 1e9)
      return HttpError{400, fmt::format("{} must be a positive number of seconds, not \"{}\"", kDeadlineHeader, header)};
    header_ms = std::max<int64_t>(1, static_cast<int64_t>(secs * 1000.0));
  }
  if (body_ms && header_ms) p.deadline_ms = std::min(*body_ms, *header_ms);
  else if (body_ms) p.deadline_ms = *body_ms;
  else if (header_ms) p.deadline_ms = *header_ms;
  else p.deadline_ms = default_ms;
  return p;
}

Expected<Dispatched> dispatch(ServerState& st, DispatchInput in, const BuildRequestFn& build,
                              httplib::Response& res) {
  Resilience& rs = st.host.resilience();
  const int64_t deadline = in.policy.deadline_ms > 0 ? in.start_ns + in.policy.deadline_ms * 1000000 : 0;
  if (in.model_allowed && !in.model_allowed(in.primary.name))
    return HttpError{403, fmt::format("this API key may not use model {}", in.primary.name)};
  std::vector<std::string> names;  // fallbacks after the primary, without repeats
  for (const auto& n : in.policy.fallback ? *in.policy.fallback : in.primary.fallbacks)
    if (n != in.primary.name && std::find(names.begin(), names.end(), n) == names.end() &&
        (!in.model_allowed || in.model_allowed(n)))
      names.push_back(n);
  const size_t n_candidates = 1 + names.size();

  HttpError last{500, "no model could answer"};
  std::string left_behind;  // X-Corral-Fallbacks
  std::optional<ModelRef> cand;
  for (size_t i = 0; i < n_candidates; ++i) {
    const bool has_next = i + 1 < n_candidates;
    if (i == 0) {
      cand = std::move(in.primary);
    } else {
      auto r = st.host.resolve(names[i - 1]);
      if (!r.ok()) {
        CORRAL_LOG_WARN("fallback {} skipped: {}", names[i - 1], r.error.message);
        last = r.error;
        if (has_next) rs.count_fallback(names[i - 1], kReasonNotFound);
        continue;
      }
      cand = std::move(*r.value);
    }
    const ModelRef& ref = *cand;
    // Leaves this model for the next one: the reason is counted only when there is a next one.
    auto give_way = [&](const char* reason, HttpError err) {
      if (has_next) {
        CORRAL_LOG_WARN("{}: {} ({}); falling back to {}", ref.name, reason, err.message, names[i]);
        rs.count_fallback(ref.name, reason);
        if (!left_behind.empty()) left_behind += ", ";
        left_behind += ref.name + ":" + reason;
      }
      last = std::move(err);
    };
    if (!rs.breakers.allow(ref.name)) {
      give_way(kReasonUnhealthy, {503, fmt::format("model {} is unhealthy (circuit breaker open), try again later", ref.name)});
      continue;
    }
    const int64_t now = mono_ns();
    if (deadline > 0 && now >= deadline) {
      rs.breakers.record_neutral(ref.name);
      rs.count_deadline("before_first_token");
      return HttpError{504, fmt::format("deadline exceeded: the request could not start within {} ms",
                                        in.policy.deadline_ms)};
    }
    // The time this model has for its first token: the remaining time shared evenly among the
    // models still to try, so that a stalled primary leaves time for its fallbacks.
    int64_t first_deadline = deadline;
    if (deadline > 0 && has_next) first_deadline = now + (deadline - now) / static_cast<int64_t>(n_candidates - i);

    api::Options opts = ref.params;
    opts.merge(in.options);
    std::optional<std::chrono::steady_clock::time_point> acquire_by;
    if (first_deadline > 0) acquire_by = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(first_deadline));
    auto lease = st.host.acquire(ref, opts, in.keep_alive, acquire_by, in.client_connected);
    if (!lease.ok()) {
      switch (lease.error.status) {
        case 503:
          rs.breakers.record_neutral(ref.name);
          give_way(kReasonOverloaded, lease.error);
          continue;
        case 504:  // waited for room to load it: the model did nothing wrong
          rs.breakers.record_neutral(ref.name);
          give_way(kReasonDeadline, lease.error);
          if (!has_next) rs.count_deadline("before_first_token");
          continue;
        case 500:
          rs.breakers.record_failure(ref.name);
          give_way(kReasonLoadFailed, lease.error);
          continue;
        default:
          rs.breakers.record_neutral(ref.name);
          return lease.error;
      }
    }
    if (rs.faults.take_generation_failure(ref.name)) {
      lease->release();
      rs.breakers.record_failure(ref.name);
      give_way(kReasonError, {500, fmt::format("test fault: generation failure injected for {}", ref.name)});
      continue;
    }
    auto tokenizer = ModelHost::extras(*lease).tokenizer;
    auto er = build(ref, opts, *lease);
    if (!er.ok()) {
      rs.breakers.record_neutral(ref.name);
      return er.error;
    }
    er->deadline_ns = deadline;
    auto gen = start_generation(std::move(*lease), std::move(*er.value), in.start_ns, &st.metrics, &rs, &st.lifecycle);
    if (!gen.ok()) {
      rs.breakers.record_neutral(ref.name);
      return gen.error;
    }
    GenerateEvent first;
    const bool arrived = (*gen)->wait_first(first_deadline, &first, in.client_connected);
    const bool no_output = !arrived || (first.done && first.done_reason == "deadline" && first.text.empty());
    if (no_output) {
      (*gen)->cancel();
      gen.value.reset();  // waits for the runner to let go of the slot
      // Neutral for the breaker: a model busy with other requests is slow, not broken.
      rs.breakers.record_neutral(ref.name);
      HttpError err{504, fmt::format("deadline exceeded: model {} gave no output within {} ms", ref.name,
                                     ms_text(first_deadline - now))};
      if (!has_next) {
        rs.count_deadline("before_first_token");
        err.message = fmt::format("deadline exceeded: no output within the request's deadline of {} ms",
                                  in.policy.deadline_ms);
      }
      give_way(kReasonDeadline, std::move(err));
      continue;
    }
    if (first.done && first.done_reason == "error") {
      gen.value.reset();
      rs.breakers.record_failure(ref.name);
      give_way(kReasonError, {500, first.error});
      continue;
    }
    if (first.done && first.done_reason == "cancel") {
      rs.breakers.record_neutral(ref.name);
      return HttpError{499, "request canceled"};
    }
    rs.breakers.record_success(ref.name);
    res.set_header(kModelHeader, ref.name);
    if (!left_behind.empty()) res.set_header(kFallbacksHeader, left_behind);
    Dispatched d;
    d.gen = std::move(*gen.value);
    d.ref = ref;
    d.options = std::move(opts);
    d.tokenizer = std::move(tokenizer);
    d.client_connected = in.client_connected;
    return d;
  }
  return last;
}

}  // namespace corral::server
