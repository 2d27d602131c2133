// tokenizer.json -> GGUF tokenizer metadata for byte-level BPE vocabularies.
#include "tokenizer/tokenizer_json.h"

#include <cstdint>
#include <map>
#include <optional>
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

Status convert(const json& tj, const json& config, GgufWriter& out,
               const TokenizerJsonOptions& options) {
  if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_object()) {
    return make_error("tokenizer.json has no \"model\" object");
  }
  const json& model = tj["model"];
  const std::string model_type = model.value("type", "");
  if (model_type != "BPE") {
    return make_error("tokenizer.json model type '{}' is not supported (only byte-level BPE)",
                      model_type);
  }
  std::vector<std::string> regexes;
  bool byte_level = false;
  if (tj.contains("pre_tokenizer")) scan_pre_tokenizer(tj["pre_tokenizer"], regexes, byte_level);
  if (!byte_level) {
    return make_error("tokenizer.json has no ByteLevel pre-tokenizer (SentencePiece-style BPE "
                      "is not supported by this converter)");
  }

  std::string pre = options.pre;
  if (pre.empty()) {
    if (regexes.size() == 1 && regexes[0] == kLlama3Regex) {
      pre = "llama-bpe";
    } else if (regexes.size() == 1 && regexes[0] == kQwen2Regex) {
      pre = "qwen2";
    } else if (regexes.empty()) {
      pre = "gpt-2";  // ByteLevel with its built-in GPT-2 regex
    } else {
      return make_error("unrecognised pre-tokenizer regex '{}'; pass the pre-tokenizer name",
                        regexes[0]);
    }
  }
  if (!pre_tokenizer_from_name(pre)) return make_error("unknown pre-tokenizer '{}'", pre);

  // Vocabulary: model.vocab (text -> id) plus added_tokens (which may extend it).
  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return make_error("tokenizer.json model has no vocab object");
  }
  std::map<int64_t, std::string> by_id;
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) return make_error("vocab entry '{}' has a non-integer id", text);
    by_id[id.get<int64_t>()] = text;
  }
  std::map<int64_t, TokenType> added_types;
  std::vector<int32_t> lstrip_ids, rstrip_ids;  // added tokens that eat the whitespace beside them
  if (tj.contains("added_tokens") && tj["added_tokens"].is_array()) {
    for (const auto& t : tj["added_tokens"]) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() ||
          !t.contains("content") || !t["content"].is_string()) {
        return make_error("malformed added_tokens entry");
      }
      const int64_t id = t["id"].get<int64_t>();
      by_id[id] = t["content"].get<std::string>();
      added_types[id] = t.value("special", false) ? TokenType::kControl : TokenType::kUserDefined;
      if (t.value("lstrip", false)) lstrip_ids.push_back(static_cast<int32_t>(id));
      if (t.value("rstrip", false)) rstrip_ids.push_back(static_cast<int32_t>(id));
    }
  }
  if (by_id.empty()) return make_error("tokenizer.json has an empty vocabulary");
  if (by_id.begin()->first < 0 || by_id.rbegin()->first >= (int64_t{1} << 24)) {
    return make_error("token ids out of range ({}..{})", by_id.begin()->first,
                      by_id.rbegin()->first);
  }
  const auto n = static_cast<size_t>(by_id.rbegin()->first + 1);
  std::vector<std::string> tokens(n);
  std::vector<int32_t> types(n, static_cast<int32_t>(TokenType::kUnused));
  for (size_t i = 0; i < n; ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";  // holes
  for (const auto& [id, text] : by_id) {
    const auto i = static_cast<size_t>(id);
    tokens[i] = text;
    const auto it = added_types.find(id);
    types[i] = static_cast<int32_t>(it == added_types.end() ? TokenType::kNormal : it->second);
  }

  // Merges: "a b" strings (older files) or ["a", "b"] pairs (newer files).
  std::vector<std::string> merges;
  if (!model.contains("merges") || !model["merges"].is_array()) {
    return make_error("tokenizer.json model has no merges array");
  }
  merges.reserve(model["merges"].size());
  for (const auto& m : model["merges"]) {
    if (m.is_string()) {
      merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      return make_error("malformed merges entry");
    }
  }

  out.set_string("tokenizer.ggml.model", "gpt2");
  out.set_string("tokenizer.ggml.pre", pre);
  out.set_string_array("tokenizer.ggml.tokens", tokens);
  out.set_i32_array("tokenizer.ggml.token_type", types);
  out.set_string_array("tokenizer.ggml.merges", merges);
  if (!lstrip_ids.empty()) out.set_i32_array(kGgufLstripIdsKey, lstrip_ids);
  if (!rstrip_ids.empty()) out.set_i32_array(kGgufRstripIdsKey, rstrip_ids);

  std::map<std::string, int64_t> text_to_id;
  for (const auto& [id, text] : by_id) text_to_id[text] = id;
  auto set_id = [&](const char* config_key, const char* gguf_key) -> Status {
    const auto text = config_token(config, config_key);
    if (!text) return {};
    const auto it = text_to_id.find(*text);
    if (it == text_to_id.end()) {
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
