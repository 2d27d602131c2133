// Jinja language: each construct against the output of Python Jinja2 3.1 (transformers' engine,
// trim_blocks + lstrip_blocks), plus error positions and resource bounds.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "chat/jinja.h"

namespace corral::jinja {
namespace {

std::string render(const std::string& src, const nlohmann::ordered_json& ctx = nlohmann::ordered_json::object(),
                   const Options& o = {}) {
  auto t = Template::parse(src, "t", o);
  if (!t.ok()) return "PARSE: " + t.error().message;
  auto r = t->render(ctx);
  if (!r.ok()) return "RENDER: " + r.error().message;
  return *r;
}

using json = nlohmann::ordered_json;

TEST(Jinja, PrintsValuesLikePython) {
  EXPECT_EQ(render("{{ true }} {{ none }} {{ 1.0 }} {{ 2.5e20 }} {{ [1,'a',none] }} {{ {'k': true} }} {{ undefined_var }}|"),
            "True None 1.0 2.5e+20 [1, 'a', None] {'k': True} |");
  EXPECT_EQ(render("{{ '%s is %d' % ('x', 3) }} {{ 'é' | length }} {{ [3,1,2] | max }} {{ [1,2] + [3] }} {{ (1,) }} {{ {'a': 'it\\'s'} }}"),
            "x is 3 1 3 [1, 2, 3] (1,) {'a': \"it's\"}");
}

TEST(Jinja, ForLoopsWithLoopVariablesFiltersAndElse) {
  EXPECT_EQ(render("{% for x in xs %}{{ loop.index }}/{{ loop.length }}{% if not loop.last %},{% endif %}{% else %}none{% endfor %}",
                   json{{"xs", {5, 6, 7}}}),
            "1/3,2/3,3/3");
  EXPECT_EQ(render("{% for x in xs if x > 5 %}{{ x }}{{ loop.first }}{% endfor %}|{% for x in [] %}a{% else %}empty{% endfor %}",
                   json{{"xs", {5, 6, 7}}}),
            "6True7False|empty");
  EXPECT_EQ(render("{% for x in [1,2,3,4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}"), "13");
  // A set inside a loop body is local to the iteration (Jinja2 scoping); namespaces carry state.
  EXPECT_EQ(render("{% set x = 0 %}{% for m in [1,2,3] %}{% if loop.first %}{% set x = 5 %}{% endif %}{{ x }}{% endfor %}{{ x }}"), "5000");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"), "6");
}

TEST(Jinja, DictsTojsonAndMethods) {
  json d = {{"d", {{"b", 1}, {"a", {1, 2}}}}};
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ d|tojson(separators=(',',':')) }}", d),
            "b=1;a=[1, 2];{\"b\": 1, \"a\": [1, 2]}|{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2\n  ]\n}|{\"b\":1,\"a\":[1,2]}");
  EXPECT_EQ(render("{{ 'Hello World'.title() }} {{ 'hi'.upper() }} {{ d.get('x', 5) }} {{ d.keys() | list }} {{ 'aXbX'.replace('X', '-') }} {{ 'abc'.startswith(('x','a')) }}",
                   json{{"d", {{"k", 1}}}}),
            "Hello World HI 5 ['k'] a-b- True");
  EXPECT_EQ(render("{{ 'a,b,,c'.split(',') }} {{ '  x  '.strip() }}|{{ 'Hello'[1:3] }}{{ 'Hello'[::-1] }}{{ [1,2,3][-1] }} {{ 'ab' ~ 3 ~ none }}"),
            "['a', 'b', '', 'c'] x|elolleH3 ab3None");
  EXPECT_EQ(render("{{ s | tojson }} {{ s | tojson(ensure_ascii=true) }}", json{{"s", "é\"<\n"}}),
            "\"é\\\"<\\n\" \"\\u00e9\\\"<\\n\"");
}

TEST(Jinja, MacrosCallBlocksFilterBlocksAndSetBlocks) {
  EXPECT_EQ(render("{% macro m(a, b='x') %}[{{ a }}{{ b }}{{ varargs }}{{ kwargs }}]{% endmacro %}{{ m(1) }}{{ m(1, 2, 3, z=4) }}"),
            "[1x(){}][12(3,){'z': 4}]");
  EXPECT_EQ(render("{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}inner{% endcall %}|{% filter upper %}abc{% endfilter %}"),
            "<inner>|ABC");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t %}block {{ a }}{% endset %}{{ t }}"), "12block 1");
}

TEST(Jinja, ExpressionsTestsAndFilters) {
  EXPECT_EQ(render("{{ 'x' if a else 'y' }}{{ a is defined }}{{ b is not none }}{{ 'ab' in 'cabd' }}{{ 3 in [1,3] }}{{ 'k' in {'k':1} }}",
                   json{{"a", 0}, {"b", nullptr}}),
            "yTrueFalseTrueTrueTrue");
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 'ab' * 2 }} {{ 1 < 2 < 3 }}"),
            "3 -4 1 1024 3.5 abab True");
  EXPECT_EQ(render("{{ xs | map(attribute='n') | join(', ') }}|{{ xs | selectattr('n', 'equalto', 2) | list | length }}|{{ xs | rejectattr('n') | list }}|{{ ['b','A','c'] | sort | first }}",
                   json{{"xs", {{{"n", 1}}, {{"n", 2}}, {{"n", 0}}}}}),
            "1, 2, 0|1|[{'n': 0}]|A");
  EXPECT_EQ(render("{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}|{{ '3' | int + 1 }}|{{ 'x' | default('d') }}{{ u | default('d') }}{{ '' | default('d', true) }}"),
            "a\n  b\n\n  c|  a\n  b|4|xdd");
}

TEST(Jinja, WhitespaceControlAsTransformers) {
  EXPECT_EQ(render("  {% if true %}\n  yes\n  {% endif %}\n{#- c -#}\n  {{- ' z' }}\n"), "  yes\n z");
  Options raw;
  raw.trim_blocks = false;
  raw.lstrip_blocks = false;
  EXPECT_EQ(render("  {% if true %}\nyes\n{% endif %}\n", json::object(), raw), "  \nyes\n");
  EXPECT_EQ(render("a {%- if true -%} b {%- endif %}"), "ab");
  EXPECT_EQ(render("{% raw %}{{ not evaluated }}{% endraw %}"), "{{ not evaluated }}");
}

TEST(Jinja, RaiseExceptionAndStrftime) {
  const std::string out = render("line1\n{{ raise_exception('Roles must alternate') }}");
  EXPECT_NE(out.find("RENDER: t:2:"), std::string::npos) << out;
  EXPECT_NE(out.find("Roles must alternate"), std::string::npos) << out;
  Options o;
  o.fixed_time = 86400 * 365;  // 1971-01-01
  EXPECT_EQ(render("{{ strftime_now('%Y-%m-%d') }}", json::object(), o), "1971-01-01");
}

TEST(Jinja, ErrorsNameTemplateLineAndColumn) {
  auto t = Template::parse("ok\n  {% if x %}never closed", "chat.jinja");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("chat.jinja:2:"), std::string::npos) << t.error().message;
  auto t2 = Template::parse("{{ 1 + }}", "bad");
  ASSERT_FALSE(t2.ok());
  EXPECT_NE(t2.error().message.find("bad:1:"), std::string::npos) << t2.error().message;
  EXPECT_NE(render("{{ x.y() }}", json{{"x", json::object()}}).find("t:1:"), std::string::npos);
  EXPECT_NE(render("{% unknowntag %}").find("unknown statement"), std::string::npos);
  EXPECT_NE(render("{{ [1] | nosuchfilter }}").find("no filter named"), std::string::npos);
}

TEST(Jinja, DeepNestingAndHugeLoopsAreBounded) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{% if true %}";
  EXPECT_NE(render(deep).find("nested deeper"), std::string::npos);
  EXPECT_NE(render("{{ " + std::string(100000, '(') + "1 }}").find("PARSE"), std::string::npos);
  EXPECT_NE(render("{{ " + std::string(100000, '-') + "1 }}").find("PARSE"), std::string::npos);
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  EXPECT_NE(render(chain + " }}").find("PARSE"), std::string::npos);
  EXPECT_NE(render("{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}").find("exceeded"), std::string::npos);
  EXPECT_NE(render("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}").find("nested deeper"), std::string::npos);
  EXPECT_NE(render("{{ range(100000000) | length }}").find("too large"), std::string::npos);
  EXPECT_NE(render("{{ 'x' * 100000000 }}").find("too large"), std::string::npos);
}

// Python's integers are unbounded; corral's are 64-bit. Every result either equals Python's or
// is an error that says so: never a wrapped number (UBSan checks that no operation overflows).
TEST(Jinja, IntegerArithmeticIsExactOrAnError) {
  // Python prints these: they fit in 64 bits.
  EXPECT_EQ(render("{{ 2 ** 62 }} {{ (-2) ** 63 }} {{ 3037000499 * 3037000499 }} {{ 9223372036854775807 - 1 }}"),
            "4611686018427387904 -9223372036854775808 9223372030926249001 9223372036854775806");
  EXPECT_EQ(render("{{ 7 // -2 }} {{ -7 % 3 }} {{ 5 % -1 }} {{ 2 ** -1 }} {{ 1 ** 4466666666664 }} {{ (-1) ** 4466666666665 }} {{ 0 ** 4466666666664 }}"),
            "-4 2 0 0.5 1 -1 0");
  // Python: 9223372037000250000, 9223372036854775808, 2 ** 64; corral: an error naming the operator.
  for (const char* expr : {"3037000500 * 3037000500", "9223372036854775807 + 1", "-9223372036854775807 - 2",
                           "2 ** 64", "3 ** 4466666666664", "(-9223372036854775807 - 1) // -1",
                           "-(-9223372036854775807 - 1)", "(-9223372036854775807 - 1) | abs", "1e300 | int",
                           "[1, 2] | sum(start=9223372036854775807)"}) {
    const std::string out = render(std::string("{{ ") + expr + " }}");
    EXPECT_NE(out.find("RENDER:"), std::string::npos) << expr << " -> " << out;
    EXPECT_NE(out.find("overflow"), std::string::npos) << expr << " -> " << out;
  }
  EXPECT_EQ(render("{{ -9223372036854775807 - 1 }} {{ (-9223372036854775807 - 1) % -1 }} {{ 'nan' | float | int(7) }}"),
            "-9223372036854775808 0 7");
  EXPECT_NE(render("{{ 99999999999999999999 }}").find("does not fit in 64 bits"), std::string::npos);
  EXPECT_NE(render("{{ 1" + std::string(400, '0') + " }}").find("does not fit in 64 bits"), std::string::npos);
  EXPECT_NE(render("{{ x.99999999999999999999 }}", json{{"x", {1}}}).find("too large"), std::string::npos);
  EXPECT_NE(render("{{ 0 ** -1 }}").find("negative power"), std::string::npos);
  // range() stops at the end of the 64-bit range instead of wrapping past stop.
  EXPECT_EQ(render("{{ range(9223372036854775800, 9223372036854775807, 5) | list }}"),
            "[9223372036854775800, 9223372036854775805]");
}

// A render's cost is bounded whatever one expression does, not only by loops and nesting: each
// of these ran for minutes or exhausted memory before the work meter (found by fuzz_chat_jinja).
TEST(Jinja, EveryOperationsCostIsBounded) {
  const std::vector<std::string> slow = {
      "{{ 'ab' * 4611686018427387904 }}",                    // size_t overflow in the size check
      "{{ [1] * 4611686018427387904 }}",
      "{{ [0] | batch(1000000000000, fill_with=0) }}",       // fill loop
      "{{ ('\\n' * 1000000) | indent(width=('x' * 1000000)) }}",
      "{% set x = ['x' * 1000000] * 1000000 %}{{ x }}",        // printing shared elements
      "{% set x = ['x' * 1000000] * 1000000 %}{{ x | tojson }}",
      "{% set x = ['x' * 1000000] * 1000000 %}{{ x | join(',') }}",
      "{{ ['x' * 1000000] * 1000000 == ['x' * 1000000] * 1000000 }}",  // 1e12 bytes compared
      "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
      "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
      "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
      "{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(60) %}{% set ns.a = [ns.a, ns.a] %}{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}",
      "{% set s = 'x' * 1000000 %}{% for i in range(1000) %}{{ s | upper | length }}{% endfor %}",
      "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s.replace('', 'x') %}{% endfor %}{{ ns.s | length }}",
  };
  for (const auto& src : slow) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string out = render(src);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(out.rfind("RENDER:", 0), 0u) << src << " -> " << out.substr(0, 200);
    // Not a timing assertion: the reported time shows which bound stopped it.
    std::printf("%-100.100s %6.2f s  %s\n", src.c_str(), s, out.substr(0, 90).c_str());
  }
  // Python compares an object with itself by identity: shared values compare at once.
  EXPECT_EQ(render("{% set x = ['x' * 1000000] * 1000000 %}{{ x == x }} {{ x[0] == x[1] }}"), "True True");
  // A smaller limit stops earlier, and an ordinary template is far below the default.
  Options small;
  small.max_work_bytes = 1000;
  EXPECT_NE(render("{{ 'x' * 2000 }}", json::object(), small).find("work limit"), std::string::npos);
  EXPECT_EQ(render("{{ ('x' * 200) | length }}", json::object(), small), "200");
}

}  // namespace
}  // namespace corral::jinja
