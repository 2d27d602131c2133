// TokenConstraint over a GrammarMatcher.
#include "engine/grammar_constraint.h"

#include <nlohmann/json.hpp>

#include "sampling/grammar/json_schema.h"
#include "sampling/grammar/matcher.h"

namespace corral {

namespace {

class GrammarConstraint final : public TokenConstraint {
 public:
  GrammarConstraint(std::shared_ptr<const grammar::CompiledGrammar> g, std::shared_ptr<const grammar::VocabTrie> v)
      : m_(std::move(g), std::move(v)) {}
  void mask(float* logits, int32_t n_vocab) override { m_.mask_logits(logits, n_vocab); }
  void accept(int32_t token) override { m_.accept_token(token); }
  // Complete (nothing else may follow) or stuck (a token the mask forbade was forced in).
  bool done() const override { return m_.finished() || m_.failed(); }

 private:
  grammar::GrammarMatcher m_;
};

}  // namespace

std::shared_ptr<TokenConstraint> make_grammar_constraint(const grammar::Grammar& g, const Tokenizer& tok) {
  return std::make_shared<GrammarConstraint>(grammar::CompiledGrammar::compile(g),
                                             grammar::VocabTrie::for_tokenizer(tok));
}

Result<std::shared_ptr<TokenConstraint>> make_gbnf_constraint(std::string_view gbnf, const Tokenizer& tok) {
  auto g = grammar::parse_gbnf(gbnf);
  if (!g.ok()) return g.error();
  return make_grammar_constraint(*g, tok);
}

Result<std::shared_ptr<TokenConstraint>> make_schema_constraint(std::string_view schema_json, const Tokenizer& tok) {
  auto g = grammar::json_schema_to_grammar(schema_json);
  if (!g.ok()) return g.error();
  return make_grammar_constraint(*g, tok);
}

std::shared_ptr<TokenConstraint> make_json_object_constraint(const Tokenizer& tok) {
  static const grammar::Grammar g = [] {
    auto r = grammar::parse_gbnf(grammar::json_object_gbnf());
    assert(r.ok());
    return std::move(r).value();
  }();
  return make_grammar_constraint(g, tok);
}

Result<std::shared_ptr<TokenConstraint>> constraint_from_request_body(std::string_view body, const Tokenizer& tok) {
  using OJson = nlohmann::ordered_json;
  const OJson j = OJson::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::shared_ptr<TokenConstraint>{};  // the route reports bad JSON
  std::vector<std::shared_ptr<TokenConstraint>> found;
  auto from_schema = [&](const OJson& schema, const char* what) -> Status {
    if (!schema.is_object() && !schema.is_boolean()) return make_error("{} must be a JSON Schema object", what);
    auto gbnf = grammar::json_value_schema_to_gbnf(schema);
    if (!gbnf.ok()) return make_error("invalid {}: {}", what, gbnf.error().message);
    auto c = make_gbnf_constraint(*gbnf, tok);
    if (!c.ok()) return make_error("invalid {}: {}", what, c.error().message);
    found.push_back(*c);
    return {};
  };
  if (auto it = j.find("format"); it != j.end() && !it->is_null()) {
    if (it->is_string()) {
      const std::string f = it->get<std::string>();
      if (f == "json") found.push_back(make_json_object_constraint(tok));
      else if (!f.empty()) return make_error("format must be \"json\" or a JSON Schema object, not \"{}\"", f);
    } else {
      CORRAL_TRY(from_schema(*it, "format schema"));
    }
  }
  if (auto it = j.find("response_format"); it != j.end() && it->is_object()) {
    const std::string type = it->value("type", std::string());
    if (type == "json_object") {
      found.push_back(make_json_object_constraint(tok));
    } else if (type == "json_schema") {
      auto js = it->find("json_schema");
      if (js == it->end() || !js->is_object() || !js->contains("schema"))
        return make_error("response_format.json_schema.schema is required");
      CORRAL_TRY(from_schema((*js)["schema"], "response_format.json_schema.schema"));
    }
  }
  const OJson* grammar_text = nullptr;
  if (auto it = j.find("grammar"); it != j.end() && !it->is_null()) grammar_text = &*it;
  if (auto o = j.find("options"); o != j.end() && o->is_object())
    if (auto it = o->find("grammar"); it != o->end() && !it->is_null()) grammar_text = &*it;
  if (grammar_text) {
    if (!grammar_text->is_string()) return make_error("grammar must be a string of GBNF");
    auto c = make_gbnf_constraint(grammar_text->get<std::string>(), tok);
    if (!c.ok()) return make_error("invalid grammar: {}", c.error().message);
    found.push_back(*c);
  }
  if (found.size() > 1) return make_error("give only one of format, response_format and grammar");
  return found.empty() ? std::shared_ptr<TokenConstraint>{} : found[0];
}

}  // namespace corral
