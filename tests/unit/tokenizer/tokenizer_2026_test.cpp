// The 2026 vocabularies: Qwen 3.5's pre-tokenizer ("qwen35": marks belong to letter runs) and
// Gemma 4's tokenizer model ("gemma4": BPE over UTF-8 with U+2581 for spaces, words split only
// at line breaks, <0xXX> byte fallback, <bos> always added), its end-of-turn tokens and the
// chat tags that must decode as text for the output parser.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace corral {
namespace {

std::vector<std::string> words(PreTokenizerKind kind, std::string_view text) {
  std::vector<std::string> out;
  for (auto w : pre_tokenize(kind, text)) out.emplace_back(w);
  return out;
}

Result<std::shared_ptr<Tokenizer>> load_bytes(const std::string& bytes) {
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
  if (!f.ok()) return f.error();
  return Tokenizer::from_gguf(**f);
}

using V = std::vector<std::string>;

TEST(PreTokenizerQwen35, MarksStayInTheirWords) {
  ASSERT_EQ(pre_tokenizer_from_name("qwen35"), PreTokenizerKind::kQwen35);
  // "e" + combining acute (Mn); Devanagari with a virama (Mn) and a vowel sign (Mc).
  const std::string cafe = "cafe\xcc\x81 x";
  const std::string namaste = "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87";
  EXPECT_EQ(words(PreTokenizerKind::kQwen35, cafe), (V{"cafe\xcc\x81", " x"}));
  EXPECT_EQ(words(PreTokenizerKind::kQwen2, cafe), (V{"cafe", "\xcc\x81", " x"}));
  EXPECT_EQ(words(PreTokenizerKind::kQwen35, namaste), (V{namaste}));
  EXPECT_GT(words(PreTokenizerKind::kQwen2, namaste).size(), 1u);
  // A leading mark or punctuation before marks: [^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+.
  EXPECT_EQ(words(PreTokenizerKind::kQwen35, " \xcc\x81" "abc"), (V{" \xcc\x81" "abc"}));
  EXPECT_EQ(words(PreTokenizerKind::kQwen35, "x\xcc\x81!\xcc\x81"), (V{"x\xcc\x81", "!\xcc\x81"}));
  // Everything else as Qwen2: single digits, punctuation runs with their line breaks, spaces.
  EXPECT_EQ(words(PreTokenizerKind::kQwen35, "I'M 123 ok!!\n\n  x"),
            (V{"I", "'M", " ", "1", "2", "3", " ok", "!!\n\n", " ", " x"}));
  EXPECT_EQ(words(PreTokenizerKind::kQwen35, "I'M 123 ok!!\n\n  x"), words(PreTokenizerKind::kQwen2, "I'M 123 ok!!\n\n  x"));
}

TEST(TokenizerQwen35, NamedVocabularyLoadsAndNormalises) {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "qwen35");
  // Byte-level: "é" is U+00C3 U+00A9 in GPT-2's alphabet; "e" then the combining accent is NFC'd to it.
  w.set_string_array("tokenizer.ggml.tokens", {"c", "a", "f", "\xc3\x83", "\xc2\xa9", "\xc3\x83\xc2\xa9", "<|im_end|>"});
  w.set_i32_array("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 1, 3});
  w.set_string_array("tokenizer.ggml.merges", {"\xc3\x83 \xc2\xa9"});
  auto r = load_bytes(w.serialize());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->pre_tokenizer(), PreTokenizerKind::kQwen35);
  EXPECT_EQ((*r)->encode("cafe\xcc\x81", false, false), (std::vector<int32_t>{0, 1, 2, 5}));  // e + U+0301 -> é
  EXPECT_EQ((*r)->encode("caf\xc3\xa9", false, false), (std::vector<int32_t>{0, 1, 2, 5}));
  EXPECT_TRUE((*r)->is_eog(6));
}

GgufWriter gemma4_vocab(const char* model, const char* pre) {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", model);
  if (pre) w.set_string("tokenizer.ggml.pre", pre);
  w.set_string_array("tokenizer.ggml.tokens",
                     {"<pad>", "<eos>", "<bos>", "a", "b", "\xe2\x96\x81", "\xe2\x96\x81" "a", "ab", "\xe2\x96\x81" "ab", "\n",
                      "\n\n", "<0xC3>", "<0xA9>", "<turn|>", "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>",
                      "<|\"|>", "<|tool_response>", "<|turn>"});
  w.set_i32_array("tokenizer.ggml.token_type", {3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 3, 3, 3, 3, 3, 3, 3, 3});
  w.set_string_array("tokenizer.ggml.merges", {"\xe2\x96\x81 a", "\xe2\x96\x81" "a b", "a b"});
  w.set_u32("tokenizer.ggml.bos_token_id", 2);
  w.set_u32("tokenizer.ggml.eos_token_id", 1);
  w.set_bool("tokenizer.ggml.add_bos_token", false);  // overridden: Gemma 4 always starts with <bos>
  return w;
}

TEST(TokenizerGemma4, Utf8BpeWithSpaceMarksAndByteFallback) {
  for (auto [model, pre] : {std::pair<const char*, const char*>{"gemma4", nullptr}, {"gemma4", "gemma4"}, {"gpt2", "gemma4"}}) {
    auto r = load_bytes(gemma4_vocab(model, pre).serialize());
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto& tok = *r;
    EXPECT_TRUE(tok->add_bos());
    EXPECT_EQ(tok->bos_id(), 2);
    // "ab ab" -> ab ▁ab (▁a merges first, then ▁a+b, then a+b); "\n\n" is one token; é has
    // no token: its two bytes.
    const std::vector<int32_t> ids = tok->encode("ab ab\n\n\xc3\xa9\nb", true, false);
    EXPECT_EQ(ids, (std::vector<int32_t>{2, 7, 8, 10, 11, 12, 9, 4})) << model;
    EXPECT_EQ(tok->decode(ids), "ab ab\n\n\xc3\xa9\nb");
    EXPECT_EQ(tok->encode(" a", false, false), (std::vector<int32_t>{6}));
  }
}

TEST(TokenizerGemma4, TurnEndsAndChatTagsAsText) {
  auto r = load_bytes(gemma4_vocab("gemma4", nullptr).serialize());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& tok = *r;
  EXPECT_TRUE(tok->is_eog(1));   // <eos>
  EXPECT_TRUE(tok->is_eog(13));  // <turn|>
  EXPECT_TRUE(tok->is_eog(19));  // <|tool_response>: a call waits for its result
  EXPECT_FALSE(tok->is_eog(20));
  // The thinking channel, the call tags and the string delimiter reach the output parser.
  EXPECT_EQ(tok->decode(std::vector<int32_t>{14, 3, 15, 16, 3, 18, 4, 18, 17}),
            "<|channel>a<channel|><|tool_call>a<|\"|>b<|\"|><tool_call|>");
  EXPECT_EQ(tok->token_to_piece(20), "");  // <|turn> stays hidden
  // Special-token parsing splits the chat tags out of a prompt.
  EXPECT_EQ(tok->encode("<|turn>a<turn|>", false, true), (std::vector<int32_t>{20, 3, 13}));
}

}  // namespace
}  // namespace corral
