// Ollama's published template cases: every gotmpl/NAME.gotmpl rendered over the three reference
// conversations must equal expected/NAME.gotmpl/CASE byte for byte.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "base/file_util.h"
#include "chat/ollama_template.h"

namespace corral {
namespace {

namespace fs = std::filesystem;

const std::string kDir = CORRAL_SHARED_DIR "/testdata/templates";

ChatMessage msg(std::string role, std::string content) {
  ChatMessage m;
  m.role = std::move(role);
  m.content = std::move(content);
  return m;
}

std::vector<ChatMessage> conversation(const std::string& name) {
  std::vector<ChatMessage> uau = {msg("user", "Hello, how are you?"),
                                  msg("assistant", "I'm doing great. How can I help you today?"),
                                  msg("user", "I'd like to show off how chat templating works!")};
  if (name == "user") return {msg("user", "Hello, how are you?")};
  if (name == "user-assistant-user") return uau;
  if (name == "system-user-assistant-user") {
    uau.insert(uau.begin(), msg("system", "You are a helpful assistant."));
    return uau;
  }
  return {};
}

std::string read_text(const fs::path& p) {
  auto r = read_file(p.string());
  if (!r.ok()) return "<unreadable " + p.string() + ">";
  return std::string(r->begin(), r->end());
}

TEST(OllamaTemplateCases, EveryCaseMatchesByteForByte) {
  const std::set<std::string> trim_trailing_space = {"chatqa", "llama2-chat", "mistral-instruct",
                                                     "openchat", "vicuna"};
  int cases = 0, passed = 0;
  for (const auto& dir : fs::directory_iterator(kDir + "/expected")) {
    const std::string tname = dir.path().filename().string();  // NAME.gotmpl
    const std::string base = tname.substr(0, tname.size() - std::string(".gotmpl").size());
    auto tmpl = parse_ollama_template(read_text(fs::path(kDir) / "gotmpl" / tname), tname);
    ASSERT_TRUE(tmpl.ok()) << tmpl.error().message;
    for (const auto& c : fs::directory_iterator(dir.path())) {
      const std::string cname = c.path().filename().string();
      ChatRequest req;
      req.messages = conversation(cname);
      ASSERT_FALSE(req.messages.empty()) << "unknown case " << cname;
      auto out = render_ollama_template(*tmpl, req);
      ++cases;
      ASSERT_TRUE(out.ok()) << tname << "/" << cname << ": " << out.error().message;
      std::string got = *out;
      if (trim_trailing_space.count(base) && !got.empty() && got.back() == ' ') got.pop_back();
      const std::string want = read_text(c.path());
      EXPECT_EQ(got, want) << tname << "/" << cname;
      if (got == want) ++passed;
    }
  }
  std::printf("ollama template cases: %d/%d match\n", passed, cases);
  EXPECT_EQ(cases, 60);
  EXPECT_EQ(passed, cases);
}

TEST(OllamaTemplateCases, LegacyTemplatesFoldTheChat) {
  // A template without .Messages sees each turn as .System/.Prompt/.Response and is cut after
  // .Response on the last turn.
  auto t = parse_ollama_template(
      "{{ if .System }}<s>{{ .System }}</s>{{ end }}[U]{{ .Prompt }}[A]{{ .Response }}[END]", "legacy");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ChatRequest req;
  req.messages = conversation("system-user-assistant-user");
  auto out = render_ollama_template(*t, req);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out,
            "<s>You are a helpful assistant.</s>[U]Hello, how are you?[A]I'm doing great. How can I "
            "help you today?[END][U]I'd like to show off how chat templating works![A]");
}

TEST(OllamaTemplateCases, PromptOnlyTemplateGetsResponseAppended) {
  auto t = parse_ollama_template("{{ .Prompt }}", "default");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->uses("response"));
  ChatRequest req;
  req.messages = {msg("user", "a"), msg("assistant", "b"), msg("user", "c")};
  auto out = render_ollama_template(*t, req);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "abc");
}

TEST(OllamaTemplateCases, ConsecutiveMessagesAreCollated) {
  auto t = parse_ollama_template("{{ range .Messages }}[{{ .Role }}:{{ .Content }}]{{ end }}|{{ .System }}", "c");
  ASSERT_TRUE(t.ok());
  ChatRequest req;
  req.messages = {msg("system", "s1"), msg("system", "s2"), msg("user", "u1"), msg("user", "u2"),
                  msg("tool", "t1"), msg("tool", "t2")};
  auto out = render_ollama_template(*t, req);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, "[system:s1\n\ns2][user:u1\n\nu2][tool:t1][tool:t2]|s1\n\ns2");
}

TEST(OllamaTemplateCases, ToolsAndToolCallsPrintAsOllamaDoes) {
  auto t = parse_ollama_template(
      "{{ range .Tools }}{{ . }}|{{ .Function.Name }}|{{ json .Function.Parameters.Required }}{{ end }}"
      "{{ range .Messages }}{{ range .ToolCalls }}<{{ .Function.Name }} {{ .Function.Arguments }}>{{ end }}{{ end }}",
      "tools");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ChatRequest req;
  req.tools = nlohmann::ordered_json::parse(R"([{"type":"function","function":{"name":"get_weather",
      "description":"Get <weather>","parameters":{"type":"object","required":["city"],
      "properties":{"city":{"type":"string","description":"City"}}}}}])");
  ChatMessage a = msg("assistant", "");
  a.tool_calls = nlohmann::ordered_json::parse(R"([{"function":{"name":"get_weather","arguments":{"z":1,"city":"Paris"}}}])");
  req.messages = {msg("user", "hi"), a};
  auto out = render_ollama_template(*t, req);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out,
            R"({"type":"function","function":{"name":"get_weather","description":"Get \u003cweather\u003e",)"
            R"("parameters":{"type":"object","required":["city"],"properties":{"city":{"type":"string",)"
            R"("description":"City"}}}}}|get_weather|["city"]<get_weather {"city":"Paris","z":1}>)");
}

}  // namespace
}  // namespace corral
