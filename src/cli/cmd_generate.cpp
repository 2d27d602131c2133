// `corral generate -m FILE -p TEXT`: stream a completion from a GGUF file (developer command).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "engine/loaded_model.h"
#include "engine/runner.h"

namespace corral::cli {
namespace {

int cmd_generate(int argc, char** argv) {
  CLI::App app{"Generate text from a GGUF model file", "corral generate"};
  std::string model_path, prompt;
  GenerateRequest req;
  SamplingParams& sp = req.sampling;
  int64_t num_ctx = 2048;
  bool verbose = false;
  int64_t seed = -1;
  app.add_option("-m,--model", model_path, "GGUF file")->required();
  app.add_option("-p,--prompt", prompt, "Prompt text (empty: start from BOS alone)");
  app.add_option("--temperature", sp.temperature, "Sampling temperature (0 = greedy)");
  app.add_option("--top-k", sp.top_k, "Keep the k most likely tokens (0 = all)");
  app.add_option("--top-p", sp.top_p, "Nucleus sampling threshold");
  app.add_option("--min-p", sp.min_p, "Minimum probability relative to the most likely token");
  app.add_option("--typical-p", sp.typical_p, "Locally typical sampling threshold");
  app.add_option("--repeat-penalty", sp.repeat_penalty, "Penalty for repeated tokens");
  app.add_option("--repeat-last-n", sp.repeat_last_n, "Window of tokens the repeat penalty looks at");
  app.add_option("--presence-penalty", sp.presence_penalty, "Presence penalty");
  app.add_option("--frequency-penalty", sp.frequency_penalty, "Frequency penalty");
  app.add_option("--seed", seed, "Random seed (same seed, same output)");
  app.add_option("--num-ctx", num_ctx, "Context length in tokens");
  app.add_option("--stop", req.stop, "Stop string (repeatable)");
  app.add_option("-n,--num-predict", req.num_predict,
                 "Maximum tokens to generate (-1 = until the end of text, at most 10 x num-ctx)");
  bool no_shift = false;
  req.truncate = false;  // a file run by hand: say the prompt is too long rather than cut it
  app.add_flag("--truncate", req.truncate, "Cut a prompt longer than the context (keep its start and end)");
  app.add_flag("--no-context-shift", no_shift, "Stop at the context limit instead of dropping old tokens");
  app.add_option("--keep", req.num_keep, "Tokens kept at the start when the context shifts or a prompt is cut");
  app.add_flag("--verbose", verbose, "Print timings to stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  req.shift = !no_shift;
  if (seed >= 0) {
    sp.seed = static_cast<uint64_t>(seed);
    sp.has_seed = true;
  }
  auto loaded = load_model(model_path);
  if (!loaded) {
    std::fprintf(stderr, "Error: %s\n", loaded.error().message.c_str());
    return 1;
  }
  RunnerParams rp;
  rp.n_ctx = num_ctx;
  auto runner = Runner::create(loaded->model, loaded->tokenizer, rp);
  if (!runner) {
    std::fprintf(stderr, "Error: %s\n", runner.error().message.c_str());
    return 1;
  }
  req.prompt = prompt;
  auto result = (*runner)->generate(std::move(req), [](const GenerateEvent& ev) {
    std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  if (!result) {
    std::fprintf(stderr, "Error: %s: %s\n", model_path.c_str(), result.error().message.c_str());
    return 1;
  }
  std::printf("\n");
  if (result->done_reason == "error") {
    std::fprintf(stderr, "Error: %s\n", result->error.c_str());
    return 1;
  }
  if (verbose) {
    const double pe = static_cast<double>(result->prompt_eval_ns) / 1e9;
    const double ev = static_cast<double>(result->eval_ns) / 1e9;
    std::fprintf(stderr, "prompt eval: %d tokens in %.3f s (%.1f tokens/s)\n", result->prompt_eval_count, pe,
                 pe > 0 ? result->prompt_eval_count / pe : 0.0);
    std::fprintf(stderr, "eval: %d tokens in %.3f s (%.1f tokens/s), done: %s\n", result->eval_count, ev,
                 ev > 0 ? result->eval_count / ev : 0.0, result->done_reason.c_str());
  }
  return 0;
}

}  // namespace

CORRAL_COMMAND("generate", "Generate text from a GGUF file (developer command)", cmd_generate);

}  // namespace corral::cli
