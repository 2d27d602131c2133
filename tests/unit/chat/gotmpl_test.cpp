// Go text/template language: each construct against the output Go itself gives.
#include <gtest/gtest.h>

#include "chat/gotmpl.h"

namespace corral::gotmpl {
namespace {

std::string render(const std::string& src, const nlohmann::ordered_json& data = nlohmann::ordered_json::object()) {
  auto t = Template::parse(src, "t");
  if (!t.ok()) return "PARSE: " + t.error().message;
  auto r = t->execute(from_json_any(data));
  if (!r.ok()) return "EXEC: " + r.error().message;
  return *r;
}

// Ollama's currentDate/yesterdayDate read the clock; a pinned instant makes them testable (UTC,
// the day before across a month and a year boundary).
TEST(GoTemplate, CurrentDateUsesThePinnedInstant) {
  Limits l;
  l.fixed_time = 1798761599;  // 2026-12-31 23:59:59 UTC
  auto t = Template::parse("{{ currentDate }} {{ yesterdayDate }}", "t", l);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t->execute(from_json_any(nlohmann::ordered_json::object())), "2026-12-31 2026-12-30");
  l.fixed_time = 1798761600;  // a second later
  t = Template::parse("{{ currentDate }} {{ yesterdayDate }}", "t", l);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t->execute(from_json_any(nlohmann::ordered_json::object())), "2027-01-01 2026-12-31");
  // Unpinned, the clock gives a well-formed date.
  auto now = Template::parse("{{ currentDate }}", "t");
  ASSERT_TRUE(now.ok());
  const std::string d = *now->execute(from_json_any(nlohmann::ordered_json::object()));
  EXPECT_EQ(d.size(), 10u);
  EXPECT_EQ(d[4], '-');
  EXPECT_EQ(d[7], '-');
}

TEST(GoTemplate, TrimMarkersAndComments) {
  EXPECT_EQ(render("a  {{- \"b\" -}}  \n c"), "abc");
  EXPECT_EQ(render("a {{/* note */}} b"), "a  b");
  EXPECT_EQ(render("a {{- /* note */ -}} b"), "ab");
  EXPECT_EQ(render("{{-3}}"), "-3");
}

TEST(GoTemplate, IfElseChainsAndTruth) {
  const char* t = "{{ if eq .x 1.0 }}one{{ else if gt .x 1.0 }}big{{ else }}small{{ end }}";
  EXPECT_EQ(render(t, nlohmann::ordered_json{{"x", 1}}), "one");
  EXPECT_EQ(render(t, nlohmann::ordered_json{{"x", 5}}), "big");
  EXPECT_EQ(render(t, nlohmann::ordered_json{{"x", 0}}), "small");
  EXPECT_EQ(render("{{ if .missing }}y{{ else }}n{{ end }}{{ if .l }}y{{ end }}", {{"l", nlohmann::ordered_json::array()}}), "n");
  EXPECT_EQ(render("{{ .missing }}"), "<no value>");
}

TEST(GoTemplate, RangeWithVariablesElseBreakContinue) {
  nlohmann::ordered_json d = {{"l", {"a", "b", "c", "d"}}, {"m", {{"z", 1}, {"a", 2}}}};
  EXPECT_EQ(render("{{ range $i, $v := .l }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $v \"d\" }}{{ break }}{{ end }}{{ $i }}={{ $v }};{{ end }}", d), "0=a;2=c;");
  EXPECT_EQ(render("{{ range $k, $v := .m }}{{ $k }}{{ $v }}{{ end }}", d), "a2z1");
  EXPECT_EQ(render("{{ range .none }}x{{ else }}empty{{ end }}", d), "empty");
  EXPECT_EQ(render("{{ range 3 }}{{ . }}{{ end }}"), "012");
  EXPECT_EQ(render("{{ range .l }}{{ $.m.a }}{{ end }}", d), "2222");
}

TEST(GoTemplate, VariablesScopeAndAssignment) {
  EXPECT_EQ(render("{{ $x := \"a\" }}{{ if true }}{{ $x = \"b\" }}{{ $y := 1 }}{{ end }}{{ $x }}"), "b");
  EXPECT_NE(render("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}").find("undefined variable"), std::string::npos);
}

TEST(GoTemplate, WithDefineTemplateBlock) {
  EXPECT_EQ(render("{{ with .a }}[{{ .b }}]{{ else }}none{{ end }}", {{"a", {{"b", "x"}}}}), "[x]");
  EXPECT_EQ(render("{{ with .q }}[{{ . }}]{{ else with .r }}r={{ . }}{{ end }}", {{"r", 2}}), "r=2");
  EXPECT_EQ(render("{{ define \"T\" }}<{{ . }}>{{ end }}{{ template \"T\" \"hi\" }}"), "<hi>");
  EXPECT_EQ(render("{{ block \"B\" .v }}({{ . }}){{ end }}", {{"v", 7}}), "(7)");
}

TEST(GoTemplate, Functions) {
  nlohmann::ordered_json d = {{"s", "héllo"}, {"l", {1, 2, 3}}, {"m", {{"k", "v"}}}};
  EXPECT_EQ(render("{{ len .s }} {{ len .l }} {{ index .l 1 }} {{ index .m \"k\" }}", d), "6 3 2 v");
  EXPECT_EQ(render("{{ slice .l 1 }} {{ slice \"abcdef\" 1 3 }}", d), "[2 3] bc");
  EXPECT_EQ(render("{{ printf \"%s-%d-%q-%v-%5.2f|%-3s|\" \"a\" 3 \"q\" .l 3.14159 \"x\" }}", d), "a-3-\"q\"-[1 2 3]- 3.14|x  |");
  EXPECT_EQ(render("{{ print 1 2 \"a\" \"b\" 3 }}{{ println \"x\" 1 }}"), "1 2ab3x 1\n");
  EXPECT_EQ(render("{{ html \"<a href='x'>&\" }} {{ js \"it's <b>\" }} {{ urlquery \"a b&c\" }}"),
            "&lt;a href=&#39;x&#39;&gt;&amp; it\\'s \\u003Cb\\u003E a+b%26c");
  EXPECT_EQ(render("{{ and 1 0 2 }} {{ or 0 \"\" \"z\" }} {{ not 0 }} {{ ne 1 2 }} {{ le \"a\" \"b\" }}"), "0 z true true true");
  EXPECT_EQ(render("{{ json .m }} {{ json .s }} {{ .l | len }} {{ \"x\" | printf \"%s%s\" \"y\" }}", d), "{\"k\":\"v\"} \"héllo\" 3 yx");
  EXPECT_EQ(render("{{ (index .l 0) }} {{ 1.5 }} {{ 1e6 }} {{ 0x10 }}", d), "1 1.5 1e+06 16");
}

TEST(GoTemplate, ErrorsNameTemplateLineAndColumn) {
  auto t = Template::parse("line1\n  {{ if .x }}", "mytmpl");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("template: mytmpl:2:"), std::string::npos) << t.error().message;
  auto t2 = Template::parse("ok\n{{ .a.b }}", "t2");
  ASSERT_TRUE(t2.ok());
  auto r = t2->execute(from_json_any(nlohmann::ordered_json::object()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("t2:2:4"), std::string::npos) << r.error().message;
  EXPECT_NE(render("{{ nosuch 1 }}").find("function \"nosuch\" not defined"), std::string::npos);
  EXPECT_NE(render("{{ break }}").find("outside"), std::string::npos);
  EXPECT_NE(render("{{ index .l 9 }}", {{"l", {1}}}).find("out of range"), std::string::npos);
}

TEST(GoTemplate, DeepNestingAndLongLoopsAreBounded) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "{{ if true }}";
  EXPECT_NE(render(deep).find("nesting deeper"), std::string::npos);
  std::string parens(5000, '(');
  EXPECT_NE(render("{{ " + parens + "1 }}").find("PARSE"), std::string::npos);
  // 10^4 * 10^4 iterations exceed the step budget and stop with an error instead of hanging.
  EXPECT_NE(render("{{ range 10000 }}{{ range 10000 }}x{{ end }}{{ end }}").find("exceeded"), std::string::npos);
  // Infinite recursion through template calls is cut at the depth limit.
  EXPECT_NE(render("{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" }}").find("depth"), std::string::npos);
}

}  // namespace
}  // namespace corral::gotmpl
