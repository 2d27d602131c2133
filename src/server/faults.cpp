// CORRAL_TEST_FAULTS parsing and the per-model fault counters.
#include "server/faults.h"

#include <cstdlib>

#include "base/log.h"

namespace corral::server {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_count(std::string_view s, int32_t* out) {
  if (s.empty() || s.size() > 9) return false;
  int32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

std::string base_name(const std::string& model) {
  return model.ends_with(":latest") ? model.substr(0, model.size() - 7) : model;
}

}  // namespace

Faults::Table Faults::from_env() {
  const char* v = std::getenv("CORRAL_TEST_FAULTS");
  if (v == nullptr || *v == '\0') return {};
  const char* on = std::getenv("CORRAL_ENABLE_TEST_HOOKS");
  if (on == nullptr || std::string_view(on) != "1") {
    CORRAL_LOG_WARN("ignoring CORRAL_TEST_FAULTS: test hooks are off (CORRAL_ENABLE_TEST_HOOKS=1 turns them on)");
    return {};
  }
  auto f = parse(v);
  if (!f) {
    CORRAL_LOG_WARN("ignoring CORRAL_TEST_FAULTS: {}", f.error().message);
    return {};
  }
  CORRAL_LOG_WARN("test hooks on: injecting faults {}", v);
  return std::move(*f);
}

Result<Faults::Table> Faults::parse(std::string_view text) {
  Table out;
  while (!text.empty()) {
    const size_t semi = text.find(';');
    std::string_view entry = trim(text.substr(0, semi));
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
    if (entry.empty()) continue;
    const size_t colon = entry.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return make_error("\"{}\": expected model:fault[,fault...]", entry);
    const std::string model = base_name(std::string(trim(entry.substr(0, colon))));
    ModelFaults mf;
    std::string_view list = entry.substr(colon + 1);
    while (!list.empty()) {
      const size_t comma = list.find(',');
      std::string_view item = trim(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      const size_t eq = item.find('=');
      const std::string_view key = item.substr(0, eq);
      int32_t n = 0;
      const bool has_n = eq != std::string_view::npos && parse_count(item.substr(eq + 1), &n);
      if (key == "load_fail" && eq == std::string_view::npos) mf.load_fail = true;
      else if (key == "fail_loads" && has_n) mf.fail_loads = n;
      else if (key == "stall_ms" && has_n) mf.stall_ms = n;
      else if (key == "fail_after" && has_n) mf.fail_after = n;
      else return make_error("unknown fault \"{}\" for {}", item, model);
    }
    out[model] = mf;
  }
  return out;
}

const ModelFaults* Faults::find(const std::string& model) const {
  auto it = by_model_.find(base_name(model));
  return it == by_model_.end() ? nullptr : &it->second;
}

int32_t Faults::stall_ms(const std::string& model) const {
  std::lock_guard<std::mutex> lock(mu_);
  const ModelFaults* f = find(model);
  return f != nullptr ? f->stall_ms : 0;
}

bool Faults::take_load_failure(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  const ModelFaults* f = find(model);
  if (f == nullptr) return false;
  const int32_t n = loads_[base_name(model)]++;
  return f->load_fail || n < f->fail_loads;
}

bool Faults::take_generation_failure(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  const ModelFaults* f = find(model);
  if (f == nullptr || f->fail_after < 0) return false;
  return generations_[base_name(model)]++ >= f->fail_after;
}

}  // namespace corral::server
