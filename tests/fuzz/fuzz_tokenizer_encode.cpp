// libFuzzer target for encoding untrusted text: every pre-tokenizer, both tokenizer models,
// special-token parsing, decode round trips and StreamDecoder's UTF-8 guarantee.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

struct Vocab {
  std::string bytes;
  std::shared_ptr<corral::GgufFile> file;
  std::shared_ptr<corral::Tokenizer> tok;
};

// A byte-level BPE vocab: the 256 byte characters, a few merges and two special tokens.
Vocab make_bpe(const char* pre) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(corral::unicode::byte_to_unicode(uint8_t(b)));
  const std::string sp = corral::unicode::byte_to_unicode(' ');
  for (const char* t : {"th", "the", "in", "er", "12"}) tokens.push_back(t);
  tokens.push_back(sp + "the");
  tokens.push_back("<|end|>");
  tokens.push_back("  ");  // user-defined, raw text
  std::vector<int32_t> types(tokens.size(), 1);
  types[types.size() - 2] = 3;
  types[types.size() - 1] = 4;
  corral::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", pre);
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", {"t h", "th e", "i n", "e r", "1 2", sp + " the"});
  w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(tokens.size() - 2));  // <|end|>
  w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(tokens.size() - 2));
  Vocab v;
  v.bytes = w.serialize();
  v.file = *corral::GgufFile::parse(reinterpret_cast<const uint8_t*>(v.bytes.data()),
                                    v.bytes.size(), "bpe");
  v.tok = *corral::Tokenizer::from_gguf(*v.file);
  return v;
}

// An SPM vocab with byte fallback and a few scored pieces.
Vocab make_spm() {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  std::vector<float> scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    types.push_back(6);
    scores.push_back(0);
  }
  const char* pieces[] = {"\xe2\x96\x81", "\xe2\x96\x81t", "\xe2\x96\x81th", "\xe2\x96\x81the",
                          "t", "h", "e", "he", "a", "\xe4\xbd\xa0", "\xe5\xa5\xbd"};
  float score = -1;
  for (const char* p : pieces) {
    tokens.push_back(p);
    types.push_back(1);
    scores.push_back(score);
    score -= 0.5f;
  }
  corral::GgufWriter w;
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  Vocab v;
  v.bytes = w.serialize();
  v.file = *corral::GgufFile::parse(reinterpret_cast<const uint8_t*>(v.bytes.data()),
                                    v.bytes.size(), "spm");
  v.tok = *corral::Tokenizer::from_gguf(*v.file);
  return v;
}

const std::vector<Vocab>& vocabs() {
  static const std::vector<Vocab> all = [] {
    std::vector<Vocab> v;
    v.push_back(make_spm());
    for (const char* pre : {"default", "llama-bpe", "qwen2", "deepseek-llm", "deepseek-coder",
                            "falcon", "gpt-2", "starcoder"}) {
      v.push_back(make_bpe(pre));
    }
    return v;
  }();
  return all;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = corral::unicode::valid_utf8_len(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& all = vocabs();
  const Vocab& v = all[data[0] % all.size()];
  const bool parse_special = (data[0] & 0x80) != 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto ids = v.tok->encode(text, /*add_special=*/true, parse_special);
  for (int32_t id : ids) {
    if (!v.tok->is_valid(id)) std::abort();
  }
  // Byte-level BPE is lossless: decoding gives the input back exactly.
  // (qwen2 is excluded: it NFC-normalises its input first.)
  if (v.tok->model() == corral::TokenizerModel::kBpe && !parse_special &&
      v.tok->pre_tokenizer() != corral::PreTokenizerKind::kQwen2 && v.tok->decode(ids) != text) {
    std::abort();
  }
  corral::StreamDecoder sd(*v.tok);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string part = sd.push(id);
    if (!valid_utf8(part)) std::abort();
    streamed += part;
  }
  const std::string rest = sd.flush();
  if (!valid_utf8(rest)) std::abort();
  return 0;
}
