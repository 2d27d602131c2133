// libFuzzer target: JSON Schema -> GBNF on arbitrary text. Whatever converts must parse as GBNF.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sampling/grammar/json_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  corral::grammar::SchemaLimits lim;
  lim.max_nodes = 500;
  lim.max_count = 50;
  auto gbnf = corral::grammar::json_schema_to_gbnf(text, lim);
  if (!gbnf.ok()) return 0;
  auto g = corral::grammar::parse_gbnf(*gbnf);
  if (!g.ok()) __builtin_trap();  // the converter wrote a grammar its own parser rejects
  return 0;
}
