// libFuzzer target: model-name parsing never crashes, and every accepted name round-trips.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "store/model_name.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  auto n = corral::ModelName::parse(s);
  if (!n.ok()) return 0;
  // Invariant: the long form of an accepted name parses to an equal name.
  auto again = corral::ModelName::parse(n->display_long());
  if (!again.ok() || !again->equal_fold(*n)) std::abort();
  auto shortest = corral::ModelName::parse(n->display_shortest());
  if (!shortest.ok() || !shortest->equal_fold(*n)) std::abort();
  return 0;
}
