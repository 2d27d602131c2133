// TokenConstraint over a GrammarMatcher.
#include "engine/grammar_constraint.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "sampling/grammar/json_schema.h"
#include "sampling/grammar/matcher.h"

namespace corral {

namespace {

class GrammarConstraint final : public TokenConstraint {
 public:
  GrammarConstraint(std::shared_ptr<const grammar::CompiledGrammar> g, std::shared_ptr<const grammar::VocabTrie> v)
      : m_(std::move(g), std::move(v)) {}
  void mask(float* logits, int32_t n_vocab) override { m_.mask_logits(logits, n_vocab, tokens_left_); }
  void accept(int32_t token) override { m_.accept_token(token); }
  // Complete (nothing else may follow) or stuck (a token the mask forbade was forced in).
  bool done() const override { return m_.finished() || m_.failed(); }
  void set_tokens_left(int32_t tokens_left) override { tokens_left_ = tokens_left; }
  uint32_t min_tokens() const override { return m_.min_tokens_to_accept(); }
  bool budget_forced() const override { return m_.budget_forced(); }

  // Text that arrived inside the token that started a deferred constraint. Whitespace the
  // grammar rejects is skipped (the answer's parsers trim it anyway).
  void accept_text(const std::string& text) {
    const bool blank = text.find_first_not_of(" \t\r\n") == std::string::npos;
    if (blank) {
      grammar::GrammarMatcher trial = m_;
      if (trial.accept_bytes(text)) m_ = std::move(trial);
      return;
    }
    m_.accept_bytes(text);
  }

 private:
  grammar::GrammarMatcher m_;
  int32_t tokens_left_ = -1;
};

class DeferredConstraint final : public TokenConstraint {
 public:
  DeferredConstraint(std::shared_ptr<TokenConstraint> inner, std::shared_ptr<const grammar::VocabTrie> vocab,
                     std::vector<ConstraintStart> starts)
      : inner_(std::move(inner)), vocab_(std::move(vocab)), starts_(std::move(starts)) {}

  void mask(float* logits, int32_t n_vocab) override {
    if (active()) return inner_->mask(logits, n_vocab);
    if (starts_[stage_].allow_end) return;
    for (int32_t id : vocab_->eog)
      if (id >= 0 && id < n_vocab) logits[id] = -std::numeric_limits<float>::infinity();
  }

  void accept(int32_t token) override {
    if (active()) return inner_->accept(token);
    if (token >= 0 && static_cast<size_t>(token) < vocab_->pieces.size()) seen_ += vocab_->pieces[static_cast<size_t>(token)];
    while (!active()) {
      const std::string& trigger = starts_[stage_].trigger;
      const size_t pos = seen_.find(trigger);
      if (pos == std::string::npos) {
        // Keep only what could be the start of the trigger.
        if (seen_.size() >= trigger.size()) seen_.erase(0, seen_.size() - (trigger.size() - 1));
        return;
      }
      seen_.erase(0, pos + trigger.size());
      ++stage_;
    }
    if (!seen_.empty())
      if (auto* g = dynamic_cast<GrammarConstraint*>(inner_.get())) g->accept_text(seen_);
    seen_.clear();
  }

  bool done() const override { return active() && inner_->done(); }
  // The budget applies once the constraint is active; before that (thinking, free text before a
  // tool call) the length of the free part is unknown, so nothing is promised.
  void set_tokens_left(int32_t tokens_left) override { inner_->set_tokens_left(active() ? tokens_left : -1); }
  uint32_t min_tokens() const override { return active() ? inner_->min_tokens() : 0; }
  bool budget_forced() const override { return active() && inner_->budget_forced(); }

 private:
  bool active() const { return stage_ >= starts_.size(); }

  std::shared_ptr<TokenConstraint> inner_;
  std::shared_ptr<const grammar::VocabTrie> vocab_;
  std::vector<ConstraintStart> starts_;
  size_t stage_ = 0;
  std::string seen_;
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

Result<grammar::Grammar> compose_grammar(
    std::string_view gbnf, const std::vector<std::pair<std::string, nlohmann::ordered_json>>& slots) {
  auto parsed = grammar::parse_gbnf(gbnf);
  if (!parsed.ok()) return parsed.error();
  grammar::Grammar g = std::move(*parsed);
  for (const auto& [slot, schema] : slots) {
    uint32_t at = 0;
    while (at < g.rules.size() && g.rules[at].name != slot) ++at;
    if (at == g.rules.size()) return make_error("grammar has no rule \"{}\" to fill", slot);
    auto text = grammar::json_value_schema_to_gbnf(schema);
    if (!text.ok()) return make_error("{}: {}", slot, text.error().message);
    auto sub = grammar::parse_gbnf(*text);
    if (!sub.ok()) return make_error("{}: {}", slot, sub.error().message);
    const auto rule_base = static_cast<uint32_t>(g.rules.size());
    const auto set_base = static_cast<uint32_t>(g.charsets.size());
    for (auto& cs : sub->charsets) g.charsets.push_back(std::move(cs));
    for (auto& r : sub->rules) {
      r.name = slot + "-" + r.name;
      for (auto& alt : r.alternatives)
        for (auto& e : alt) e.index += e.kind == grammar::Element::Kind::kRule ? rule_base : set_base;
      g.rules.push_back(std::move(r));
    }
    g.rules[at].alternatives = {{grammar::Element{grammar::Element::Kind::kRule, rule_base + sub->root}}};
  }
  CORRAL_TRY(grammar::validate_grammar(g));
  return g;
}

std::shared_ptr<TokenConstraint> defer_constraint(std::shared_ptr<TokenConstraint> inner, const Tokenizer& tok,
                                                  std::vector<ConstraintStart> starts) {
  if (!inner || starts.empty()) return inner;
  return std::make_shared<DeferredConstraint>(std::move(inner), grammar::VocabTrie::for_tokenizer(tok),
                                              std::move(starts));
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
