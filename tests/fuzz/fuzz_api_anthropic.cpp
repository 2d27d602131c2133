// libFuzzer target: the Anthropic Messages request translator (/v1/messages and count_tokens)
// on arbitrary bodies. A translated request must be an object with messages.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/anthropic.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto j = corral::api::OJson::parse(body, nullptr, false);
  if (j.is_discarded()) return 0;
  for (bool count : {false, true}) {
    auto r = corral::api::anthropic_to_chat(j, count);
    if (r.ok() && (!r->is_object() || !(*r)["messages"].is_array() || (*r)["messages"].empty())) std::abort();
  }
  return 0;
}
