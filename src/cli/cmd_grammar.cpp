// `corral grammar`: convert a JSON Schema to GBNF, check a grammar, and sample constrained
// generations into a JSONL file (developer command; the schema test drives it).
#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "cli/command.h"
#include "engine/grammar_constraint.h"
#include "engine/loaded_model.h"
#include "engine/runner.h"
#include "sampling/grammar/json_schema.h"
#include "sampling/grammar/matcher.h"

namespace corral::cli {
namespace {

// Measures the time spent in mask() (the grammar's per-token cost).
class TimedConstraint final : public TokenConstraint {
 public:
  explicit TimedConstraint(std::shared_ptr<TokenConstraint> inner) : inner_(std::move(inner)) {}
  void mask(float* logits, int32_t n_vocab) override {
    const auto t0 = std::chrono::steady_clock::now();
    inner_->mask(logits, n_vocab);
    ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    ++n_;
  }
  void accept(int32_t token) override { inner_->accept(token); }
  bool done() const override { return inner_->done(); }
  void set_tokens_left(int32_t tokens_left) override { inner_->set_tokens_left(tokens_left); }
  uint32_t min_tokens() const override { return inner_->min_tokens(); }
  bool budget_forced() const override { return inner_->budget_forced(); }
  int64_t ns_ = 0;
  int64_t n_ = 0;

 private:
  std::shared_ptr<TokenConstraint> inner_;
};

Result<std::string> read_text(const std::string& path) {
  return read_file(path);
}

int cmd_grammar(int argc, char** argv) {
  CLI::App app{"Grammar-constrained output: convert schemas, check grammars, sample", "corral grammar"};
  app.require_subcommand(1);
  std::string schema_path, gbnf_path, model_path, out_path, prompt = "JSON:";
  bool json_object = false, allow_length = false, min_tokens = false;
  int count = 10, num_predict = 2000, parallel = 1;
  uint64_t seed = 1;
  float temperature = 1.0f;
  auto* convert = app.add_subcommand("convert", "Print the GBNF of a JSON Schema");
  convert->add_option("schema", schema_path, "JSON Schema file")->required();
  auto* check = app.add_subcommand("check", "Parse a GBNF file and print it back");
  check->add_option("gbnf", gbnf_path, "GBNF file")->required();
  auto* sample = app.add_subcommand("sample", "Constrained generations to JSONL (one object per line; \"parses\": JSON parses, or for --gbnf the grammar matches)");
  sample->add_option("-m,--model", model_path, "GGUF file")->required();
  sample->add_option("--schema", schema_path, "JSON Schema file");
  sample->add_option("--gbnf", gbnf_path, "GBNF file");
  sample->add_flag("--json", json_object, "Any JSON object");
  sample->add_option("--count", count, "Generations");
  sample->add_option("--seed", seed, "Seed of the first generation (then +1 each)");
  sample->add_option("--temperature", temperature, "Sampling temperature");
  sample->add_option("-n,--num-predict", num_predict, "Token limit per generation");
  sample->add_option("--parallel", parallel, "Generations decoded together");
  sample->add_option("-p,--prompt", prompt, "Prompt");
  sample->add_option("-o,--out", out_path, "JSONL output");
  sample->add_flag("--allow-length", allow_length,
                   "An output cut by the token limit is fine if it parses (budget-aware constraints)");
  sample->add_flag("--min-tokens", min_tokens,
                   "Print the fewest tokens of a complete answer with this model's vocabulary, and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*convert || *check) {
    auto text = read_text(*convert ? schema_path : gbnf_path);
    if (!text.ok()) {
      std::fprintf(stderr, "Error: %s\n", text.error().message.c_str());
      return 1;
    }
    auto g = *convert ? grammar::json_schema_to_grammar(*text) : grammar::parse_gbnf(*text);
    if (!g.ok()) {
      std::fprintf(stderr, "Error: %s\n", g.error().message.c_str());
      return 1;
    }
    std::fputs(grammar::to_gbnf(*g).c_str(), stdout);
    return 0;
  }
  if (schema_path.empty() + gbnf_path.empty() + !json_object != 2) {
    std::fprintf(stderr, "Error: give exactly one of --schema, --gbnf, --json\n");
    return 1;
  }
  std::string source;
  if (!json_object) {
    auto text = read_text(schema_path.empty() ? gbnf_path : schema_path);
    if (!text.ok()) {
      std::fprintf(stderr, "Error: %s\n", text.error().message.c_str());
      return 1;
    }
    source = std::move(*text);
  }
  auto loaded = load_model(model_path);
  if (!loaded) {
    std::fprintf(stderr, "Error: %s\n", loaded.error().message.c_str());
    return 1;
  }
  const Tokenizer& tok = *loaded->tokenizer;
  auto grammar = json_object ? grammar::parse_gbnf(grammar::json_object_gbnf())
                 : schema_path.empty() ? grammar::parse_gbnf(source)
                                       : grammar::json_schema_to_grammar(source);
  if (!grammar.ok()) {
    std::fprintf(stderr, "Error: %s\n", grammar.error().message.c_str());
    return 1;
  }
  const auto compiled = grammar::CompiledGrammar::compile(*grammar);
  if (min_tokens) {
    auto costs = grammar::CompletionCosts::compute(*compiled, *grammar::VocabTrie::for_tokenizer(tok));
    std::printf("%u\n", costs->root_cost(*compiled));
    return 0;
  }
  if (out_path.empty()) {
    std::fprintf(stderr, "Error: --out is required\n");
    return 1;
  }
  RunnerParams rp;
  rp.n_ctx = num_predict + 64;
  rp.n_parallel = std::max(1, parallel);
  auto runner = Runner::create(loaded->model, loaded->tokenizer, rp);
  if (!runner) {
    std::fprintf(stderr, "Error: %s\n", runner.error().message.c_str());
    return 1;
  }
  struct Job {
    std::shared_ptr<TimedConstraint> constraint;
    std::string text;
    GenerateEvent final;
  };
  std::vector<Job> jobs(static_cast<size_t>(std::max(0, count)));
  std::mutex mu;
  std::condition_variable cv;
  size_t n_done = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < jobs.size(); ++i) {
    GenerateRequest req;
    req.prompt = prompt;
    req.num_predict = num_predict;
    req.sampling.temperature = temperature;
    req.sampling.top_k = 0;
    req.sampling.top_p = 1.0f;
    req.sampling.min_p = 0.0f;
    req.sampling.repeat_penalty = 1.0f;
    req.sampling.seed = seed + i;
    req.sampling.has_seed = true;
    jobs[i].constraint = std::make_shared<TimedConstraint>(make_grammar_constraint(*grammar, tok));
    req.constraint = jobs[i].constraint;
    auto id = (*runner)->submit(std::move(req), [&, i](const GenerateEvent& ev) {
      std::lock_guard<std::mutex> lock(mu);
      jobs[i].text += ev.text;
      if (ev.done) {
        jobs[i].final = ev;
        ++n_done;
        cv.notify_all();
      }
      return true;
    });
    if (!id) {
      std::fprintf(stderr, "Error: %s\n", id.error().message.c_str());
      return 1;
    }
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return n_done == jobs.size(); });
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ofstream out(out_path);
  int64_t mask_ns = 0, masks = 0, tokens = 0;
  int bad = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& j = jobs[i];
    mask_ns += j.constraint->ns_;
    masks += j.constraint->n_;
    tokens += j.final.eval_count;
    // A GBNF answer is checked against its grammar (a fresh matcher over its bytes), JSON by parsing.
    grammar::GrammarMatcher matcher(compiled, grammar::VocabTrie::for_tokenizer(tok));
    const bool parses = gbnf_path.empty() ? nlohmann::json::accept(j.text) : matcher.accept_bytes(j.text) && matcher.accepting();
    if (!parses || !(j.final.done_reason == "stop" || (allow_length && j.final.done_reason == "length"))) ++bad;
    nlohmann::json line = {{"seed", seed + i}, {"done_reason", j.final.done_reason}, {"tokens", j.final.eval_count},
                           {"parses", parses}, {"output", j.text}};
    out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  out.close();
  std::fprintf(stderr, "%zu generations, %lld tokens in %.2f s; mask %.3f ms/token; %d not parsing or not stopped\n",
               jobs.size(), static_cast<long long>(tokens), wall_s,
               masks ? static_cast<double>(mask_ns) / static_cast<double>(masks) / 1e6 : 0.0, bad);
  return bad == 0 ? 0 : 2;
}

}  // namespace

CORRAL_COMMAND("grammar", "Grammar-constrained output: convert, check, sample (developer command)", cmd_grammar);

}  // namespace corral::cli
