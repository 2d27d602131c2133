// chat_output: tools/tool_choice parsing, think from OpenAI bodies, plan_output's choices
// (thinking on/off, constraints, 400s) and the tool-call and logprobs JSON shapes.
#include "server/chat_output.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/loaded_model.h"

namespace corral::server {
namespace {

using api::Json;
using api::OJson;

const char* kStories = CORRAL_SHARED_DIR "/models/stories260K.gguf";
const char* kTools = R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
  "properties":{"city":{"type":"string"}},"required":["city"]}}}])";

std::string body_with(const std::string& extra) {
  return std::string(R"({"model":"m","messages":[],"tools":)") + kTools + extra + "}";
}

TEST(ChatOutput, ToolChoiceParsing) {
  auto a = tool_request_from_body(body_with(""), true);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->choice, ToolChoice::kAuto);
  EXPECT_EQ(a->tools.size(), 1u);
  auto named = tool_request_from_body(body_with(R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}})"), true);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->choice, ToolChoice::kNamed);
  EXPECT_EQ(named->name, "get_weather");
  EXPECT_EQ(tool_request_from_body(body_with(R"(,"tool_choice":"none")"), true)->choice, ToolChoice::kNone);
  EXPECT_EQ(tool_request_from_body(body_with(R"(,"tool_choice":"required")"), true)->choice, ToolChoice::kRequired);
  auto unknown = tool_request_from_body(body_with(R"(,"tool_choice":{"type":"function","function":{"name":"x"}})"), true);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error.status, 400);
  EXPECT_NE(unknown.error.message.find("\"x\""), std::string::npos);
  EXPECT_FALSE(tool_request_from_body(body_with(R"(,"tool_choice":"often")"), true).ok());
  EXPECT_FALSE(tool_request_from_body(body_with(R"(,"tool_choice":"required","parallel_tool_calls":false)"), true)->parallel);
  EXPECT_FALSE(tool_request_from_body(body_with(R"(,"parallel_tool_calls":"no")"), true).ok());
  EXPECT_FALSE(tool_request_from_body(R"({"tool_choice":"required"})", true).ok());
  EXPECT_FALSE(tool_request_from_body(R"({"tools":{"a":1}})", false).ok());
  EXPECT_FALSE(tool_request_from_body(R"({"tools":[{"type":"function"}]})", false).ok());
}

TEST(ChatOutput, ThinkFromOpenAIBodies) {
  EXPECT_TRUE(openai_think(Json::parse(R"({})")).is_null());
  EXPECT_EQ(openai_think(Json::parse(R"({"reasoning_effort":"none"})")), Json(false));
  EXPECT_EQ(openai_think(Json::parse(R"({"reasoning_effort":"high"})")), Json("high"));
  EXPECT_EQ(openai_think(Json::parse(R"({"reasoning":{"effort":"low"}})")), Json("low"));
  EXPECT_EQ(openai_think(Json::parse(R"({"think":true,"reasoning_effort":"none"})")), Json(true));
}

TEST(ChatOutput, PlanFollowsTheTemplateAndTheRequest) {
  auto m = load_model(kStories);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ModelRef ref;
  ref.name = "m";
  ModelExtras ex;
  ex.tokenizer = m->tokenizer;
  const std::string qwen = "{% if enable_thinking is defined %}<think>{% endif %}<tool_call>{{ tools }}";
  const std::string plain = "{% for m in messages %}{{ m.content }}{% endfor %}";
  ToolRequest none;
  GenerateRequest er;
  // Thinking by default on a thinking template, off with think false, refused without one.
  auto p = plan_output(ref, ex, qwen, "<|im_start|>assistant\n", Json(), none, "{}", false, &er);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->thinking);
  EXPECT_FALSE(p->parse.thinking_starts_inside);
  EXPECT_EQ(er.constraint, nullptr);
  p = plan_output(ref, ex, qwen, "x<think>\n", Json(), none, "{}", false, &er);
  EXPECT_TRUE(p->parse.thinking_starts_inside);
  p = plan_output(ref, ex, qwen, "x", Json(false), none, "{}", false, &er);
  EXPECT_FALSE(p->thinking);
  // A prompt that closed its thinking block itself (Gemma 4's template without think) is not split.
  p = plan_output(ref, ex, qwen, "x<think>\n\n</think>\n\n", Json(), none, "{}", false, &er);
  EXPECT_FALSE(p->thinking);
  const std::string gemma4 = "{{ enable_thinking }}<|channel>thought\n<channel|><|tool_call>{{ tools }}";
  p = plan_output(ref, ex, gemma4, "<|turn>model\n<|channel>thought\n<channel|>", Json(), none, "{}", false, &er);
  EXPECT_FALSE(p->thinking);
  p = plan_output(ref, ex, gemma4, "<|turn>model\n", Json(true), none, "{}", false, &er);
  ASSERT_TRUE(p->thinking);
  EXPECT_EQ(p->parse.thinking->open, "<|channel>thought");
  p = plan_output(ref, ex, qwen, "x", Json("false"), none, "{}", false, &er);  // Ollama's string form
  EXPECT_FALSE(p->thinking);
  p = plan_output(ref, ex, qwen, "x", Json(), none, "{}", true, &er);
  EXPECT_FALSE(p->thinking);  // raw: only when asked
  auto refused = plan_output(ref, ex, plain, "x", Json(true), none, "{}", false, &er);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error.status, 400);
  EXPECT_NE(refused.error.message.find("does not support thinking"), std::string::npos);
  // Tools: the template's syntax, a grammar for required, 400s for conflicts and bad schemas.
  auto tr = tool_request_from_body(body_with(R"(,"tool_choice":"required")"), true);
  ASSERT_TRUE(tr.ok());
  p = plan_output(ref, ex, qwen, "x", Json(false), *tr, "{}", false, &er);
  ASSERT_TRUE(p.ok()) << p.error.message;
  EXPECT_EQ(p->parse.tool_syntax, ToolCallSyntax::kHermes);
  EXPECT_EQ(p->parse.tool_names, std::vector<std::string>{"get_weather"});
  EXPECT_EQ(p->parse.tools, tr->tools);  // they type Qwen XML values
  EXPECT_NE(er.constraint, nullptr);
  p = plan_output(ref, ex, gemma4, "x", Json(false), *tr, "{}", false, &er);
  ASSERT_TRUE(p.ok()) << p.error.message;
  EXPECT_EQ(p->parse.tool_syntax, ToolCallSyntax::kGemma4);
  EXPECT_NE(er.constraint, nullptr);
  auto both = plan_output(ref, ex, qwen, "x", Json(false), *tr, R"({"format":"json"})", false, &er);
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.error.status, 400);
  auto bad = tool_request_from_body(R"({"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"number","multipleOf":2}}}],"tool_choice":"required"})", true);
  ASSERT_TRUE(bad.ok());
  auto refused_schema = plan_output(ref, ex, qwen, "x", Json(false), *bad, "{}", false, &er);
  ASSERT_FALSE(refused_schema.ok());
  EXPECT_NE(refused_schema.error.message.find("multipleOf"), std::string::npos);
  // With thinking on, a format holds only after </think>: before it every token but the end is
  // allowed; with think false it holds from the first token.
  const int32_t n_vocab = ex.tokenizer->n_vocab();
  auto n_allowed = [&](TokenConstraint& c) {
    std::vector<float> logits(static_cast<size_t>(n_vocab), 0.0f);
    c.mask(logits.data(), n_vocab);
    return std::count_if(logits.begin(), logits.end(), [](float v) { return !std::isinf(v); });
  };
  p = plan_output(ref, ex, qwen, "x", Json(), none, R"({"format":"json"})", false, &er);
  ASSERT_TRUE(p.ok() && er.constraint);
  EXPECT_EQ(n_allowed(*er.constraint), n_vocab - static_cast<int32_t>(ex.tokenizer->eog_ids().size()));
  p = plan_output(ref, ex, qwen, "x", Json(false), none, R"({"format":"json"})", false, &er);
  ASSERT_TRUE(p.ok() && er.constraint);
  EXPECT_LT(n_allowed(*er.constraint), 20);
  // A grammar that writes the thinking block itself applies from the first token.
  p = plan_output(ref, ex, qwen, "x", Json(true), none, R"({"grammar":"root ::= \"<think>\" [a-z]+ \"</think>ok\""})", false, &er);
  ASSERT_TRUE(p.ok() && er.constraint);
  EXPECT_LT(n_allowed(*er.constraint), 20);
  // tool_choice auto (hermes): free text, end allowed, until "<tool_call>"; then the call's syntax.
  auto autoc = tool_request_from_body(body_with(""), true);
  p = plan_output(ref, ex, qwen, "x", Json(false), *autoc, "{}", false, &er);
  ASSERT_TRUE(p.ok() && er.constraint);
  EXPECT_EQ(n_allowed(*er.constraint), n_vocab);
  for (int32_t t : ex.tokenizer->encode("Let me look <tool_call>", false, false)) er.constraint->accept(t);
  EXPECT_LT(n_allowed(*er.constraint), 5);  // only "\n" and tokens starting with it
  EXPECT_FALSE(er.constraint->done());
  // tool_choice none: nothing parsed, nothing constrained.
  ToolRequest off = *tr;
  off.choice = ToolChoice::kNone;
  er.constraint.reset();
  p = plan_output(ref, ex, qwen, "x", Json(false), off, "{}", false, &er);
  EXPECT_EQ(p->parse.tool_syntax, ToolCallSyntax::kNone);
  EXPECT_EQ(er.constraint, nullptr);
}

// Harmony templates (gpt-oss): the channels are always split (think false cannot switch the
// analysis off), effort levels other than low/medium/high are 400s, tool calls are parsed but
// cannot be forced, and a format waits for the final channel.
TEST(ChatOutput, PlanForHarmonyTemplates) {
  auto m = load_model(kStories);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ModelRef ref;
  ref.name = "gpt";
  ModelExtras ex;
  ex.tokenizer = m->tokenizer;
  const std::string harmony = "<|start|>system<|message|>Reasoning: {{ reasoning_effort }}<|end|>"
                              "{{ '<|start|>assistant<|channel|>final<|message|>' }}<think>";
  ToolRequest none;
  GenerateRequest er;
  for (const Json& think : {Json(), Json(true), Json(false), Json("true"), Json("false"), Json("low"), Json("medium"), Json("high")}) {
    auto p = plan_output(ref, ex, harmony, "<|start|>assistant", think, none, "{}", false, &er);
    ASSERT_TRUE(p.ok()) << think.dump() << ": " << p.error.message;
    EXPECT_TRUE(p->thinking) << think.dump();
    EXPECT_TRUE(p->parse.harmony) << think.dump();
    EXPECT_FALSE(p->parse.thinking.has_value());  // no <think> parsing despite the literal tag
  }
  auto max = plan_output(ref, ex, harmony, "x", Json("max"), none, "{}", false, &er);
  ASSERT_FALSE(max.ok());
  EXPECT_EQ(max.error.status, 400);
  EXPECT_NE(max.error.message.find("\"max\""), std::string::npos);
  // Raw prompts: split only when think asks.
  EXPECT_FALSE(plan_output(ref, ex, harmony, "x", Json(), none, "{}", true, &er)->parse.harmony);
  EXPECT_TRUE(plan_output(ref, ex, harmony, "x", Json("high"), none, "{}", true, &er)->parse.harmony);
  // Tools: auto parses (no grammar), required is refused.
  auto autoc = tool_request_from_body(body_with(""), true);
  er.constraint.reset();
  auto p = plan_output(ref, ex, harmony, "x", Json(), *autoc, "{}", false, &er);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->parse.harmony);
  EXPECT_EQ(er.constraint, nullptr);
  auto req = tool_request_from_body(body_with(R"(,"tool_choice":"required")"), true);
  auto forced = plan_output(ref, ex, harmony, "x", Json(), *req, "{}", false, &er);
  ASSERT_FALSE(forced.ok());
  EXPECT_EQ(forced.error.status, 400);
  // A format is deferred: every token but the end is allowed before the final channel opens.
  p = plan_output(ref, ex, harmony, "x", Json(), none, R"({"format":"json"})", false, &er);
  ASSERT_TRUE(p.ok() && er.constraint);
  const int32_t n_vocab = ex.tokenizer->n_vocab();
  std::vector<float> logits(static_cast<size_t>(n_vocab), 0.0f);
  er.constraint->mask(logits.data(), n_vocab);
  EXPECT_EQ(std::count_if(logits.begin(), logits.end(), [](float v) { return !std::isinf(v); }),
            n_vocab - static_cast<int32_t>(ex.tokenizer->eog_ids().size()));
}

TEST(ChatOutput, ToolCallAndLogprobShapes) {
  std::vector<ToolCall> calls(2);
  calls[0].name = "a";
  calls[0].arguments = OJson{{"x", 1}};
  calls[1].name = "b";
  const OJson o = ollama_tool_calls_json(calls, 3);
  EXPECT_EQ(o[0]["function"]["index"], 3);
  EXPECT_EQ(o[1]["function"]["index"], 4);
  EXPECT_TRUE(o[0]["function"]["arguments"].is_object());
  const OJson oa = openai_tool_calls_json(calls, 0, false);
  EXPECT_FALSE(oa[0].contains("index"));
  EXPECT_EQ(oa[0]["type"], "function");
  EXPECT_EQ(oa[0]["function"]["arguments"], "{\"x\":1}");
  EXPECT_NE(oa[0]["id"], oa[1]["id"]);
  EXPECT_EQ(openai_tool_calls_json(calls, 5, true)[1]["index"], 6);

  auto m = load_model(kStories);
  ASSERT_TRUE(m.ok());
  const Tokenizer& tk = *m->tokenizer;
  std::vector<TokenLogprob> lps(2);
  lps[0].text = "Once";
  lps[0].logprob = -0.5f;
  lps[0].top = {{tk.find_token("a").value_or(0), -0.25f}};
  lps[1].text = " up";
  lps[1].logprob = -1.0f;
  const OJson chat = openai_chat_logprobs(tk, lps);
  ASSERT_EQ(chat["content"].size(), 2u);
  EXPECT_EQ(chat["content"][0]["token"], "Once");
  EXPECT_EQ(chat["content"][0]["bytes"], OJson::parse("[79,110,99,101]"));
  EXPECT_EQ(chat["content"][0]["top_logprobs"].size(), 1u);
  EXPECT_TRUE(chat["refusal"].is_null());
  const OJson cmpl = openai_completion_logprobs(tk, lps, 10);
  EXPECT_EQ(cmpl["tokens"], OJson::parse(R"(["Once"," up"])"));
  EXPECT_EQ(cmpl["text_offset"], OJson::parse("[10,14]"));
  EXPECT_EQ(cmpl["top_logprobs"][0].size(), 1u);
  EXPECT_FLOAT_EQ(cmpl["token_logprobs"][1].get<float>(), -1.0f);
}

}  // namespace
}  // namespace corral::server
