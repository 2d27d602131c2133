// `corral logits -m FILE --tokens "1 2 3" --top K --json`: teacher-forced logits per position,
// in the JSON shape of ../shared/conformance references, so any reference can be compared.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "model/context.h"
#include "model/model.h"

namespace corral::cli {
namespace {

int cmd_logits(int argc, char** argv) {
  CLI::App app{"Print teacher-forced logits for a token sequence", "corral logits"};
  std::string model_path, tokens_text;
  int top = 10;
  bool json = false, one_token = false, full = false;
  app.add_option("-m,--model", model_path, "GGUF file")->required();
  app.add_option("--tokens", tokens_text, "Space-separated token ids")->required();
  app.add_option("--top", top, "Largest logits to list per position");
  app.add_flag("--json", json, "JSON output: {\"positions\":[{\"lse\":..,\"top\":[[id,logit],..]},..]}");
  app.add_flag("--one-token", one_token, "Evaluate one token per forward pass instead of one batch");
  app.add_flag("--full", full, "Include the full logits row per position");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::vector<int32_t> ids;
  std::istringstream in(tokens_text);
  std::string word;
  while (in >> word) {
    try {
      size_t used = 0;
      const long v = std::stol(word, &used);
      if (used != word.size()) throw std::invalid_argument(word);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      std::fprintf(stderr, "Error: '%s' is not a token id\n", word.c_str());
      return 1;
    }
  }
  if (ids.empty()) {
    std::fprintf(stderr, "Error: no tokens given\n");
    return 1;
  }
  auto model = Model::load(model_path);
  if (!model) {
    std::fprintf(stderr, "Error: %s\n", model.error().message.c_str());
    return 1;
  }
  ContextParams cp;
  cp.n_ctx = static_cast<int64_t>(ids.size());
  auto ctx = Context::create(*model, cp);
  if (!ctx) {
    std::fprintf(stderr, "Error: %s\n", ctx.error().message.c_str());
    return 1;
  }
  const auto n_vocab = static_cast<size_t>((*model)->hp.n_vocab);
  std::vector<float> logits;
  Batch batch;
  for (size_t i = 0; i < ids.size(); ++i) {
    batch.add(ids[i], static_cast<int32_t>(i), 0, true);
    if (one_token || i + 1 == ids.size()) {
      auto out = (*ctx)->forward(batch);
      if (!out) {
        std::fprintf(stderr, "Error: %s: %s\n", model_path.c_str(), out.error().message.c_str());
        return 1;
      }
      logits.insert(logits.end(), out->begin(), out->end());
      batch.clear();
    }
  }
  nlohmann::json positions = nlohmann::json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    const float* row = logits.data() + i * n_vocab;
    double mx = row[0];
    for (size_t v = 0; v < n_vocab; ++v) mx = std::max(mx, static_cast<double>(row[v]));
    double sum = 0;
    for (size_t v = 0; v < n_vocab; ++v) sum += std::exp(static_cast<double>(row[v]) - mx);
    std::vector<int32_t> order(n_vocab);
    for (size_t v = 0; v < n_vocab; ++v) order[v] = static_cast<int32_t>(v);
    const size_t k = std::min(static_cast<size_t>(std::max(top, 0)), n_vocab);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), [&](int32_t a, int32_t b) {
      return row[a] > row[b] || (row[a] == row[b] && a < b);
    });
    nlohmann::json p;
    p["lse"] = mx + std::log(sum);
    p["top"] = nlohmann::json::array();
    for (size_t j = 0; j < k; ++j) p["top"].push_back({order[j], row[order[j]]});
    if (full) p["logits"] = std::vector<float>(row, row + n_vocab);
    positions.push_back(std::move(p));
  }
  if (json) {
    std::printf("%s\n", nlohmann::json{{"positions", positions}}.dump().c_str());
  } else {
    for (size_t i = 0; i < positions.size(); ++i) {
      std::printf("position %zu (token %d): lse %.5f top", i, ids[i], positions[i]["lse"].get<double>());
      for (const auto& t : positions[i]["top"]) std::printf(" %d:%.5f", t[0].get<int>(), t[1].get<double>());
      std::printf("\n");
    }
  }
  return 0;
}

}  // namespace

CORRAL_COMMAND("logits", "Print teacher-forced logits for a token sequence", cmd_logits);

}  // namespace corral::cli
