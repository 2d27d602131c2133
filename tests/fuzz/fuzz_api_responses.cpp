// libFuzzer target: the OpenAI Responses request translator (/v1/responses) on arbitrary bodies,
// with and without a prior conversation. A translated request must have messages.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/responses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto j = corral::api::OJson::parse(body, nullptr, false);
  if (j.is_discarded()) return 0;
  static const auto kHistory = corral::api::OJson::parse(
      R"([{"role":"user","content":"q"},{"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":{}}}]}])");
  for (const auto* history : {&kHistory, static_cast<const corral::api::OJson*>(nullptr)}) {
    auto r = corral::api::responses_to_chat(j, history ? *history : corral::api::OJson::array());
    if (r.ok() && (!r->chat["messages"].is_array() || r->chat["messages"].empty() || !r->conversation.is_array())) std::abort();
  }
  return 0;
}
