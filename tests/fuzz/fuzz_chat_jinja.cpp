// libFuzzer target: parse arbitrary bytes as a Jinja chat template and render a fixed
// conversation (with tools and thinking) with it. Must never crash, hang or exhaust memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "chat/chat_template.h"
#include "chat/jinja.h"

namespace {

const nlohmann::ordered_json& fixed_context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Weather in Paris? \u00e9\ud83c\udf89"},
      {"role": "assistant", "content": "", "reasoning_content": "Call the tool.",
       "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "n": 1.5}}}]},
      {"role": "tool", "name": "get_weather", "tool_call_id": "c1", "content": "{\"temp\": 21}"},
      {"role": "user", "content": ""}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "enable_thinking": true
  })");
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  corral::jinja::Options o;
  o.max_steps = 100'000;
  o.max_output_bytes = 1 << 20;
  o.max_call_depth = 50;
  o.fixed_time = 0;
  o.max_work_bytes = size_t{16} << 20;  // a slow input is a finding, not a slow run
  auto t = corral::jinja::Template::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz", o);
  if (!t.ok()) return 0;
  auto out = t->render(fixed_context());
  (void)out;
  return 0;
}
