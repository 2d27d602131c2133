// Pair framing for cross-encoders and Qwen3-Reranker's yes/no score (rerank.h).
#include "engine/rerank.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

namespace corral {

Result<RerankPair> frame_rerank_pair(const Tokenizer& tok, std::string_view query, std::string_view doc,
                                     int64_t max_tokens) {
  RerankPair p;
  std::vector<int32_t> q = tok.encode(query, false, false);
  std::vector<int32_t> d = tok.encode(doc, false, false);
  std::vector<int32_t> tail;  // what closes the document
  if (tok.model() == TokenizerModel::kWpm) {
    // BERT's pair: [CLS] (bos) query [SEP] document [SEP].
    if (tok.bos_id() >= 0) p.ids.push_back(tok.bos_id());
    p.ids.insert(p.ids.end(), q.begin(), q.end());
    if (tok.sep_id() >= 0) p.ids.push_back(tok.sep_id());
    if (tok.sep_id() >= 0) tail.push_back(tok.sep_id());
  } else {
    if (tok.bos_id() >= 0) p.ids.push_back(tok.bos_id());
    p.ids.insert(p.ids.end(), q.begin(), q.end());
    if (tok.eos_id() >= 0) p.ids.push_back(tok.eos_id());
    if (tok.sep_id() >= 0) p.ids.push_back(tok.sep_id());
    if (tok.eos_id() >= 0) tail.push_back(tok.eos_id());
  }
  p.second_from = p.ids.size();
  const auto room = max_tokens - static_cast<int64_t>(p.ids.size() + tail.size());
  if (room < 1)
    return make_error("the query's {} tokens leave no room for a document in the context of {}",
                      p.ids.size() + tail.size(), max_tokens);
  if (static_cast<int64_t>(d.size()) > room) d.resize(static_cast<size_t>(room));
  p.ids.insert(p.ids.end(), d.begin(), d.end());
  p.ids.insert(p.ids.end(), tail.begin(), tail.end());
  return p;
}

bool is_decoder_reranker(const Model& model) {
  if (model.hp.encoder) return false;
  if (model.hp.pooling == Pooling::kRank) return true;
  if (model.hp.arch != Arch::kQwen3) return false;
  std::string name = model.file->get_string("general.name").value_or("");
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name.find("reranker") != std::string::npos;
}

std::string qwen3_rerank_prompt(std::string_view query, std::string_view doc, std::string_view instruction) {
  std::string s =
      "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
      "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n<Instruct>: ";
  s += instruction;
  s += "\n<Query>: ";
  s += query;
  s += "\n<Document>: ";
  s += doc;
  s += "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
  return s;
}

std::optional<YesNoTokens> yes_no_tokens(const Tokenizer& tok) {
  auto yes = tok.find_token("yes");
  auto no = tok.find_token("no");
  if (!yes || !no) return std::nullopt;
  return YesNoTokens{*yes, *no};
}

Result<float> decoder_rerank_score(Context& ctx, std::span<const int32_t> ids, YesNoTokens yn) {
  if (ids.empty()) return make_error("an empty rerank prompt");
  if (static_cast<int64_t>(ids.size()) > ctx.params().n_ctx)
    return make_error("the rerank prompt's {} tokens exceed the context of {}", ids.size(), ctx.params().n_ctx);
  constexpr size_t kChunk = 512;
  Batch b;
  for (size_t start = 0; start < ids.size(); start += kChunk) {
    b.clear();
    const size_t end = std::min(ids.size(), start + kChunk);
    for (size_t i = start; i < end; ++i) b.add(ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size());
    auto out = ctx.forward(b);
    if (!out) return out.error();
    if (end == ids.size()) {
      const double diff = static_cast<double>((*out)[static_cast<size_t>(yn.yes)]) - (*out)[static_cast<size_t>(yn.no)];
      return static_cast<float>(1.0 / (1.0 + std::exp(-diff)));
    }
  }
  return make_error("unreachable");
}

}  // namespace corral
