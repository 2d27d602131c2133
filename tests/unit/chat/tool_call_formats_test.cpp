// Qwen 3.5's XML tool calls and Gemma 4's call:NAME{...} calls: detection from the real
// templates, parsing (typed values, strings with the syntax's own characters), any split of the
// text giving the same result, Gemma 4's thinking channel, the GBNF that forces a call, and a
// round trip: a conversation's tool calls rendered by the model's own template parse back to the
// same calls.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "chat/jinja.h"
#include "chat/output_parser.h"
#include "chat/thinking.h"
#include "chat/tool_calls.h"

namespace corral {
namespace {

using OJson = nlohmann::ordered_json;

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string shared_template(const std::string& name) {
  return read_text(std::string(CORRAL_SHARED_DIR) + "/testdata/templates/jinja/" + name);
}

std::string local_template(const std::string& name) {
  return read_text(std::string(CORRAL_SOURCE_DIR) + "/tests/node/templates/" + name);
}

const OJson& weather_tools() {
  static const OJson tools = OJson::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"},
                     "zip": {"type": "string"}, "coords": {"type": ["array", "null"]}},
      "required": ["city"]}}},
    {"type": "function", "function": {"name": "search", "parameters": {"type": "object",
      "properties": {"query": {"type": "string"}}, "required": ["query"]}}}])");
  return tools;
}

struct Parsed {
  std::string thinking, content;
  std::vector<ToolCall> calls;
};

Parsed parse(const ChatOutputOptions& opts, std::string_view text, size_t step) {
  ChatOutputParser p(opts);
  Parsed all;
  auto take = [&](ChatOutputParser::Out o) {
    all.thinking += o.thinking;
    all.content += o.content;
    for (auto& c : o.calls) all.calls.push_back(std::move(c));
  };
  for (size_t i = 0; i < text.size(); i += step) take(p.push(text.substr(i, step)));
  take(p.finish());
  return all;
}

// Parses `text` whole and in pieces of every size from 1 to 11: all must agree.
Parsed parse_every_split(const ChatOutputOptions& opts, std::string_view text) {
  const Parsed whole = parse(opts, text, text.empty() ? 1 : text.size());
  for (size_t step = 1; step <= 11; ++step) {
    const Parsed part = parse(opts, text, step);
    EXPECT_EQ(part.thinking, whole.thinking) << "step " << step;
    EXPECT_EQ(part.content, whole.content) << "step " << step;
    EXPECT_EQ(part.calls.size(), whole.calls.size()) << "step " << step;
    for (size_t i = 0; i < std::min(part.calls.size(), whole.calls.size()); ++i) {
      EXPECT_EQ(part.calls[i].name, whole.calls[i].name);
      EXPECT_EQ(part.calls[i].arguments, whole.calls[i].arguments);
    }
  }
  return whole;
}

ChatOutputOptions options(ToolCallSyntax s, const OJson& tools = weather_tools()) {
  ChatOutputOptions o;
  o.tool_syntax = s;
  o.tools = tools;
  for (const auto& t : tools) o.tool_names.push_back(t["function"]["name"].get<std::string>());
  return o;
}

TEST(ToolCallFormats, SyntaxAndThinkingFromTheRealTemplates) {
  const std::string qwen38 = shared_template("qwen38_chat_template.jinja");
  const std::string qwen36 = local_template("qwen3.6.jinja");
  ASSERT_FALSE(qwen38.empty());
  ASSERT_FALSE(qwen36.empty());
  EXPECT_EQ(tool_call_syntax_for_template(qwen38), ToolCallSyntax::kQwenXml);
  EXPECT_EQ(tool_call_syntax_for_template(qwen36), ToolCallSyntax::kQwenXml);
  ASSERT_TRUE(thinking_tags_for_template(qwen36));
  EXPECT_EQ(thinking_tags_for_template(qwen36)->open, "<think>");
  for (const char* name : {"gemma4_31b_chat_template.jinja2", "gemma4_e2b_chat_template.jinja2"}) {
    const std::string gemma4 = shared_template(name);
    ASSERT_FALSE(gemma4.empty()) << name;
    EXPECT_EQ(tool_call_syntax_for_template(gemma4), ToolCallSyntax::kGemma4) << name;
    auto tags = thinking_tags_for_template(gemma4);
    ASSERT_TRUE(tags) << name;
    EXPECT_EQ(tags->open, "<|channel>thought");
    EXPECT_EQ(tags->close, "<channel|>");
  }
  EXPECT_STREQ(tool_call_syntax_name(ToolCallSyntax::kQwenXml), "qwen-xml");
  EXPECT_STREQ(tool_call_syntax_name(ToolCallSyntax::kGemma4), "gemma4");
}

TEST(ToolCallFormats, QwenXmlTypedBySchema) {
  const std::string text =
      "Let me check.\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nNew York\n</parameter>\n"
      "<parameter=days>\n3\n</parameter>\n<parameter=metric>\ntrue\n</parameter>\n<parameter=zip>\n01234\n</parameter>\n"
      "<parameter=coords>\n[40.7, -74]\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=search>\n"
      "<parameter=query>\nline one\nline <b>two</b>\n\n</parameter>\n</function>\n</tool_call>";
  const Parsed p = parse_every_split(options(ToolCallSyntax::kQwenXml), text);
  EXPECT_EQ(p.content, "Let me check.\n\n");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments.dump(), R"({"city":"New York","days":3,"metric":true,"zip":"01234","coords":[40.7,-74]})");
  EXPECT_EQ(p.calls[1].name, "search");
  // One newline on each side belongs to the format; the value keeps the rest.
  EXPECT_EQ(p.calls[1].arguments["query"], "line one\nline <b>two</b>\n");
}

TEST(ToolCallFormats, QwenXmlWithoutSchemaReadsJsonValues) {
  const Parsed p = parse_every_split(
      options(ToolCallSyntax::kQwenXml, OJson::array()),
      "<tool_call>\n<function=f>\n<parameter=n>\n42\n</parameter>\n<parameter=s>\nhello\n</parameter>\n"
      "<parameter=o>\n{\"a\": [1, 2]}\n</parameter>\n<parameter=q>\n\"quoted\"\n</parameter>\n</function>\n</tool_call>");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].arguments.dump(), R"({"n":42,"s":"hello","o":{"a":[1,2]},"q":"\"quoted\""})");
}

TEST(ToolCallFormats, QwenXmlMalformedBodiesAreText) {
  for (const std::string body : {"<function=f>\n<parameter=x>\n1\n</function>", "{\"name\": \"f\"}",
                                 "<function=>\n</function>", "<function=f>\n</function>\ntrailing"}) {
    const std::string text = "a <tool_call>\n" + body + "\n</tool_call>b";
    const Parsed p = parse_every_split(options(ToolCallSyntax::kQwenXml), text);
    EXPECT_TRUE(p.calls.empty()) << body;
    EXPECT_EQ(p.content, text) << body;
  }
  // A call cut off by the token limit is kept when what came is complete.
  const Parsed cut = parse_every_split(options(ToolCallSyntax::kQwenXml),
                                       "<tool_call>\n<function=search>\n<parameter=query>\nx\n</parameter>\n");
  ASSERT_EQ(cut.calls.size(), 1u);
  EXPECT_EQ(cut.calls[0].arguments["query"], "x");
}

TEST(ToolCallFormats, Gemma4Calls) {
  const std::string text =
      "Checking.<|tool_call>call:get_weather{city:<|\"|>Paris, \"France\" {x}<|\"|>,coords:[1.5,<|\"|>a<|\"|>,{k:null}],"
      "days:3,metric:false,note:<|\"|>has <tool_call|> inside<|\"|>}<tool_call|><|tool_call>call:search{query:<|\"|><|\"|>}<tool_call|>";
  const Parsed p = parse_every_split(options(ToolCallSyntax::kGemma4), text);
  EXPECT_EQ(p.content, "Checking.");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments.dump(),
            R"({"city":"Paris, \"France\" {x}","coords":[1.5,"a",{"k":null}],"days":3,"metric":false,"note":"has <tool_call|> inside"})");
  EXPECT_EQ(p.calls[1].arguments.dump(), R"({"query":""})");
}

TEST(ToolCallFormats, Gemma4BareCallNeedsADeclaredTool) {
  // The opening tag is a control token: a bare call at the start counts when it names a tool.
  const Parsed bare = parse_every_split(options(ToolCallSyntax::kGemma4), "call:search{query:<|\"|>corral<|\"|>}");
  ASSERT_EQ(bare.calls.size(), 1u);
  EXPECT_EQ(bare.calls[0].arguments["query"], "corral");
  EXPECT_EQ(bare.content, "");
  for (const char* text : {"call:unknown{a:1}", "  call: me maybe", "call:search{query:<|\"|>open"}) {
    const Parsed p = parse_every_split(options(ToolCallSyntax::kGemma4), text);
    EXPECT_TRUE(p.calls.empty()) << text;
    EXPECT_EQ(p.content, text);
  }
  // Tagged but malformed: the text comes back with its tags.
  const std::string broken = "<|tool_call>call:search{query:}<tool_call|>after";
  const Parsed b = parse_every_split(options(ToolCallSyntax::kGemma4), broken);
  EXPECT_TRUE(b.calls.empty());
  EXPECT_EQ(b.content, broken);
}

TEST(ToolCallFormats, Gemma4ThinkingChannelThenCall) {
  ChatOutputOptions o = options(ToolCallSyntax::kGemma4);
  o.thinking = ThinkingTags{"<|channel>thought", "<channel|>"};
  const Parsed p = parse_every_split(
      o, "<|channel>thought\nThe user wants weather.\n<channel|><|tool_call>call:get_weather{city:<|\"|>Oslo<|\"|>}<tool_call|>");
  EXPECT_EQ(p.thinking, "The user wants weather.");
  EXPECT_EQ(p.content, "");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].arguments.dump(), R"({"city":"Oslo"})");
  const Parsed answer = parse_every_split(o, "<|channel>thought\nhmm<channel|>It is sunny.");
  EXPECT_EQ(answer.thinking, "hmm");
  EXPECT_EQ(answer.content, "It is sunny.");
}

TEST(ToolCallFormats, QwenThinkingThenXmlCall) {
  ChatOutputOptions o = options(ToolCallSyntax::kQwenXml);
  o.thinking = ThinkingTags{};
  o.thinking_starts_inside = true;  // Qwen 3.5's prompt ends with "<think>\n"
  const Parsed p = parse_every_split(
      o, "I need the weather.\n</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nRome\n</parameter>\n</function>\n</tool_call>");
  EXPECT_EQ(p.thinking, "I need the weather.");
  EXPECT_EQ(p.content, "");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].arguments.dump(), R"({"city":"Rome"})");
}

// The model's own template writes an assistant turn's calls; parsing that text gives the calls back.
void expect_round_trip(const std::string& src, ToolCallSyntax syntax, const std::string& open,
                       const std::string& close) {
  auto tmpl = jinja::Template::parse(src, "t", jinja::Options{});
  ASSERT_TRUE(tmpl.ok()) << tmpl.error().message;
  const OJson args1 = OJson::parse(R"({"city": "São Paulo, BR", "days": 3, "metric": true, "coords": [1.5, 2]})");
  const OJson args2 = OJson::parse(R"({"query": "multi\nline <b>text</b>"})");
  OJson ctx = {{"bos_token", "<bos>"}, {"eos_token", "<eos>"}, {"add_generation_prompt", false}, {"tools", weather_tools()}};
  ctx["messages"] = OJson::array(
      {{{"role", "user"}, {"content", "Weather?"}},
       {{"role", "assistant"},
        {"content", ""},
        {"tool_calls", OJson::array({{{"id", "a"}, {"type", "function"}, {"function", {{"name", "get_weather"}, {"arguments", args1}}}},
                                     {{"id", "b"}, {"type", "function"}, {"function", {{"name", "search"}, {"arguments", args2}}}}})}}});
  auto out = tmpl->render(ctx);
  ASSERT_TRUE(out.ok()) << out.error().message;
  // From the assistant turn on (Qwen's system prompt shows an example call).
  const size_t from = out->find(open, out->find("Weather?")), to = out->rfind(close);
  ASSERT_NE(from, std::string::npos) << *out;
  ASSERT_NE(to, std::string::npos) << *out;
  const Parsed p = parse_every_split(options(syntax), out->substr(from, to + close.size() - from));
  ASSERT_EQ(p.calls.size(), 2u) << *out;
  EXPECT_EQ(p.calls[0].name, "get_weather");
  // Gemma 4's template sorts the keys: compare as unordered objects.
  EXPECT_EQ(nlohmann::json::parse(p.calls[0].arguments.dump()), nlohmann::json::parse(args1.dump())) << *out;
  EXPECT_EQ(nlohmann::json::parse(p.calls[1].arguments.dump()), nlohmann::json::parse(args2.dump())) << *out;
  EXPECT_EQ(p.content, "");
}

TEST(ToolCallFormats, RoundTripThroughTheModelsTemplates) {
  expect_round_trip(local_template("qwen3.6.jinja"), ToolCallSyntax::kQwenXml, "<tool_call>", "</tool_call>");
  expect_round_trip(shared_template("qwen38_chat_template.jinja"), ToolCallSyntax::kQwenXml, "<tool_call>", "</tool_call>");
  expect_round_trip(shared_template("gemma4_31b_chat_template.jinja2"), ToolCallSyntax::kGemma4, "<|tool_call>", "<tool_call|>");
}

TEST(ToolCallFormats, GrammarsWriteEachSyntax) {
  auto xml = tool_call_grammar(ToolCallSyntax::kQwenXml, weather_tools(), ToolChoice::kNamed, "get_weather");
  ASSERT_TRUE(xml);
  EXPECT_NE(xml->gbnf.find(R"("<function=get_weather>\n" "<parameter=city>\n" xml-text "\n</parameter>\n")"), std::string::npos)
      << xml->gbnf;
  EXPECT_NE(xml->gbnf.find(R"(("<parameter=days>\n" tool-args-0 "\n</parameter>\n")?)"), std::string::npos) << xml->gbnf;
  ASSERT_EQ(xml->arg_schemas.size(), 3u);  // days, metric, coords: JSON values
  EXPECT_EQ(xml->arg_schemas[0].second.dump(), R"({"type":"integer"})");
  auto xml_auto = tool_call_grammar(ToolCallSyntax::kQwenXml, weather_tools(), ToolChoice::kAuto);
  ASSERT_TRUE(xml_auto);
  EXPECT_EQ(xml_auto->trigger, "<tool_call>");

  const OJson enum_tool = OJson::parse(R"([{"type": "function", "function": {"name": "get_weather", "parameters":
      {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Oslo"]}, "days": {"type": "integer"}},
       "required": ["city"]}}}])");
  auto gemma = tool_call_grammar(ToolCallSyntax::kGemma4, enum_tool, ToolChoice::kRequired);
  ASSERT_TRUE(gemma);
  EXPECT_NE(gemma->gbnf.find(R"("call:get_weather{" "city:" ("<|\"|>Paris<|\"|>" | "<|\"|>Oslo<|\"|>") (",days:" tool-args-0)? "}")"),
            std::string::npos)
      << gemma->gbnf;
  EXPECT_EQ(gemma->gbnf.rfind("root ::= call-body\n", 0), 0u) << gemma->gbnf;
  EXPECT_FALSE(tool_call_grammar(ToolCallSyntax::kGemma4, enum_tool, ToolChoice::kAuto));
}

}  // namespace
}  // namespace corral
