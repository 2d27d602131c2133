// libFuzzer target: parse arbitrary bytes as an Ollama Go template and render a fixed chat with
// it. Must never crash, hang or exhaust memory (limits keep each input fast).
#include <cstddef>
#include <cstdint>
#include <string>

#include "chat/chat_template.h"
#include "chat/ollama_template.h"

namespace {

const corral::ChatRequest& fixed_request() {
  static const corral::ChatRequest req = [] {
    corral::ChatRequest r;
    corral::ChatMessage sys, user, asst, tool;
    sys.role = "system";
    sys.content = "Be brief.";
    user.role = "user";
    user.content = "What is the weather in Paris?";
    asst.role = "assistant";
    asst.thinking = "Call the tool.";
    asst.tool_calls = nlohmann::ordered_json::parse(R"([{"function":{"name":"get_weather","arguments":{"city":"Paris","days":[1,2]}}}])");
    tool.role = "tool";
    tool.tool_name = "get_weather";
    tool.content = "{\"temp\": 21}";
    r.messages = {sys, user, asst, tool};
    r.tools = nlohmann::ordered_json::parse(R"([{"type":"function","function":{"name":"get_weather","description":"d",
      "parameters":{"type":"object","required":["city"],"properties":{"city":{"type":"string","enum":["a","b"]}}}}}])");
    r.think = true;
    return r;
  }();
  return req;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  corral::gotmpl::Limits limits;
  limits.max_steps = 100'000;
  limits.max_output_bytes = 1 << 20;
  limits.max_call_depth = 50;
  auto t = corral::parse_ollama_template(std::string(reinterpret_cast<const char*>(data), size), "fuzz", limits);
  if (!t.ok()) return 0;
  auto out = corral::render_ollama_template(*t, fixed_request());
  (void)out;
  return 0;
}
