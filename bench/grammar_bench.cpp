// Per-token cost of grammar-constrained decoding: the token mask of the JSON grammar over a
// real vocabulary (e.g. Llama 3's 128k tokens), along the tokens of sample JSON documents.
// Usage: grammar_bench MODEL.gguf (only its tokenizer is read). Reports the trie build time, the
// mask time per token for a fresh matcher (what each request pays) and for a cached mask, and that
// cost as a share of a 1B model's decode step (~40 ms on a laptop CPU); then the budget check
// (issue 24): the cached mask under an ample budget, the budgeted mask in the last tokens, and
// the shortest-completion costs computed once per request.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "sampling/grammar/json_schema.h"
#include "sampling/grammar/matcher.h"
#include "tokenizer/tokenizer.h"

using namespace corral;

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct Stats {
  double mean_ms, p50_ms, max_ms;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  return {sum / static_cast<double>(v.size()), v[v.size() / 2], v.back()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
    return 1;
  }
  auto file = GgufFile::open(argv[1]);
  if (!file.ok()) {
    std::fprintf(stderr, "%s\n", file.error().message.c_str());
    return 1;
  }
  auto tok = Tokenizer::from_gguf(**file);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s\n", tok.error().message.c_str());
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto trie = grammar::VocabTrie::build(**tok);
  std::printf("vocab %d tokens, trie %zu nodes, built in %.1f ms\n", (*tok)->n_vocab(), trie->byte.size(), ms_since(t0));

  const std::string docs[] = {
      R"({"name": "Ada Lovelace", "age": 36, "tags": ["math", "poetry"], "address": {"city": "London", "zip": null}, "score": -12.5e3, "ok": true})",
      R"({"items": [{"id": 1, "label": "first item"}, {"id": 2, "label": "second, with \"quotes\" and é"}], "count": 2, "next": false})",
  };
  struct G {
    const char* name;
    std::string gbnf;
  };
  auto schema = grammar::json_schema_to_gbnf(
      R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},)"
      R"("tags":{"type":"array","items":{"type":"string"},"maxItems":8},"address":{"type":"object","properties":)"
      R"({"city":{"type":"string"},"zip":{"type":["string","null"]}}},"score":{"type":"number"},"ok":{"type":"boolean"}},)"
      R"("required":["name","age"]})");
  if (!schema.ok()) {
    std::fprintf(stderr, "%s\n", schema.error().message.c_str());
    return 1;
  }
  const G grammars[] = {{"json object", grammar::json_object_gbnf()}, {"schema", *schema}};
  std::vector<float> logits(static_cast<size_t>((*tok)->n_vocab()));
  for (const G& gd : grammars) {
    auto g = grammar::parse_gbnf(gd.gbnf);
    if (!g.ok()) {
      std::fprintf(stderr, "%s\n", g.error().message.c_str());
      return 1;
    }
    auto cg = grammar::CompiledGrammar::compile(*g);
    auto t_costs = std::chrono::steady_clock::now();
    auto costs = grammar::CompletionCosts::compute(*cg, *trie);
    const double costs_ms = ms_since(t_costs);
    std::vector<double> cold, warm, ample, tight;
    const size_t n_docs = &gd == &grammars[0] ? std::size(docs) : 1;  // the schema fits document 0
    for (size_t d = 0; d < n_docs; ++d) {
      grammar::GrammarMatcher m(cg, trie, costs);  // a fresh matcher per document, as per request
      for (int32_t id : (*tok)->encode(docs[d], false, false)) {
        auto t = std::chrono::steady_clock::now();
        m.mask_logits(logits.data(), (*tok)->n_vocab());
        cold.push_back(ms_since(t));
        t = std::chrono::steady_clock::now();
        m.mask_logits(logits.data(), (*tok)->n_vocab());  // the same state again: a cached mask
        warm.push_back(ms_since(t));
        // With a budget far from the end: the cached mask plus one comparison.
        t = std::chrono::steady_clock::now();
        m.mask_logits(logits.data(), (*tok)->n_vocab(), 1 << 20);
        ample.push_back(ms_since(t));
        // In the last tokens: one more token than the shortest completion, so every token that
        // does not head for the end is checked and removed (a budgeted walk of the trie).
        const auto left = static_cast<int32_t>(m.min_tokens_to_accept()) + 1;
        t = std::chrono::steady_clock::now();
        m.mask_logits(logits.data(), (*tok)->n_vocab(), left);
        tight.push_back(ms_since(t));
        if (!m.accept_token(id)) {
          std::fprintf(stderr, "%s: document %zu left the grammar at token %d\n", gd.name, d, id);
          return 1;
        }
      }
    }
    const Stats c = stats(cold), w = stats(warm);
    std::printf("%-12s fresh matcher: %.3f ms/token mean (p50 %.3f, max %.2f) = %.1f%% of a 40 ms decode step\n", gd.name,
                c.mean_ms, c.p50_ms, c.max_ms, 100.0 * c.mean_ms / 40.0);
    std::printf("%-12s cached mask:   %.3f ms/token mean (p50 %.3f, max %.2f)\n", gd.name, w.mean_ms, w.p50_ms, w.max_ms);
    const Stats a = stats(ample), b = stats(tight);
    std::printf("%-12s ample budget:  %.3f ms/token mean (p50 %.3f, max %.2f) = %.2fx the cached mask\n", gd.name,
                a.mean_ms, a.p50_ms, a.max_ms, a.mean_ms / w.mean_ms);
    std::printf("%-12s tight budget:  %.3f ms/token mean (p50 %.3f, max %.2f) = %.2fx the fresh mask, %.1f%% of 40 ms\n",
                gd.name, b.mean_ms, b.p50_ms, b.max_ms, b.mean_ms / c.mean_ms, 100.0 * b.mean_ms / 40.0);
    std::printf("%-12s completion costs: %.2f ms once per request (shortest answer %u tokens)\n", gd.name, costs_ms,
                costs->root_cost(*cg));
  }
  return 0;
}
