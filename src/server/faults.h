// Test hook: make a model fail or stall on purpose, so that deadlines, fallbacks and the
// circuit breaker can be tested end to end. Honoured only when CORRAL_ENABLE_TEST_HOOKS=1;
// never set it in production.
//
//   CORRAL_TEST_FAULTS="primary:load_fail;slow:stall_ms=300;flaky:fail_loads=3,fail_after=2"
//
// Entries are separated by ';', each "model:fault[,fault...]"; a model name matches with or
// without ":latest". Faults:
//   load_fail      every load of the model fails
//   fail_loads=N   the first N loads fail, later ones succeed (a model that recovers)
//   stall_ms=N     every decode step of the model pauses N ms (a stalled model)
//   fail_after=N   the first N generations start normally, every later one fails
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"

namespace corral::server {

struct ModelFaults {
  bool load_fail = false;
  int32_t fail_loads = 0;
  int32_t stall_ms = 0;
  int32_t fail_after = -1;  // -1: never
};

class Faults {
 public:
  using Table = std::map<std::string, ModelFaults>;  // by model name without ":latest"
  explicit Faults(Table table = {}) : by_model_(std::move(table)) {}
  // The faults from the environment; none (and a warning) when the hooks are not enabled.
  static Table from_env();
  static Result<Table> parse(std::string_view text);

  bool empty() const { return by_model_.empty(); }
  size_t size() const { return by_model_.size(); }
  int32_t stall_ms(const std::string& model) const;
  // Counts a load attempt; true when this load must fail.
  bool take_load_failure(const std::string& model);
  // Counts a generation start; true when this generation must fail.
  bool take_generation_failure(const std::string& model);

 private:
  const ModelFaults* find(const std::string& model) const;  // mu_ held
  mutable std::mutex mu_;
  Table by_model_;
  std::map<std::string, int32_t> loads_, generations_;
};

}  // namespace corral::server
