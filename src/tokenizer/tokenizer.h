// Text <-> token ids from GGUF tokenizer metadata: SentencePiece-style BPE ("llama"),
// byte-level BPE ("gpt2"), Gemma 4's UTF-8 BPE ("gemma4"), BERT WordPiece ("bert"), special tokens, detokenisation and UTF-8-safe streaming.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_file.h"
#include "tokenizer/pre_tokenizer.h"

namespace corral {

// GGUF keys (corral's own: GGUF has none) that list the ids of added tokens which strip the
// whitespace on their left / right when matched; written from tokenizer.json's added_tokens.
inline constexpr const char* kGgufLstripIdsKey = "corral.tokenizer.lstrip_token_ids";
inline constexpr const char* kGgufRstripIdsKey = "corral.tokenizer.rstrip_token_ids";

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class TokenizerModel { kSpm, kBpe, kWpm };  // kWpm: BERT WordPiece ("bert")

// Immutable once built: every const method may be called from many threads at once.
class Tokenizer {
 public:
  // Builds the tokenizer from the tokenizer.ggml.* keys; a missing or malformed key is an
  // error naming the key.
  static Result<std::shared_ptr<Tokenizer>> from_gguf(const GgufFile& file);

  // add_special: add BOS/EOS as the metadata says. parse_special: recognise the text of
  // control tokens (e.g. "<|eot_id|>") in `text`. User-defined tokens are always recognised.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes of one token. Control/unknown tokens give their text only when `special`.
  // May be a partial UTF-8 sequence (byte tokens); use StreamDecoder for streaming.
  std::string token_to_piece(int32_t id, bool special = false) const;
  // Concatenated pieces; for SPM vocabs the space added by add_space_prefix is removed from
  // the first piece. Invalid ids are skipped.
  std::string decode(std::span<const int32_t> ids, bool special = false) const;

  int32_t n_vocab() const { return static_cast<int32_t>(tokens_.size()); }
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t eot_id() const { return eot_id_; }
  int32_t unk_id() const { return unk_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t sep_id() const { return sep_id_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  bool add_space_prefix() const { return add_space_prefix_; }
  TokenizerModel model() const { return model_; }
  PreTokenizerKind pre_tokenizer() const { return pre_; }

  bool is_valid(int32_t id) const { return id >= 0 && id < n_vocab(); }
  // End of generation: eos, eot, eom and tokens such as <|eot_id|>, <|im_end|>, <|endoftext|>.
  // Harmony vocabularies (gpt-oss: <|channel|>, <|return|> and <|call|> all present) end on
  // <|return|> and <|call|>, not on <|end|>, which only closes one message of the reply.
  bool is_eog(int32_t id) const;
  bool is_harmony() const { return harmony_; }
  bool is_control(int32_t id) const;
  TokenType token_type(int32_t id) const;
  const std::string& token_text(int32_t id) const;  // raw vocab text; "" for invalid ids
  float token_score(int32_t id) const;
  std::optional<int32_t> find_token(std::string_view text) const;
  const std::vector<int32_t>& eog_ids() const { return eog_ids_; }

 private:
  Tokenizer() = default;
  Status load(const GgufFile& file);

  struct Fragment {
    std::string_view text;  // raw text when token < 0
    int32_t token = -1;
  };
  std::vector<Fragment> partition_special(std::string_view text, bool parse_special) const;
  void encode_spm(std::string_view text, std::vector<int32_t>& out) const;
  void encode_bpe_word(std::string_view word, std::vector<int32_t>& out) const;
  void encode_wpm(std::string_view text, std::vector<int32_t>& out) const;  // wordpiece.cpp
  int32_t spm_byte_token(uint8_t byte) const;
  int32_t lookup(std::string_view text) const;  // -1 when absent

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Merge {
    int32_t rank;
    int32_t result;
  };

  TokenizerModel model_ = TokenizerModel::kSpm;
  PreTokenizerKind pre_ = PreTokenizerKind::kDefault;
  bool nfc_ = false;  // qwen2 vocabs are NFC-normalised by their reference tokenizer
  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  std::vector<TokenType> types_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> token_index_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> rank, result
  std::vector<int32_t> special_tokens_;         // control/user-defined/unknown, longest first
  // Per token: kStripLeft / kStripRight. A matched special token with kStripLeft eats the
  // whitespace before it, with kStripRight the whitespace after it (Hugging Face's added-token
  // lstrip/rstrip). Empty when no token strips.
  static constexpr uint8_t kStripLeft = 1, kStripRight = 2;
  std::vector<uint8_t> strip_;
  void load_strip_attributes(const GgufFile& file);
  std::vector<int32_t> byte_tokens_;            // SPM <0xXX> ids, -1 when absent
  std::vector<int32_t> eog_ids_;
  // Control tokens that decode as their text even without `special`, because the chat output
  // parser reads them: the harmony markers (<|start|>, <|channel|>, <|message|>, <|constrain|>,
  // <|end|>) and, in any vocabulary, thinking and tool-call tags (<think>, </think>,
  // <tool_call>, </tool_call>, Phi-4-mini's <|tool_call|> and <|/tool_call|>).
  std::vector<int32_t> rendered_controls_;  // sorted
  bool harmony_ = false;
  std::vector<std::string> bpe_pieces_;         // byte-decoded text per id (BPE only)
  int32_t bos_id_ = -1, eos_id_ = -1, eot_id_ = -1, eom_id_ = -1, unk_id_ = -1, pad_id_ = -1;
  int32_t sep_id_ = -1;
  size_t max_token_len_ = 0;  // bytes
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false, ignore_merges_ = false;
  // Gemma 4 ("gemma4"): BPE over UTF-8 text (not GPT-2's byte alphabet) with spaces written as
  // U+2581, words split only at line breaks, and <0xXX> tokens for bytes of no token.
  bool spm_bpe_ = false;
  void encode_gemma4(std::string_view text, std::vector<int32_t>& out) const;
};

// Turns a stream of token ids into text that is always valid UTF-8: bytes of a multi-byte
// character split across tokens are held back until complete; bytes that can never form a
// valid character are replaced by U+FFFD.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool special = false)
      : tok_(tokenizer), special_(special) {}
  // Returns the text that became complete with this token (possibly empty).
  std::string push(int32_t id);
  // Feeds raw bytes (what push() does with a token's piece).
  std::string push_bytes(std::string_view bytes);
  // Emits whatever is held back, each incomplete byte sequence as U+FFFD.
  std::string flush();
  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer& tok_;
  bool special_;
  std::string pending_;
};

}  // namespace corral
