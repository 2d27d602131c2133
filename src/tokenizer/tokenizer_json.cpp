// tokenizer.json -> GGUF tokenizer metadata for byte-level BPE and SentencePiece-style BPE
// vocabularies.
#include "tokenizer/tokenizer_json.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace corral {

namespace {

using nlohmann::json;

// The Split regexes of the known byte-level pre-tokenizers, as written in tokenizer.json.
constexpr std::string_view kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// Qwen 3.5 / 3.6: Qwen2's with marks in the letter runs (llama.cpp names it "qwen35").
constexpr std::string_view kQwen35Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| "
    "?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// o200k (gpt-oss): case-aware letter runs with the contraction attached.
constexpr std::string_view kO200kRegex =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
    "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Collects every Split regex and whether a ByteLevel step is present.
void scan_pre_tokenizer(const json& pt, std::vector<std::string>& regexes, bool& byte_level) {
  if (!pt.is_object()) return;
  const std::string type = pt.value("type", "");
  if (type == "Sequence" && pt.contains("pretokenizers") && pt["pretokenizers"].is_array()) {
    for (const auto& p : pt["pretokenizers"]) scan_pre_tokenizer(p, regexes, byte_level);
  } else if (type == "Split" && pt.contains("pattern") && pt["pattern"].is_object()) {
    const auto& pat = pt["pattern"];
    if (pat.contains("Regex") && pat["Regex"].is_string()) {
      regexes.push_back(pat["Regex"].get<std::string>());
    }
  } else if (type == "ByteLevel") {
    byte_level = true;
  }
}

// A special-token entry in tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> config_token(const json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return v["content"].get<std::string>();
  }
  return std::nullopt;
}

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// How a SentencePiece-style tokenizer.json turns text into the symbols its BPE model starts
// from: spaces become U+2581 (a Replace normaliser, or a Metaspace pre-tokenizer that does not
// split), perhaps with one U+2581 put in front (Prepend, or Metaspace's prepend scheme).
struct SpmStyle {
  bool escapes_spaces = false;
  bool prepends_space = false;
  std::string problem;  // a step corral's SentencePiece tokenizer does not do
};

void scan_spm_normalizer(const json& n, SpmStyle& spm) {
  if (n.is_null()) return;
  if (!n.is_object()) {
    spm.problem = "normalizer that is not an object";
    return;
  }
  const std::string type = n.value("type", "");
  if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
    for (const auto& step : n["normalizers"]) scan_spm_normalizer(step, spm);
  } else if (type == "Replace" && n.contains("pattern") && n["pattern"].is_object() &&
             n["pattern"].value("String", "") == " " && n.value("content", "") == kSpmSpace) {
    spm.escapes_spaces = true;
  } else if (type == "Prepend" && n.value("prepend", "") == kSpmSpace) {
    spm.prepends_space = true;
  } else {
    spm.problem = "normalizer '" + type + "'";
  }
}

void scan_spm_pre_tokenizer(const json& pt, SpmStyle& spm) {
  if (pt.is_null()) return;
  if (!pt.is_object()) {
    spm.problem = "pre-tokenizer that is not an object";
    return;
  }
  const std::string type = pt.value("type", "");
  if (type == "Sequence" && pt.contains("pretokenizers") && pt["pretokenizers"].is_array()) {
    for (const auto& step : pt["pretokenizers"]) scan_spm_pre_tokenizer(step, spm);
  } else if (type == "Metaspace" && pt.value("split", true)) {
    spm.problem = "Metaspace pre-tokenizer that splits the text at spaces";
  } else if (type == "Metaspace" && pt.value("replacement", "") == kSpmSpace) {
    spm.escapes_spaces = true;
    // Newer files say prepend_scheme ("always", "first", "never"), older ones add_prefix_space.
    const std::string scheme = pt.value("prepend_scheme", "");
    spm.prepends_space = scheme.empty() ? pt.value("add_prefix_space", true) : scheme != "never";
  } else if (type == "Split" && spm.escapes_spaces && pt.contains("pattern") &&
             pt["pattern"].is_object() && pt["pattern"].value("String", "") == " ") {
    // Gemma's: a split at " " after the normaliser has turned every " " into U+2581 finds
    // nothing to split, so the whole text goes to the model as one piece.
  } else {
    spm.problem = "pre-tokenizer '" + type + "'";
  }
}

// model.vocab and added_tokens, by id.
struct JsonVocab {
  std::map<int64_t, std::string> by_id;
  std::map<int64_t, TokenType> added_types;
  std::vector<int32_t> lstrip_ids, rstrip_ids;  // added tokens that eat the whitespace beside them
  std::unordered_map<std::string, int64_t> text_to_id;
};

Result<JsonVocab> read_vocab(const json& tj, const json& model) {
  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return make_error("tokenizer.json model has no vocab object");
  }
  JsonVocab v;
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) return make_error("vocab entry '{}' has a non-integer id", text);
    v.by_id[id.get<int64_t>()] = text;
  }
  if (tj.contains("added_tokens") && tj["added_tokens"].is_array()) {
    for (const auto& t : tj["added_tokens"]) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() ||
          !t.contains("content") || !t["content"].is_string()) {
        return make_error("malformed added_tokens entry");
      }
      const int64_t id = t["id"].get<int64_t>();
      v.by_id[id] = t["content"].get<std::string>();
      v.added_types[id] = t.value("special", false) ? TokenType::kControl : TokenType::kUserDefined;
      if (t.value("lstrip", false)) v.lstrip_ids.push_back(static_cast<int32_t>(id));
      if (t.value("rstrip", false)) v.rstrip_ids.push_back(static_cast<int32_t>(id));
    }
  }
  if (v.by_id.empty()) return make_error("tokenizer.json has an empty vocabulary");
  if (v.by_id.begin()->first < 0 || v.by_id.rbegin()->first >= (int64_t{1} << 24)) {
    return make_error("token ids out of range ({}..{})", v.by_id.begin()->first,
                      v.by_id.rbegin()->first);
  }
  // Every missing id becomes a "[PADn]" token, so a handful of tokens with an id in the
  // millions would make a vocabulary of millions; real files leave few holes, if any.
  const auto n_ids = static_cast<size_t>(v.by_id.rbegin()->first + 1);
  if (n_ids > 65536 && n_ids > 2 * v.by_id.size()) {
    return make_error("token ids are sparse: {} tokens spread over ids 0..{}", v.by_id.size(),
                      n_ids - 1);
  }
  for (const auto& [id, text] : v.by_id) v.text_to_id[text] = id;  // duplicates: the last id
  return v;
}

// Merges: "a b" strings (older files) or ["a", "b"] pairs (newer files), in rank order.
Result<std::vector<std::pair<std::string, std::string>>> read_merges(const json& model) {
  if (!model.contains("merges") || !model["merges"].is_array()) {
    return make_error("tokenizer.json model has no merges array");
  }
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(model["merges"].size());
  for (const auto& m : model["merges"]) {
    if (m.is_string()) {
      const std::string& text = m.get_ref<const std::string&>();
      const size_t sp = text.size() > 1 ? text.find(' ', 1) : std::string::npos;
      if (sp == std::string::npos) return make_error("merges entry '{}' has no space", text);
      merges.emplace_back(text.substr(0, sp), text.substr(sp + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      return make_error("malformed merges entry");
    }
  }
  return merges;
}

// Dense token list and types from the id map; holes become unused "[PADn]" tokens.
void dense_tokens(const JsonVocab& v, std::vector<std::string>& tokens,
                  std::vector<int32_t>& types) {
  const auto n = static_cast<size_t>(v.by_id.rbegin()->first + 1);
  tokens.assign(n, {});
  types.assign(n, static_cast<int32_t>(TokenType::kUnused));
  for (size_t i = 0; i < n; ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";
  for (const auto& [id, text] : v.by_id) {
    const auto i = static_cast<size_t>(id);
    tokens[i] = text;
    const auto it = v.added_types.find(id);
    types[i] = static_cast<int32_t>(it == v.added_types.end() ? TokenType::kNormal : it->second);
  }
}

bool is_byte_token_text(std::string_view text) {
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
  };
  return text.size() == 6 && text.substr(0, 3) == "<0x" && hex(text[3]) && hex(text[4]) &&
         text[5] == '>';
}

Status write_byte_level(const json& model, const std::vector<std::string>& regexes,
                        const JsonVocab& v, GgufWriter& out, const TokenizerJsonOptions& options) {
  std::string pre = options.pre;
  if (pre.empty()) {
    if (regexes.size() == 1 && regexes[0] == kLlama3Regex) {
      pre = "llama-bpe";
    } else if (regexes.size() == 1 && regexes[0] == kQwen2Regex) {
      pre = "qwen2";
    } else if (regexes.size() == 1 && regexes[0] == kQwen35Regex) {
      pre = "qwen35";
    } else if (regexes.size() == 1 && regexes[0] == kO200kRegex) {
      pre = "gpt-4o";  // the name llama.cpp's converter writes for o200k
    } else if (regexes.empty()) {
      pre = "gpt-2";  // ByteLevel with its built-in GPT-2 regex
    } else {
      return make_error("unrecognised pre-tokenizer regex '{}'; pass the pre-tokenizer name",
                        regexes[0]);
    }
  }
  if (!pre_tokenizer_from_name(pre)) return make_error("unknown pre-tokenizer '{}'", pre);
  auto pairs = read_merges(model);
  if (!pairs.ok()) return pairs.error();
  std::vector<std::string> merges;
  merges.reserve(pairs->size());
  for (const auto& [a, b] : *pairs) merges.push_back(a + " " + b);

  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  dense_tokens(v, tokens, types);
  out.set_string("tokenizer.ggml.model", "gpt2");
  out.set_string("tokenizer.ggml.pre", pre);
  out.set_string_array("tokenizer.ggml.tokens", tokens);
  out.set_i32_array("tokenizer.ggml.token_type", types);
  out.set_string_array("tokenizer.ggml.merges", merges);
  return {};
}

// SentencePiece-style BPE (Llama 2, Mistral, Gemma): written as the "llama" vocabulary, which
// has no merge list. corral's SentencePiece tokenizer merges, among adjacent symbols whose
// concatenation is a token, the one whose token has the highest score (ties: leftmost), so a
// token's score is minus the rank of the first merge that makes it: the Hugging Face BPE, which
// applies the lowest-ranked merge first, then picks the same pairs as long as all merges that
// make one token sit together in the list (true of lists converted from SentencePiece models,
// where they are sorted by the score of the token they make).
Status write_spm(const json& model, const SpmStyle& spm, const JsonVocab& v, GgufWriter& out) {
  auto merges = read_merges(model);
  if (!merges.ok()) return merges.error();
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  dense_tokens(v, tokens, types);
  // Tokens no merge makes come last should they ever be candidates.
  const float no_merge = -static_cast<float>(merges->size()) - 1.0f;
  std::vector<float> scores(tokens.size(), no_merge);
  std::string joined;
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const auto& [a, b] = (*merges)[rank];
    if (!v.text_to_id.contains(a) || !v.text_to_id.contains(b)) continue;
    joined = a;
    joined += b;
    const auto it = v.text_to_id.find(joined);
    if (it == v.text_to_id.end()) continue;
    float& score = scores[static_cast<size_t>(it->second)];
    if (score == no_merge) score = -static_cast<float>(rank);
  }
  if (model.value("byte_fallback", false)) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (types[i] == static_cast<int32_t>(TokenType::kNormal) && is_byte_token_text(tokens[i])) {
        types[i] = static_cast<int32_t>(TokenType::kByte);
      }
    }
  }
  out.set_string("tokenizer.ggml.model", "llama");
  out.set_string("tokenizer.ggml.pre", "default");
  out.set_string_array("tokenizer.ggml.tokens", tokens);
  out.set_f32_array("tokenizer.ggml.scores", scores);
  out.set_i32_array("tokenizer.ggml.token_type", types);
  out.set_bool("tokenizer.ggml.add_space_prefix", spm.prepends_space);
  return {};
}

Status convert(const json& tj, const json& config, GgufWriter& out,
               const TokenizerJsonOptions& options) {
  if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_object()) {
    return make_error("tokenizer.json has no \"model\" object");
  }
  const json& model = tj["model"];
  const std::string model_type = model.value("type", "");
  if (model_type != "BPE") {
    return make_error("tokenizer.json model type '{}' is not supported (only BPE)", model_type);
  }
  std::vector<std::string> regexes;
  bool byte_level = false;
  if (tj.contains("pre_tokenizer")) scan_pre_tokenizer(tj["pre_tokenizer"], regexes, byte_level);
  SpmStyle spm;
  if (!byte_level) {
    if (tj.contains("normalizer")) scan_spm_normalizer(tj["normalizer"], spm);
    if (tj.contains("pre_tokenizer")) scan_spm_pre_tokenizer(tj["pre_tokenizer"], spm);
    if (!spm.problem.empty()) {
      return make_error("tokenizer.json has no ByteLevel pre-tokenizer, and its {} is not "
                        "supported for SentencePiece-style BPE",
                        spm.problem);
    }
    if (!spm.escapes_spaces) {
      return make_error("tokenizer.json has neither a ByteLevel pre-tokenizer nor a "
                        "SentencePiece-style normalizer that turns spaces into U+2581");
    }
    if (!options.pre.empty()) {
      return make_error("a pre-tokenizer name applies only to byte-level BPE vocabularies");
    }
  }

  auto vocab = read_vocab(tj, model);
  if (!vocab.ok()) return vocab.error();
  const JsonVocab& v = *vocab;
  CORRAL_TRY(byte_level ? write_byte_level(model, regexes, v, out, options)
                        : write_spm(model, spm, v, out));
  if (!v.lstrip_ids.empty()) out.set_i32_array(kGgufLstripIdsKey, v.lstrip_ids);
  if (!v.rstrip_ids.empty()) out.set_i32_array(kGgufRstripIdsKey, v.rstrip_ids);

  auto set_id = [&](const char* config_key, const char* gguf_key) -> Status {
    auto text = config_token(config, config_key);
    if (!text && !byte_level && std::string_view(config_key) == "unk_token" &&
        model.contains("unk_token") && model["unk_token"].is_string()) {
      text = model["unk_token"].get<std::string>();  // SentencePiece-style models name it
    }
    if (!text) return {};
    const auto it = v.text_to_id.find(*text);
    if (it == v.text_to_id.end()) {
      return make_error("tokenizer_config.json {} '{}' is not in the vocabulary", config_key,
                        *text);
    }
    out.set_u32(gguf_key, static_cast<uint32_t>(it->second));
    return {};
  };
  CORRAL_TRY(set_id("bos_token", "tokenizer.ggml.bos_token_id"));
  CORRAL_TRY(set_id("eos_token", "tokenizer.ggml.eos_token_id"));
  CORRAL_TRY(set_id("unk_token", "tokenizer.ggml.unknown_token_id"));
  CORRAL_TRY(set_id("pad_token", "tokenizer.ggml.padding_token_id"));

  // add_bos/add_eos: stated in the config, or implied by a TemplateProcessing post-processor.
  std::optional<bool> add_bos, add_eos;
  if (config.is_object()) {
    if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
      add_bos = config["add_bos_token"].get<bool>();
    }
    if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean()) {
      add_eos = config["add_eos_token"].get<bool>();
    }
  }
  if (!add_bos && tj.contains("post_processor") && tj["post_processor"].is_object()) {
    const json& pp = tj["post_processor"];
    if (pp.value("type", "") == "TemplateProcessing" && pp.contains("single") &&
        pp["single"].is_array() && !pp["single"].empty()) {
      add_bos = pp["single"].front().contains("SpecialToken");
      add_eos = pp["single"].back().contains("SpecialToken");
    }
  }
  if (add_bos) out.set_bool("tokenizer.ggml.add_bos_token", *add_bos);
  if (add_eos) out.set_bool("tokenizer.ggml.add_eos_token", *add_eos);

  if (config.is_object() && config.contains("chat_template")) {
    const json& ct = config["chat_template"];
    if (ct.is_string()) {
      out.set_string("tokenizer.chat_template", ct.get<std::string>());
    } else if (ct.is_array()) {
      for (const auto& entry : ct) {
        if (entry.is_object() && entry.value("name", "") == "default" &&
            entry.contains("template") && entry["template"].is_string()) {
          out.set_string("tokenizer.chat_template", entry["template"].get<std::string>());
        }
      }
    }
  }
  return {};
}

}  // namespace

Status tokenizer_json_to_gguf_metadata(const std::string& tokenizer_json,
                                       const std::string& tokenizer_config_json, GgufWriter& out,
                                       const TokenizerJsonOptions& options) {
  const json tj = json::parse(tokenizer_json, nullptr, /*allow_exceptions=*/false);
  if (tj.is_discarded()) return make_error("tokenizer.json is not valid JSON");
  json config = json::object();
  if (!tokenizer_config_json.empty()) {
    config = json::parse(tokenizer_config_json, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded()) return make_error("tokenizer_config.json is not valid JSON");
  }
  try {
    return convert(tj, config, out, options);
  } catch (const json::exception& e) {  // a field of an unexpected type
    return make_error("tokenizer.json: {}", e.what());
  }
}

}  // namespace corral
