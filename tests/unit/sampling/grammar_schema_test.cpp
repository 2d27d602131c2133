// JSON Schema -> GBNF: per keyword, documents the grammar must accept and reject, and the errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sampling/grammar/json_schema.h"
#include "sampling/grammar/matcher.h"
#include "sampling/grammar/regex_to_gbnf.h"

namespace corral::grammar {
namespace {

bool matches(const Grammar& g, std::string_view s) {
  GrammarMatcher m(CompiledGrammar::compile(g), std::make_shared<VocabTrie>());
  return m.accept_bytes(s) && m.accepting();
}

struct Case {
  const char* schema;
  std::vector<const char*> accept;
  std::vector<const char*> reject;
};

class SchemaCorpus : public ::testing::TestWithParam<Case> {};

TEST_P(SchemaCorpus, AcceptsAndRejects) {
  const Case& c = GetParam();
  auto text = json_schema_to_gbnf(c.schema);
  ASSERT_TRUE(text.ok()) << text.error().message << "\n" << c.schema;
  auto g = parse_gbnf(*text);
  ASSERT_TRUE(g.ok()) << g.error().message << "\n" << *text;
  for (const char* s : c.accept) EXPECT_TRUE(matches(*g, s)) << "should accept " << s << " for " << c.schema << "\n" << *text;
  for (const char* s : c.reject) EXPECT_FALSE(matches(*g, s)) << "should reject " << s << " for " << c.schema << "\n" << *text;
}

INSTANTIATE_TEST_SUITE_P(
    Keywords, SchemaCorpus,
    ::testing::Values(
        Case{R"({"type":"string"})", {R"("")", R"("a b")", R"("\n\u00e9\"")", "\"é\""}, {"\"\n\"", R"("\ud800")", "1", R"("a)"}},
        Case{R"({"type":"integer"})", {"0", "-12", "1234567"}, {"01", "1.5", "-", "\"1\""}},
        Case{R"({"type":"number"})", {"0", "-1.25", "3e10", "2.0E-5"}, {".5", "1.", "01", "1e"}},
        Case{R"({"type":"boolean"})", {"true", "false"}, {"True", "1"}},
        Case{R"({"type":"null"})", {"null"}, {"nul", "\"null\""}},
        Case{R"({"type":["string","null"],"maxLength":2})", {"null", R"("ab")"}, {R"("abc")", "1"}},
        Case{R"({"type":"integer","nullable":true})", {"null", "5"}, {"\"5\""}},
        Case{R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]})",
             {R"({"name":"x","age":3})", R"({ "name" : "x" , "age" : 3 })"},
             {R"({"age":3,"name":"x"})", R"({"name":"x"})", R"({"name":"x","age":3,"z":1})"}},
        Case{R"({"properties":{"a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}},"required":["b"]})",
             {R"({"b":1})", R"({"a":0,"b":1})", R"({"b":1,"c":2})", R"({"a":0,"b":1,"c":2})"},
             {"{}", R"({"a":0})", R"({"c":2,"b":1})", R"({"b":1,})", R"({,"b":1})"}},
        Case{R"({"properties":{"a":{"type":"integer"},"b":{"type":"integer"}}})",
             {"{}", R"({"a":1})", R"({"b":2})", R"({"a":1,"b":2})"}, {R"({"b":2,"a":1})", R"({,})"}},
        Case{R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":true})",
             {R"({"a":1,"x":[1]})", R"({"ab":2})", R"({"x":1})", "{}"}, {R"({"a":1,"a":2})", R"({"x":1,"a":1})"}},
        Case{R"({"type":"object","additionalProperties":{"type":"integer"}})", {R"({"k":1,"j":2})", "{}"}, {R"({"k":"v"})"}},
        Case{R"({"type":"object"})", {R"({"k":[1,{"z":null}]})", "{}"}, {"[]"}},
        Case{R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3})",
             {"[1]", "[1,2,3]", "[ 1 , 2 ]"}, {"[]", "[1,2,3,4]", "[1,]"}},
        Case{R"({"type":"array","items":{"type":"integer"},"minItems":2})", {"[1,2]", "[1,2,3,4,5]"}, {"[1]"}},
        Case{R"({"type":"array","items":{"type":"integer"},"maxItems":0})", {"[]"}, {"[1]"}},
        Case{R"({"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"items":false})",
             {R"([1,"a"])"}, {"[1]", R"([1,"a",2])", R"(["a",1])"}},
        Case{R"({"type":"array","prefixItems":[{"type":"integer"}],"items":{"type":"boolean"},"maxItems":3})",
             {"[1]", "[1,true]", "[1,true,false]"}, {"[1,true,false,true]", "[true]"}},
        Case{R"({"enum":["red","green",3,null,{"a":[1]}]})", {R"("red")", "3", "null", R"({"a":[1]})"}, {R"("blue")", "4"}},
        Case{R"({"const":"x"})", {R"("x")"}, {R"("y")"}},
        Case{R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":1}]})", {"1", R"("a")"}, {R"("ab")", "true"}},
        Case{R"({"oneOf":[{"type":"boolean"},{"type":"null"}]})", {"true", "null"}, {"1"}},
        Case{R"({"allOf":[{"properties":{"a":{"type":"integer"}},"required":["a"]},{"properties":{"b":{"type":"integer"}},"required":["b"]}]})",
             {R"({"a":1,"b":2})"}, {R"({"a":1})"}},
        Case{R"({"$defs":{"pt":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},
                "type":"array","items":{"$ref":"#/$defs/pt"},"maxItems":2})",
             {R"([{"x":1},{"x":2}])", "[]"}, {R"([{"y":1}])"}},
        Case{R"({"definitions":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/definitions/node"},{"type":"null"}]}},"required":["v","next"]}},"$ref":"#/definitions/node"})",
             {R"({"v":1,"next":null})", R"({"v":1,"next":{"v":2,"next":null}})"}, {R"({"v":1})"}},
        Case{R"({"type":"string","minLength":2,"maxLength":3})", {R"("ab")", R"("abc")", R"("\nb")"}, {R"("a")", R"("abcd")"}},
        Case{R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"})", {R"("AB-123")"}, {R"("AB-12")", R"("ab-123")"}},
        Case{R"({"type":"string","pattern":"^(foo|ba+r)?x\\.y$"})", {R"("x.y")", R"("foox.y")", R"("baaarx.y")"}, {R"("brx.y")", R"("xzy")"}},
        Case{R"({"type":"string","pattern":"^a\"b\\\\c[^a-z]$"})", {R"("a\"b\\c1")", R"("a\"b\\c\"")"}, {R"("a"b\\c1")", R"("a\"b\\cd")"}},
        Case{R"({"type":"string","format":"date"})", {R"("2024-02-28")", R"("1999-12-31")", R"("2000-04-30")"},
             {R"("2024-02-30")", R"("2024-04-31")", R"("2024-13-01")", R"("24-01-01")"}},
        Case{R"({"type":"string","format":"time"})", {R"("23:59:59Z")", R"("00:00:00.123+05:30")"}, {R"("24:00:00Z")", R"("12:00:00")"}},
        Case{R"({"type":"string","format":"date-time"})", {R"("2024-01-31T12:30:00Z")"}, {R"("2024-01-31 12:30:00Z")"}},
        Case{R"({"type":"string","format":"uuid"})", {R"("123e4567-e89b-12d3-a456-426614174000")"}, {R"("123e4567e89b12d3a456426614174000")"}},
        Case{R"({"type":"string","format":"email"})", {R"("a.b@example.com")", R"("x@mail.co")"}, {R"("a@b")", R"("@x.com")", R"("a..b@x.com")"}},
        Case{R"({"type":"integer","minimum":-5,"maximum":120})", {"-5", "0", "7", "99", "120"}, {"-6", "121", "200", "-0"}},
        Case{R"({"type":"integer","minimum":18})", {"18", "19", "99", "100", "123456"}, {"17", "0", "-18"}},
        Case{R"({"type":"integer","maximum":-10})", {"-10", "-11", "-1000"}, {"-9", "0", "5"}},
        Case{R"({"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10})", {"1", "9"}, {"0", "10"}},
        Case{R"({"type":"integer","minimum":137,"maximum":4210})", {"137", "199", "200", "999", "1000", "4199", "4210"}, {"136", "4211", "5000", "99"}},
        Case{R"({"type":"number","minimum":0,"maximum":1})", {"0", "1", "0.5", "0.999"}, {"1.5", "-0.5", "2"}},
        Case{R"({"type":"number","minimum":-2.5,"maximum":3})", {"-2", "-1.9", "2.99", "3"}, {"-3", "3.5", "-2.6"}},
        Case{R"(true)", {"1", R"({"a":[]})"}, {"nope"}}));

TEST(JsonSchema, UnsupportedKeywordsAreNamed) {
  const std::pair<const char*, const char*> bad[] = {
      {R"({"type":"number","multipleOf":2})", "multipleOf"},
      {R"({"type":"array","uniqueItems":true})", "uniqueItems"},
      {R"({"type":"object","patternProperties":{}})", "patternProperties"},
      {R"({"not":{}})", "not"},
      {R"({"if":{}})", "if"},
      {R"({"type":"string","format":"uri"})", "uri"},
      {R"({"type":"string","pattern":"(?=a)b"})", "lookaround"},
      {R"({"type":"string","pattern":"(a)\\1"})", "backreference"},
      {R"({"type":"string","pattern":"(a*)*"})", "empty string"},
      {R"({"type":"string","maxLength":5,"pattern":"a"})", "pattern"},
      {R"({"type":"integer","maxLength":5})", "maxLength"},
      {R"({"$ref":"http://x/y"})", "local $ref"},
      {R"({"$ref":"#/$defs/missing"})", "does not resolve"},
      {R"({"type":"array","maxItems":100000})", "maxItems"},
      {R"({"type":"wat"})", "unknown type"},
      {R"({"type":"integer","minimum":5,"maximum":4})", "no integer"},
      {R"(false)", "accepts nothing"},
      {R"({"type":"object","properties":{"a":{}},"required":["b"]})", "\"b\""},
      {R"({"type":)", "not valid JSON"},
  };
  for (const auto& [schema, word] : bad) {
    auto r = json_schema_to_gbnf(schema);
    ASSERT_FALSE(r.ok()) << schema;
    EXPECT_NE(r.error().message.find(word), std::string::npos) << schema << " -> " << r.error().message;
  }
}

TEST(JsonSchema, Bounded) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += R"({"type":"array","items":)";
  deep += R"({"type":"null"})";
  for (int i = 0; i < 200; ++i) deep += "}";
  auto r = json_schema_to_gbnf(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("deeper"), std::string::npos) << r.error().message;
  // A reference cycle through allOf stops; a recursive $ref is fine (a rule refers to itself).
  auto cyc = json_schema_to_gbnf(R"({"$defs":{"a":{"allOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"})");
  EXPECT_FALSE(cyc.ok());
  SchemaLimits lim;
  lim.max_schema_bytes = 16;
  EXPECT_FALSE(json_schema_to_gbnf(R"({"type":"string","maxLength":3})", lim).ok());
}

TEST(JsonSchema, JsonObjectGrammar) {
  auto g = parse_gbnf(json_object_gbnf());
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_TRUE(matches(*g, R"({"a": [1, 2.5, "x", true, null, {}], "b": {"c": -3e5}})"));
  EXPECT_FALSE(matches(*g, "[1]"));
  EXPECT_FALSE(matches(*g, R"({"a": })"));
}

}  // namespace
}  // namespace corral::grammar
