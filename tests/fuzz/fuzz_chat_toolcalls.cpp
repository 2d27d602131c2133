// libFuzzer target: arbitrary generated text through the thinking and tool-call parsers (every
// syntax: hermes, Qwen XML, Gemma 4's call:NAME{...}, ...; or,
// with bit 64 of the mode byte, the harmony parser of gpt-oss replies), whole
// and in pieces whose sizes come from the input. Must never crash or hang, and the pieces must
// give the same thinking, content and calls as the whole text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chat/output_parser.h"

namespace {

corral::ChatOutputParser::Out run(const corral::ChatOutputOptions& opts, std::string_view text, size_t step) {
  corral::ChatOutputParser p(opts);
  corral::ChatOutputParser::Out all;
  auto take = [&](corral::ChatOutputParser::Out o) {
    all.thinking += o.thinking;
    all.content += o.content;
    for (auto& c : o.calls) all.calls.push_back(std::move(c));
  };
  for (size_t i = 0; i < text.size(); i += step) take(p.push(text.substr(i, step)));
  take(p.finish());
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 16 * 1024) return 0;
  corral::ChatOutputOptions opts;
  const uint8_t mode = data[0];
  // Every syntax (bits 0-2 and 7: nine of them, Qwen XML and Gemma 4 included).
  opts.tool_syntax = static_cast<corral::ToolCallSyntax>(((mode & 7) | ((mode & 128) >> 4)) % corral::kToolCallSyntaxCount);
  if (mode & 8) {
    // Gemma 4's channel tags with its syntax, <think> otherwise.
    opts.thinking = opts.tool_syntax == corral::ToolCallSyntax::kGemma4 ? corral::ThinkingTags{"<|channel>thought", "<channel|>"}
                                                                       : corral::ThinkingTags{};
  }
  opts.thinking_starts_inside = (mode & 16) != 0;
  if (mode & 32) {
    opts.tool_names = {"a", "get_weather"};
    // Schemas that type Qwen XML values (a string, an integer, a list of types).
    opts.tools = nlohmann::ordered_json::parse(
        R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":)"
        R"({"city":{"type":"string"},"days":{"type":"integer"},"x":{"type":["array","null"]}}}}}])");
  }
  opts.harmony = (mode & 64) != 0;
  const size_t step = 1 + data[1] % 13;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  const auto whole = run(opts, text, text.empty() ? 1 : text.size());
  const auto pieces = run(opts, text, step);
  if (whole.thinking != pieces.thinking || whole.content != pieces.content || whole.calls.size() != pieces.calls.size())
    std::abort();
  for (size_t i = 0; i < whole.calls.size(); ++i)
    if (whole.calls[i].name != pieces.calls[i].name || whole.calls[i].arguments != pieces.calls[i].arguments)
      std::abort();
  return 0;
}
