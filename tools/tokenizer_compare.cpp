// tokenizer_compare: checks corral's token ids against reference ids recorded elsewhere
// (tests/node/tokenizer_compare.mjs writes them from the npm tokenizers).
// Usage: tokenizer_compare VOCAB.gguf CASES.json
// CASES.json: {"add_special": bool, "parse_special": bool,
//              "cases": [{"utf8_hex": "48656c6c6f", "ids": [9906]}, ...]}
// Also checks decode(encode(text), special=true) == text (NFC text for qwen2 vocabs; for
// SentencePiece vocabs a U+2581 in the text decodes as the space it stands for).
// Prints the match counts; exits 1 on any mismatch.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

bool from_hex(const std::string& hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const std::string byte = hex.substr(i, 2);
    char* end = nullptr;
    const long v = std::strtol(byte.c_str(), &end, 16);
    if (end != byte.c_str() + 2) return false;
    out.push_back(static_cast<char>(v));
  }
  return true;
}

// U+2581 (SentencePiece's space) back to ' ', as decoding a SentencePiece vocab does.
std::string spm_unescape(std::string_view text) {
  constexpr std::string_view kSpmSpace = "\xE2\x96\x81";
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i, kSpmSpace.size()) == kSpmSpace) {
      out.push_back(' ');
      i += kSpmSpace.size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s VOCAB.gguf CASES.json\n", argv[0]);
    return 2;
  }
  auto file = corral::GgufFile::open(argv[1]);
  if (!file.ok()) {
    std::fprintf(stderr, "error: %s\n", file.error().message.c_str());
    return 1;
  }
  auto tok = corral::Tokenizer::from_gguf(**file);
  if (!tok.ok()) {
    std::fprintf(stderr, "error: %s\n", tok.error().message.c_str());
    return 1;
  }
  auto text = corral::read_file(argv[2]);
  if (!text.ok()) {
    std::fprintf(stderr, "error: %s\n", text.error().message.c_str());
    return 1;
  }
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.contains("cases") || !j["cases"].is_array()) {
    std::fprintf(stderr, "error: %s: not a cases file\n", argv[2]);
    return 1;
  }
  const bool add_special = j.value("add_special", false);
  const bool parse_special = j.value("parse_special", true);
  size_t matched = 0, total = 0, n_tokens = 0, round_trips = 0;
  double encode_ms = 0;
  for (const auto& c : j["cases"]) {
    std::string input;
    if (!from_hex(c.value("utf8_hex", ""), input) || !c.contains("ids")) {
      std::fprintf(stderr, "error: malformed case %zu\n", total);
      return 1;
    }
    const auto expected = c["ids"].get<std::vector<int32_t>>();
    const auto t0 = std::chrono::steady_clock::now();
    const auto got = (*tok)->encode(input, add_special, parse_special);
    encode_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                     .count();
    n_tokens += got.size();
    ++total;
    const bool nfc = (*tok)->pre_tokenizer() == corral::PreTokenizerKind::kQwen2;
    std::string want_text = nfc ? corral::unicode::nfc(input) : input;
    if ((*tok)->model() == corral::TokenizerModel::kSpm) want_text = spm_unescape(want_text);
    if ((*tok)->decode(got, /*special=*/true) == want_text) {
      ++round_trips;
    } else {
      std::printf("ROUND TRIP FAILED case %zu: %s\n", total - 1, c.value("label", "").c_str());
    }
    if (got == expected) {
      ++matched;
    } else {
      std::printf("MISMATCH case %zu: %s\n  text:    %s\n  corral: %s\n  npm:    %s\n", total - 1,
                  c.value("label", "").c_str(), nlohmann::json(input).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str(),
                  join(got).c_str(), join(expected).c_str());
    }
  }
  std::printf("%s: %zu/%zu strings match, %zu/%zu decode back (%zu tokens, %.1f ms encoding)\n",
              argv[1], matched, total, round_trips, total, n_tokens, encode_ms);
  return matched == total && round_trips == total && total > 0 ? 0 : 1;
}
