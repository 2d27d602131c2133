// Round trips, special tokens, streaming and bad metadata on real and hand-made vocabs.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"

namespace corral {
namespace {

// Timing bounds hold for optimised builds; sanitizer and debug builds get generous slack.
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
constexpr double kTimeSlack = 20.0;
#else
constexpr double kTimeSlack = 1.0;
#endif

const std::string kVocabDir = CORRAL_SHARED_DIR "/testdata/tokenizer/";

std::shared_ptr<Tokenizer> load(const std::string& path) {
  auto file = GgufFile::open(path);
  EXPECT_TRUE(file.ok()) << file.error().message;
  if (!file.ok()) return nullptr;
  auto tok = Tokenizer::from_gguf(**file);
  EXPECT_TRUE(tok.ok()) << tok.error().message;
  return tok.ok() ? *tok : nullptr;
}

std::shared_ptr<Tokenizer> load_vocab(const std::string& name) {
  return load(kVocabDir + "ggml-vocab-" + name + ".gguf");
}

const std::vector<std::string>& round_trip_texts() {
  static const std::vector<std::string> texts = {
      "Hello world",
      " Hello  world ",
      "\n\n\tindented\n  code();\n",
      "int main() { return a[i] != b->c ? 1 : 0; }  // done",
      "\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c",          // 你好，世界
      "\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd emoji",               // 😀👍🏽
      "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7", // ZWJ family
      "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80",  // Привет мир
      "1234567890 3.14159 -42 1e10",
      "I'm, you're, they'll, we've, it's, he'd",
      "mixed: caf\xc3\xa9 na\xc3\xafve \xce\xb1\xce\xb2\xce\xb3 \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a",
      "          many spaces                 ",
      "tabs\t\t\tand\r\nCRLF\r\n",
  };
  return texts;
}

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, DecodeEncodeIsIdentity) {
  auto tok = load_vocab(GetParam());
  ASSERT_TRUE(tok);
  for (const auto& text : round_trip_texts()) {
    const auto ids = tok->encode(text, false, false);
    EXPECT_EQ(tok->decode(ids), text) << GetParam() << ": '" << text << "'";
    // With BOS/EOS added the text is the same: control tokens decode to nothing.
    const auto ids_special = tok->encode(text, true, false);
    EXPECT_EQ(tok->decode(ids_special), text) << GetParam() << ": '" << text << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, RoundTrip,
                         ::testing::Values("llama-spm", "phi-3", "baichuan", "gpt-2",
                                           "gpt-neox", "deepseek-coder", "deepseek-llm",
                                           "falcon", "mpt", "refact", "starcoder"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

TEST(TokenizerSpm, Stories260K) {
  auto tok = load(CORRAL_SHARED_DIR "/models/stories260K.gguf");
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->model(), TokenizerModel::kSpm);
  EXPECT_EQ(tok->n_vocab(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_TRUE(tok->add_bos());
  EXPECT_FALSE(tok->add_eos());
  EXPECT_TRUE(tok->is_eog(2));
  EXPECT_FALSE(tok->is_eog(1));
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  const auto ids = tok->encode(text, true, false);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(tok->decode(ids), text);
  // "\n" has no piece in this vocab: byte fallback to <0x0A>.
  const auto nl = tok->encode("\n", false, false);
  ASSERT_FALSE(nl.empty());
  EXPECT_EQ(tok->token_text(nl.back()), "<0x0A>");
  EXPECT_EQ(tok->token_to_piece(nl.back()), "\n");
}

TEST(TokenizerSpm, LlamaSpmKnownIdsAndPieces) {
  auto tok = load_vocab("llama-spm");
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->encode("Hello world", false, false), (std::vector<int32_t>{15043, 3186}));
  EXPECT_EQ(tok->encode("Hello world", true, false), (std::vector<int32_t>{1, 15043, 3186}));
  EXPECT_EQ(tok->encode(" ", false, false), (std::vector<int32_t>{259}));
  EXPECT_EQ(tok->encode("", false, false), (std::vector<int32_t>{}));
  EXPECT_EQ(tok->encode("", true, false), (std::vector<int32_t>{1}));
  EXPECT_EQ(tok->token_to_piece(15043), " Hello");
  EXPECT_EQ(tok->token_to_piece(1), "");
  EXPECT_EQ(tok->token_to_piece(1, /*special=*/true), "<s>");
  EXPECT_EQ(tok->token_to_piece(-1), "");
  EXPECT_EQ(tok->token_to_piece(tok->n_vocab()), "");
  // Control-token text is plain text unless parse_special.
  const auto plain = tok->encode("<s>", false, false);
  EXPECT_NE(plain, (std::vector<int32_t>{1}));
  EXPECT_EQ(tok->encode("<s>Hello", false, true)[0], 1);
  EXPECT_EQ(tok->find_token("<0x0A>"), 13);
  EXPECT_EQ(tok->find_token("no-such-token-text"), std::nullopt);
  EXPECT_TRUE(tok->is_control(1));
  EXPECT_FALSE(tok->is_control(15043));
}

TEST(TokenizerBpe, Gpt2SpecialsAndEog) {
  auto tok = load_vocab("gpt-2");
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->model(), TokenizerModel::kBpe);
  EXPECT_FALSE(tok->add_bos());
  const auto eot = tok->find_token("<|endoftext|>");
  ASSERT_TRUE(eot);
  EXPECT_TRUE(tok->is_eog(*eot));
  EXPECT_TRUE(tok->is_control(*eot));
  EXPECT_EQ(tok->encode("a<|endoftext|>b", false, true),
            (std::vector<int32_t>{tok->encode("a", false, false)[0], *eot,
                                  tok->encode("b", false, false)[0]}));
  const auto as_text = tok->encode("<|endoftext|>", false, false);
  EXPECT_GT(as_text.size(), 1u);
  EXPECT_EQ(tok->decode(as_text), "<|endoftext|>");
  EXPECT_EQ(tok->token_to_piece(*eot), "");
  EXPECT_EQ(tok->token_to_piece(*eot, true), "<|endoftext|>");
}

TEST(TokenizerBpe, InvalidUtf8BytesSurvive) {
  auto tok = load_vocab("gpt-2");
  ASSERT_TRUE(tok);
  const std::string text = "ok \xff\xfe bad \xe4\xbd truncated";
  EXPECT_EQ(tok->decode(tok->encode(text, false, false)), text);
}

TEST(StreamDecoder, HoldsSplitEmojiAndCjk) {
  auto tok = load_vocab("gpt-2");
  ASSERT_TRUE(tok);
  // gpt-2 encodes rare characters byte by byte, so pieces split inside a character.
  const std::string text = "A\xf0\x9f\xa6\x99 \xe9\xbe\x98\xe9\xbe\x8d z";  // A🦙 龘龍 z
  const auto ids = tok->encode(text, false, false);
  StreamDecoder sd(*tok);
  std::string all;
  bool saw_hold = false;
  for (int32_t id : ids) {
    const std::string part = sd.push(id);
    if (sd.pending_bytes() > 0) saw_hold = true;
    // Every emitted chunk is valid UTF-8 on its own.
    auto file_ok = true;
    for (size_t i = 0; i < part.size();) {
      const auto c = static_cast<unsigned char>(part[i]);
      size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      if (i + len > part.size()) file_ok = false;
      i += len;
    }
    EXPECT_TRUE(file_ok) << "chunk cut inside a character";
    all += part;
  }
  all += sd.flush();
  EXPECT_TRUE(saw_hold);
  EXPECT_EQ(all, text);
}

TEST(StreamDecoder, ByteLevelPushes) {
  auto tok = load_vocab("llama-spm");
  ASSERT_TRUE(tok);
  StreamDecoder sd(*tok);
  EXPECT_EQ(sd.push_bytes("\xf0\x9f"), "");
  EXPECT_EQ(sd.pending_bytes(), 2u);
  EXPECT_EQ(sd.push_bytes("\x98"), "");
  EXPECT_EQ(sd.push_bytes("\x80!"), "\xf0\x9f\x98\x80!");
  EXPECT_EQ(sd.push_bytes("\xe4\xb8"), "");
  EXPECT_EQ(sd.push_bytes("x"), "\xef\xbf\xbdx");  // broken sequence -> U+FFFD, then x
  EXPECT_EQ(sd.push_bytes("\xff"), "\xef\xbf\xbd");
  EXPECT_EQ(sd.push_bytes("\xe4\xb8"), "");
  EXPECT_EQ(sd.flush(), "\xef\xbf\xbd");
  EXPECT_EQ(sd.pending_bytes(), 0u);
  // SPM byte tokens: 😀 is <0xF0><0x9F><0x98><0x80> in llama-spm.
  const auto ids = tok->encode("\xf0\x9f\x98\x80", false, false);
  StreamDecoder sd2(*tok);
  std::string out;
  for (int32_t id : ids) out += sd2.push(id);
  out += sd2.flush();
  EXPECT_EQ(out, " \xf0\x9f\x98\x80");  // the dummy prefix is not stripped while streaming
}

TEST(TokenizerBpe, LongPromptIsFast) {
  auto tok = load_vocab("deepseek-llm");  // 102400 tokens
  ASSERT_TRUE(tok);
  std::string text;
  while (text.size() < 60000) {
    text += "The quick brown fox jumps over the lazy dog 12345. \xe4\xbd\xa0\xe5\xa5\xbd! "
            "for (int i = 0; i < n; ++i) { sum += x[i]; }\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok->encode(text, true, false);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(ids.size(), 10000u);
  EXPECT_LT(ms, 1000.0 * kTimeSlack);
  std::printf("[ perf     ] %zu tokens in %.1f ms\n", ids.size(), ms);
  EXPECT_EQ(tok->decode(ids), text);
}

// Pathological inputs stay linear: long runs of one character class under every pre-tokenizer.
TEST(TokenizerBpe, LongRunsAreLinear) {
  for (const char* name : {"deepseek-llm", "deepseek-coder", "falcon", "gpt-2", "starcoder"}) {
    auto tok = load_vocab(name);
    ASSERT_TRUE(tok);
    for (const std::string& text :
         {std::string(60000, ' ') + "x", std::string(60000, '7') + " ",
          std::string(50000, 'a') + "!", "x" + std::string(60000, '\n') + "y"}) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto ids = tok->encode(text, false, false);
      const double ms = std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - t0).count();
      EXPECT_LT(ms, 1000.0 * kTimeSlack) << name;
      EXPECT_EQ(tok->decode(ids), text) << name;
    }
  }
}

GgufWriter minimal_vocab(const std::string& model) {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", model);
  w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a", "b", "ab"});
  return w;
}

Result<std::shared_ptr<Tokenizer>> load_bytes(const std::string& bytes) {
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
  if (!f.ok()) return f.error();
  return Tokenizer::from_gguf(**f);
}

TEST(TokenizerErrors, BadMetadataIsAnError) {
  {
    GgufWriter w;
    w.set_string_array("tokenizer.ggml.tokens", {"a"});
    auto r = load_bytes(w.serialize());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("tokenizer.ggml.model"), std::string::npos);
  }
  {
    auto w = minimal_vocab("t5");
    auto r = load_bytes(w.serialize());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("t5"), std::string::npos);
  }
  {
    auto w = minimal_vocab("llama");
    w.set_f32_array("tokenizer.ggml.scores", {0.f, 1.f});
    auto r = load_bytes(w.serialize());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("scores"), std::string::npos);
  }
  {
    auto w = minimal_vocab("gpt2");  // no merges
    auto r = load_bytes(w.serialize());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("merges"), std::string::npos);
  }
  {
    auto w = minimal_vocab("gpt2");
    w.set_string_array("tokenizer.ggml.merges", {"a b"});
    w.set_string("tokenizer.ggml.pre", "no-such-pre");
    auto r = load_bytes(w.serialize());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("no-such-pre"), std::string::npos);
  }
}

TEST(TokenizerBpe, HandMadeMergesAndIdsFromMetadata) {
  auto w = minimal_vocab("gpt2");
  w.set_string_array("tokenizer.ggml.merges", {"a b"});
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_bool("tokenizer.ggml.add_eos_token", true);
  w.set_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 1});
  auto r = load_bytes(w.serialize());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& tok = *r;
  EXPECT_EQ(tok->pre_tokenizer(), PreTokenizerKind::kDefault);
  EXPECT_EQ(tok->encode("abab", true, false), (std::vector<int32_t>{1, 5, 5, 2}));
  EXPECT_EQ(tok->encode("ba", false, false), (std::vector<int32_t>{4, 3}));
  EXPECT_EQ(tok->encode("a</s>", false, true), (std::vector<int32_t>{3, 2}));
  EXPECT_TRUE(tok->is_eog(2));
  EXPECT_EQ(tok->decode(std::vector<int32_t>{1, 5, 4, 2}), "abb");
  EXPECT_EQ(tok->decode(std::vector<int32_t>{1, 5, 4, 2}, true), "<s>abb</s>");
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

TEST(TokenizerWpm, BertClsSepAndDecode) {
  auto tok = load_vocab("bert-bge");
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->model(), TokenizerModel::kWpm);
  const auto ids = tok->encode("Hello, World!", true, false);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 101);  // [CLS]
  EXPECT_EQ(ids.back(), 102);   // [SEP]
  EXPECT_EQ(tok->decode(ids), "hello , world !");
  // A word with no piece at all becomes [UNK].
  EXPECT_EQ(tok->encode("\xf0\x9f\xa6\x99", false, false), (std::vector<int32_t>{100}));
  // Each code point becomes the first of its NFD (the reference engine's normalisation): a
  // Hangul syllable its leading jamo only, "é" its base letter.
  EXPECT_EQ(tok->encode("\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", false, false),  // 한국어
            (std::vector<int32_t>{1469, 29991, 29999}));  // ▁ᄒ ᄀ ᄋ
  EXPECT_EQ(tok->encode("caf\xc3\xa9", false, false), tok->encode("cafe", false, false));
}

}  // namespace
}  // namespace corral

#include "tokenizer/pre_tokenizer.h"

namespace corral {
namespace {

std::vector<std::string> o200k_words(std::string_view text) {
  std::vector<std::string> out;
  for (auto w : pre_tokenize(PreTokenizerKind::kO200k, text)) out.emplace_back(w);
  return out;
}

// o200k (gpt-oss): a run of capitals followed by lower case is one word (U*L+), a capital after
// lower case starts a new one, the contraction stays on its word (any case), punctuation
// before a word joins it, and "/" may follow a punctuation run's line breaks.
TEST(PreTokenizerO200k, CaseAwareWordsAndContractions) {
  EXPECT_EQ(pre_tokenizer_from_name("gpt-4o"), PreTokenizerKind::kO200k);
  EXPECT_EQ(o200k_words("HTTPServer camelCase don't I'M/x"),
            (std::vector<std::string>{"HTTPServer", " camel", "Case", " don't", " I'M", "/x"}));
  EXPECT_EQ(o200k_words("ABC def's 12345 x!\n/"),
            (std::vector<std::string>{"ABC", " def's", " ", "123", "45", " x", "!\n/"}));
  // A combining mark belongs to both letter classes and to the punctuation prefix.
  EXPECT_EQ(o200k_words("\xcc\x81" "abc \xcc\x81"),
            (std::vector<std::string>{"\xcc\x81" "abc", " \xcc\x81"}));
  EXPECT_EQ(o200k_words("a  \n\n b"), (std::vector<std::string>{"a", "  \n\n", " b"}));
}

// Harmony vocabularies end generation at <|return|> and <|call|>; <|end|> only closes a message
// of the reply, and the markers the output parser reads decode as text.
TEST(TokenizerBpe, HarmonyEogAndRenderedMarkers) {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-4o");
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab", "<|start|>", "<|channel|>", "<|message|>",
                                               "<|end|>", "<|return|>", "<|call|>", "<|constrain|>"});
  w.set_i32_array("tokenizer.ggml.token_type", {1, 1, 1, 3, 3, 3, 3, 3, 3, 3});
  w.set_string_array("tokenizer.ggml.merges", {"a b"});
  auto r = load_bytes(w.serialize());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& tok = *r;
  EXPECT_TRUE(tok->is_harmony());
  EXPECT_TRUE(tok->is_eog(7));
  EXPECT_TRUE(tok->is_eog(8));
  EXPECT_FALSE(tok->is_eog(6));
  EXPECT_EQ(tok->decode(std::vector<int32_t>{3, 4, 0, 5, 2, 6, 9}), "<|start|><|channel|>a<|message|>ab<|end|><|constrain|>");
  EXPECT_EQ(tok->token_to_piece(7), "");
  EXPECT_EQ(tok->token_to_piece(7, true), "<|return|>");
  // Without <|return|>/<|call|> (Phi-3), <|end|> still ends generation and stays hidden.
  auto phi = load_vocab("phi-3");
  ASSERT_TRUE(phi);
  const auto end = phi->find_token("<|end|>");
  ASSERT_TRUE(end);
  EXPECT_TRUE(phi->is_eog(*end));
  EXPECT_FALSE(phi->is_harmony());
  EXPECT_EQ(phi->token_to_piece(*end), "");
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

// Thinking and tool-call tags decode as text even when the vocabulary marks them control (as a
// SmolLM3 or Phi-4-mini file may), so the chat output parser sees them; other control tokens
// stay hidden, and such a vocabulary is not harmony.
TEST(TokenizerBpe, ThinkAndToolCallTagsRenderAsText) {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-4o");
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab", "<think>", "</think>", "<|tool_call|>",
                                               "<|/tool_call|>", "<|end|>", "<|assistant|>", "<tool_call>"});
  w.set_i32_array("tokenizer.ggml.token_type", {1, 1, 1, 3, 3, 3, 3, 3, 3, 3});
  w.set_string_array("tokenizer.ggml.merges", {"a b"});
  auto r = load_bytes(w.serialize());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& tok = *r;
  EXPECT_FALSE(tok->is_harmony());
  EXPECT_TRUE(tok->is_eog(7));
  EXPECT_EQ(tok->decode(std::vector<int32_t>{8, 3, 0, 4, 5, 2, 6, 9, 7}),
            "<think>a</think><|tool_call|>ab<|/tool_call|><tool_call>");
  EXPECT_EQ(tok->token_to_piece(8), "");
  EXPECT_EQ(tok->token_to_piece(8, true), "<|assistant|>");
}

}  // namespace
}  // namespace corral
