// Template selection, render_chat over both engines, and error reporting.
#include <gtest/gtest.h>

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
