// Tokenizer: GGUF metadata loading, special-token partitioning, SPM and byte-level BPE.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <queue>

#include "base/log.h"
#include "tokenizer/unicode.h"

namespace corral {

namespace {

// C's isspace in the "C" locale, without the locale: what llama.cpp strips beside a token.
bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

std::string spm_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (char c : text) {
    if (c == ' ') {
      out += kSpmSpace;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string spm_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, kSpmSpace.size(), kSpmSpace) == 0) {
      out.push_back(' ');
      i += kSpmSpace.size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

// Byte-level BPE text back to raw bytes.
std::string bpe_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const auto& c : unicode::decode_utf8(text)) {
    const int b = c.cp == unicode::kInvalid ? -1 : unicode::unicode_to_byte(c.cp);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(text.substr(c.offset, c.len));
    }
  }
  return out;
}

// Parses "<0xAB>"; returns -1 if `text` is not a byte token.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(text[3]), lo = hex(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Length of the UTF-8 sequence that starts with `c`, judged from the lead byte alone.
size_t utf8_len_from_lead(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;
}

}  // namespace

Result<std::shared_ptr<Tokenizer>> Tokenizer::from_gguf(const GgufFile& file) {
  std::shared_ptr<Tokenizer> tok(new Tokenizer());
  Status st = tok->load(file);
  if (!st.ok()) return make_error("{}: {}", file.path(), st.error().message);
  return tok;
}

Status Tokenizer::load(const GgufFile& file) {
  const auto model = file.get_string("tokenizer.ggml.model");
  if (!model) return make_error("missing string key tokenizer.ggml.model");
  if (*model == "llama") {
    model_ = TokenizerModel::kSpm;
  } else if (*model == "gpt2") {
    model_ = TokenizerModel::kBpe;
  } else if (*model == "gemma4") {
    model_ = TokenizerModel::kBpe;
    spm_bpe_ = true;
  } else if (*model == "bert") {
    model_ = TokenizerModel::kWpm;
  } else {
    return make_error("unsupported tokenizer model '{}' (tokenizer.ggml.model)", *model);
  }

  const GgufArray* tokens = file.get_array("tokenizer.ggml.tokens");
  if (!tokens || tokens->elem_type != GgufValueType::kString) {
    return make_error("missing string array tokenizer.ggml.tokens");
  }
  if (tokens->strings.empty() || tokens->strings.size() > static_cast<size_t>(INT32_MAX / 2)) {
    return make_error("tokenizer.ggml.tokens has {} entries", tokens->strings.size());
  }
  const size_t n = tokens->strings.size();
  tokens_ = tokens->strings;

  scores_.assign(n, 0.0f);
  if (const GgufArray* scores = file.get_array("tokenizer.ggml.scores")) {
    if (scores->floats.size() != n) {
      return make_error("tokenizer.ggml.scores has {} entries, tokens has {}", scores->size(), n);
    }
    for (size_t i = 0; i < n; ++i) scores_[i] = static_cast<float>(scores->floats[i]);
  }
  types_.assign(n, TokenType::kNormal);
  if (const GgufArray* types = file.get_array("tokenizer.ggml.token_type")) {
    if (types->ints.size() != n) {
      return make_error("tokenizer.ggml.token_type has {} entries, tokens has {}", types->size(),
                        n);
    }
    for (size_t i = 0; i < n; ++i) {
      const int64_t t = types->ints[i];
      types_[i] = t >= 1 && t <= 6 ? static_cast<TokenType>(t) : TokenType::kUndefined;
    }
  }
  token_index_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!tokens_[i].empty()) token_index_[tokens_[i]] = static_cast<int32_t>(i);
    max_token_len_ = std::max(max_token_len_, tokens_[i].size());
  }

  auto id_or = [&](int32_t id) { return id >= 0 && static_cast<size_t>(id) < n ? id : -1; };
  if (model_ == TokenizerModel::kSpm) {
    bos_id_ = id_or(1);
    eos_id_ = id_or(2);
    unk_id_ = id_or(0);
    add_bos_ = true;
    add_space_prefix_ = true;
    byte_tokens_.assign(256, -1);
    for (size_t i = 0; i < n; ++i) {
      const int b = parse_byte_token(tokens_[i]);
      if (b >= 0 && byte_tokens_[static_cast<size_t>(b)] < 0) {
        byte_tokens_[static_cast<size_t>(b)] = static_cast<int32_t>(i);
      }
    }
  } else if (model_ == TokenizerModel::kWpm) {
    // llama.cpp's BERT defaults: [CLS] text [SEP].
    bos_id_ = id_or(101);
    unk_id_ = id_or(100);
    sep_id_ = id_or(102);
    pad_id_ = id_or(0);
    add_bos_ = true;
  } else {
    // llama.cpp's defaults for byte-level BPE vocabs (Gemma 4's: none, the file names them).
    bos_id_ = spm_bpe_ ? -1 : id_or(11);
    eos_id_ = spm_bpe_ ? -1 : id_or(11);
    const auto pre = file.get_string("tokenizer.ggml.pre");
    if (pre && *pre == "gemma4") spm_bpe_ = true;  // llama.cpp reads this name as the "gemma4" model
    if (spm_bpe_) {
      pre_ = PreTokenizerKind::kDefault;  // unused: encode_gemma4 splits at line breaks only
    } else if (!pre) {
      log_at(LogLevel::kWarn, "{}: no tokenizer.ggml.pre, using the default pre-tokenizer",
             file.path());
      pre_ = PreTokenizerKind::kDefault;
    } else {
      const auto kind = pre_tokenizer_from_name(*pre);
      if (!kind) return make_error("unknown pre-tokenizer '{}' (tokenizer.ggml.pre)", *pre);
      pre_ = *kind;
    }
    if (pre_ == PreTokenizerKind::kLlama3) {
      add_bos_ = true;
      ignore_merges_ = true;
    }
    // o200k's tokenizer.json sets ignore_merges: a word that is a token is that token.
    if (pre_ == PreTokenizerKind::kO200k) ignore_merges_ = true;
    // Qwen2's tokenizer.json has an NFC normalizer (llama.cpp skips it; the reference does not);
    // Qwen 3.5's keeps Qwen's normaliser beside its new regex.
    nfc_ = pre && (*pre == "qwen2" || *pre == "qwen35" || *pre == "deepseek-r1-qwen");

    const GgufArray* merges = file.get_array("tokenizer.ggml.merges");
    if (!merges || merges->elem_type != GgufValueType::kString) {
      return make_error("missing string array tokenizer.ggml.merges");
    }
    merges_.reserve(merges->strings.size());
    size_t skipped = 0;
    for (size_t r = 0; r < merges->strings.size(); ++r) {
      const std::string& m = merges->strings[r];
      const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      if (sp == std::string::npos) return make_error("tokenizer.ggml.merges[{}] has no space", r);
      const std::string_view a = std::string_view(m).substr(0, sp);
      const std::string_view b = std::string_view(m).substr(sp + 1);
      const int32_t ia = lookup(a), ib = lookup(b);
      std::string joined(a);
      joined += b;
      const int32_t ij = lookup(joined);
      if (ia < 0 || ib < 0 || ij < 0) {
        ++skipped;  // a merge whose parts or result are not tokens can never apply here
        continue;
      }
      const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(ia)) << 32) |
                           static_cast<uint32_t>(ib);
      merges_.emplace(key, Merge{static_cast<int32_t>(r), ij});
    }
    if (skipped > 0) {
      log_at(LogLevel::kDebug, "{}: {} merges refer to text outside the vocabulary", file.path(),
             skipped);
    }
  }

  auto read_id = [&](const char* key, int32_t& id) {
    if (const auto v = file.get_int(key)) {
      if (*v == -1 || *v == 0xFFFFFFFF) return;  // "none", as some converters write it
      if (*v >= 0 && static_cast<uint64_t>(*v) < n) {
        id = static_cast<int32_t>(*v);
      } else {
        log_at(LogLevel::kWarn, "{}: {} = {} is outside the vocabulary, ignored", file.path(),
               key, *v);
      }
    }
  };
  read_id("tokenizer.ggml.bos_token_id", bos_id_);
  read_id("tokenizer.ggml.eos_token_id", eos_id_);
  read_id("tokenizer.ggml.eot_token_id", eot_id_);
  read_id("tokenizer.ggml.eom_token_id", eom_id_);
  read_id("tokenizer.ggml.unknown_token_id", unk_id_);
  read_id("tokenizer.ggml.padding_token_id", pad_id_);
  read_id("tokenizer.ggml.seperator_token_id", sep_id_);  // sic: the GGUF key's spelling
  int32_t fim_pad = -1, fim_rep = -1, fim_sep = -1;
  read_id("tokenizer.ggml.fim_pad_token_id", fim_pad);
  read_id("tokenizer.ggml.fim_rep_token_id", fim_rep);
  read_id("tokenizer.ggml.fim_sep_token_id", fim_sep);
  if (const auto v = file.get_bool("tokenizer.ggml.add_bos_token")) add_bos_ = *v;
  if (const auto v = file.get_bool("tokenizer.ggml.add_eos_token")) add_eos_ = *v;
  if (const auto v = file.get_bool("tokenizer.ggml.add_space_prefix")) add_space_prefix_ = *v;
  if (spm_bpe_) {
    // Gemma 4 always starts with <bos> (llama.cpp overrides a file that says otherwise), and
    // its <0xXX> tokens stand for the bytes of characters that have no token.
    add_bos_ = true;
    add_space_prefix_ = false;
    byte_tokens_.assign(256, -1);
    for (size_t i = 0; i < n; ++i) {
      const int b = parse_byte_token(tokens_[i]);
      if (b >= 0 && byte_tokens_[static_cast<size_t>(b)] < 0) byte_tokens_[static_cast<size_t>(b)] = static_cast<int32_t>(i);
    }
  }

  // End-of-generation tokens, found by text as llama.cpp does; they are treated as control.
  static constexpr std::string_view kEotTexts[] = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
      "_<EOT>", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};
  static constexpr std::string_view kEogTexts[] = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
      "<EOT>", "_<EOT>", "<|end_of_text|>",
      "<turn|>", "<|tool_response>"};  // Gemma 4: the end of a turn, and a call awaiting its result
  // Harmony (gpt-oss): a reply is several messages, each closed by <|end|>; generation ends at
  // <|return|> (the answer is complete) or <|call|> (a tool call). As llama.cpp does, <|end|>
  // is then not an end-of-generation token, and the markers the output parser reads decode as
  // text.
  const int32_t harmony_return = lookup("<|return|>"), harmony_call = lookup("<|call|>");
  const bool harmony = lookup("<|channel|>") >= 0 && harmony_return >= 0 && harmony_call >= 0;
  if (harmony) {
    if (eot_id_ < 0) eot_id_ = harmony_return;
    eog_ids_.push_back(harmony_return);
    eog_ids_.push_back(harmony_call);
    harmony_ = true;
    for (std::string_view t : {"<|start|>", "<|channel|>", "<|message|>", "<|constrain|>", "<|end|>"}) {
      if (const int32_t id = lookup(t); id >= 0) rendered_controls_.push_back(id);
    }
  }
  // Thinking and tool-call tags that a vocabulary marks control (SmolLM3's and Phi-4-mini's
  // files may) still reach the output parser as text, as Qwen's user-defined ones do.
  for (std::string_view t : {"<think>", "</think>", "<tool_call>", "</tool_call>", "<|tool_call|>", "<|/tool_call|>",
                             // Gemma 4's thinking channel, call tags and string delimiter
                             "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|\"|>"}) {
    if (const int32_t id = lookup(t); id >= 0) rendered_controls_.push_back(id);
  }
  std::sort(rendered_controls_.begin(), rendered_controls_.end());
  if (eot_id_ < 0) {
    for (auto t : kEotTexts) {
      if (const int32_t id = lookup(t); id >= 0) {
        eot_id_ = id;
        break;
      }
    }
  }
  if (eom_id_ < 0) eom_id_ = lookup("<|eom_id|>");
  for (auto t : kEogTexts) {
    if (const int32_t id = lookup(t); id >= 0) {
      types_[static_cast<size_t>(id)] = TokenType::kControl;
      if (!(harmony && t == "<|end|>")) eog_ids_.push_back(id);
    }
  }
  // FIM padding/repo/file-separator tokens also end generation (llama.cpp does the same).
  if (fim_pad < 0) fim_pad = lookup("<|fim_pad|>");
  if (fim_rep < 0) fim_rep = lookup("<|repo_name|>");
  if (fim_sep < 0) fim_sep = lookup("<|file_sep|>");
  for (int32_t id : {eos_id_, eot_id_, eom_id_, fim_pad, fim_rep, fim_sep}) {
    if (id >= 0) eog_ids_.push_back(id);
  }
  std::sort(eog_ids_.begin(), eog_ids_.end());
  eog_ids_.erase(std::unique(eog_ids_.begin(), eog_ids_.end()), eog_ids_.end());

  for (size_t i = 0; i < n; ++i) {
    const TokenType t = types_[i];
    if ((t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) &&
        !tokens_[i].empty()) {
      special_tokens_.push_back(static_cast<int32_t>(i));
    }
  }
  std::stable_sort(special_tokens_.begin(), special_tokens_.end(), [&](int32_t a, int32_t b) {
    return tokens_[static_cast<size_t>(a)].size() > tokens_[static_cast<size_t>(b)].size();
  });
  load_strip_attributes(file);

  if (model_ == TokenizerModel::kBpe) {
    bpe_pieces_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (spm_bpe_ && types_[i] == TokenType::kByte) {
        const int b = parse_byte_token(tokens_[i]);
        bpe_pieces_[i] = b >= 0 ? std::string(1, static_cast<char>(b)) : tokens_[i];
      } else if (types_[i] == TokenType::kNormal || types_[i] == TokenType::kByte) {
        bpe_pieces_[i] = spm_bpe_ ? spm_unescape(tokens_[i]) : bpe_unescape(tokens_[i]);
      }
    }
  }
  return {};
}

// Which special tokens strip the whitespace beside them. GGUF files record no such attribute, so
// the rules are llama.cpp's, by model and pre-tokenizer name (it matches the Hugging Face
// tokenizer those files came from), plus the ids corral's own tokenizer.json import records.
void Tokenizer::load_strip_attributes(const GgufFile& file) {
  auto set = [&](int32_t id, uint8_t bit, bool on) {
    if (!is_valid(id)) return;
    if (strip_.empty()) strip_.assign(tokens_.size(), 0);
    uint8_t& s = strip_[static_cast<size_t>(id)];
    s = on ? static_cast<uint8_t>(s | bit) : static_cast<uint8_t>(s & ~bit);
  };
  auto contains_any = [](const std::string& s, std::initializer_list<std::string_view> parts) {
    for (auto p : parts) {
      if (s.find(p) != std::string::npos) return true;
    }
    return false;
  };
  std::string name = file.get_string("general.name").value_or("");
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string pre = file.get_string("tokenizer.ggml.pre").value_or("");
  if (contains_any(pre, {"jina-v2-de", "jina-v2-es", "jina-v2-code"})) {
    set(lookup("<mask>"), kStripLeft, true);
  } else if (contains_any(name, {"phi-3", "phi3"})) {
    // Phi-3's tokenizer.json marks its chat tokens and </s> rstrip, but not <s>, <unk> or
    // <|endoftext|>.
    for (int32_t id : special_tokens_) set(id, kStripRight, true);
    set(lookup("</s>"), kStripRight, true);
    for (auto t : {"<unk>", "<s>", "<|endoftext|>"}) set(lookup(t), kStripRight, false);
  }
  for (auto [key, bit] : {std::pair{kGgufLstripIdsKey, kStripLeft}, std::pair{kGgufRstripIdsKey, kStripRight}}) {
    const GgufArray* ids = file.get_array(key);
    if (!ids) continue;
    for (int64_t id : ids->ints) {
      if (id >= 0 && id < n_vocab()) set(static_cast<int32_t>(id), bit, true);
    }
  }
}

int32_t Tokenizer::lookup(std::string_view text) const {
  const auto it = token_index_.find(text);
  return it == token_index_.end() ? -1 : it->second;
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  const int32_t id = lookup(text);
  if (id < 0) return std::nullopt;
  return id;
}

bool Tokenizer::is_eog(int32_t id) const {
  return std::binary_search(eog_ids_.begin(), eog_ids_.end(), id);
}

bool Tokenizer::is_control(int32_t id) const {
  return is_valid(id) && types_[static_cast<size_t>(id)] == TokenType::kControl;
}

TokenType Tokenizer::token_type(int32_t id) const {
  return is_valid(id) ? types_[static_cast<size_t>(id)] : TokenType::kUndefined;
}

const std::string& Tokenizer::token_text(int32_t id) const {
  static const std::string kEmpty;
  return is_valid(id) ? tokens_[static_cast<size_t>(id)] : kEmpty;
}

float Tokenizer::token_score(int32_t id) const {
  return is_valid(id) ? scores_[static_cast<size_t>(id)] : 0.0f;
}

std::vector<Tokenizer::Fragment> Tokenizer::partition_special(std::string_view text,
                                                              bool parse_special) const {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({text, -1});
  std::vector<Fragment> next;
  for (const int32_t id : special_tokens_) {
    const TokenType type = types_[static_cast<size_t>(id)];
    if (!parse_special && type != TokenType::kUserDefined) continue;
    const std::string& needle = tokens_[static_cast<size_t>(id)];
    if (text.find(needle) == std::string_view::npos) continue;  // cheap pre-check
    const uint8_t strip = strip_.empty() ? 0 : strip_[static_cast<size_t>(id)];
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      std::string_view rest = f.text;
      size_t pos;
      while ((pos = rest.find(needle)) != std::string_view::npos) {
        std::string_view left = rest.substr(0, pos);
        if (strip & kStripLeft) {
          while (!left.empty() && is_ascii_space(left.back())) left.remove_suffix(1);
        }
        if (!left.empty()) next.push_back({left, -1});
        next.push_back({{}, id});
        rest.remove_prefix(pos + needle.size());
        if (strip & kStripRight) {
          while (!rest.empty() && is_ascii_space(rest.front())) rest.remove_prefix(1);
        }
      }
      if (!rest.empty()) next.push_back({rest, -1});
    }
    frags.swap(next);
  }
  return frags;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && add_bos_ && bos_id_ >= 0) out.push_back(bos_id_);
  const std::vector<Fragment> frags = partition_special(text, parse_special);
  if (model_ == TokenizerModel::kSpm) {
    bool prev_special = true;  // the dummy-prefix space goes at the start and after specials
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        out.push_back(f.token);
        prev_special = true;
        continue;
      }
      std::string piece;
      if (add_space_prefix_ && prev_special) piece = " ";
      piece += f.text;
      encode_spm(spm_escape(piece), out);
      prev_special = false;
    }
  } else if (model_ == TokenizerModel::kWpm) {
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        out.push_back(f.token);
      } else {
        encode_wpm(f.text, out);
      }
    }
    if (add_special && sep_id_ >= 0) out.push_back(sep_id_);
  } else {
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        out.push_back(f.token);
        continue;
      }
      if (spm_bpe_) {
        encode_gemma4(f.text, out);
        continue;
      }
      std::string normalized;
      std::string_view raw = f.text;
      if (nfc_) {
        normalized = unicode::nfc(raw);
        raw = normalized;
      }
      for (std::string_view word : pre_tokenize(pre_, raw)) encode_bpe_word(word, out);
    }
  }
  if (add_special && add_eos_ && eos_id_ >= 0) out.push_back(eos_id_);
  return out;
}

int32_t Tokenizer::spm_byte_token(uint8_t byte) const {
  if (int32_t id = byte_tokens_[byte]; id >= 0) return id;
  const char c = static_cast<char>(byte);
  if (int32_t id = lookup(std::string_view(&c, 1)); id >= 0) return id;
  return unk_id_;
}

void Tokenizer::encode_spm(std::string_view text, std::vector<int32_t>& out) const {
  // Symbols are UTF-8 characters in a doubly linked list; the highest-scoring adjacent pair
  // whose concatenation is a token is merged first (ties: leftmost), as SentencePiece BPE does.
  struct Symbol {
    int32_t prev, next;
    uint32_t offset, len;
  };
  struct Bigram {
    float score;
    int32_t left, right;
    uint32_t len;
  };
  auto worse = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::vector<Symbol> syms;
  syms.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    const size_t len = std::min(utf8_len_from_lead(static_cast<unsigned char>(text[off])),
                                text.size() - off);
    const auto idx = static_cast<int32_t>(syms.size());
    syms.push_back({idx - 1, off + len == text.size() ? -1 : idx + 1,
                    static_cast<uint32_t>(off), static_cast<uint32_t>(len)});
    off += len;
  }
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = syms[static_cast<size_t>(left)];
    const Symbol& r = syms[static_cast<size_t>(right)];
    const int32_t id = lookup(text.substr(l.offset, l.len + r.len));
    // As in SentencePiece, merges make only normal and user-defined pieces: never a control,
    // unknown, byte or unused token whose text happens to appear in the input (Hugging Face's
    // BPE has no merges that make them either).
    if (id < 0) return;
    switch (types_[static_cast<size_t>(id)]) {
      case TokenType::kControl:
      case TokenType::kUnknown:
      case TokenType::kByte:
      case TokenType::kUnused: return;
      default: break;
    }
    queue.push({scores_[static_cast<size_t>(id)], left, right, l.len + r.len});
  };
  for (size_t i = 1; i < syms.size(); ++i) {
    try_add(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  }
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = syms[static_cast<size_t>(b.left)];
    Symbol& r = syms[static_cast<size_t>(b.right)];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[static_cast<size_t>(i)].next) {
    const Symbol& s = syms[static_cast<size_t>(i)];
    const std::string_view piece = text.substr(s.offset, s.len);
    if (const int32_t id = lookup(piece); id >= 0) {
      out.push_back(id);
      continue;
    }
    for (char c : piece) {  // byte fallback
      const int32_t id = spm_byte_token(static_cast<uint8_t>(c));
      if (id >= 0) out.push_back(id);
    }
  }
}

void Tokenizer::encode_gemma4(std::string_view text, std::vector<int32_t>& out) const {
  std::string escaped;
  escaped.reserve(text.size() + text.size() / 2);
  for (char c : text) {
    if (c == ' ') escaped += "\xE2\x96\x81";  // U+2581
    else escaped += c;
  }
  // Words are the runs of line breaks and the runs between them; a run of line breaks that is
  // itself a token is that token (Gemma 4's vocabulary has them, and no merges that make them).
  std::string_view rest = escaped;
  while (!rest.empty()) {
    const bool breaks = rest[0] == '\n';
    size_t n = 0;
    while (n < rest.size() && (rest[n] == '\n') == breaks) ++n;
    const std::string_view word = rest.substr(0, n);
    const int32_t whole = breaks ? lookup(word) : -1;
    if (whole >= 0) out.push_back(whole);
    else encode_bpe_word(word, out);
    rest.remove_prefix(n);
  }
}

void Tokenizer::encode_bpe_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  std::string encoded;
  encoded.reserve(word.size() * 2);
  for (char c : word) encoded += unicode::byte_to_unicode(static_cast<uint8_t>(c));
  if (ignore_merges_ && !spm_bpe_) {
    if (const int32_t id = lookup(encoded); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  // One symbol per input byte (= one codepoint of the byte-level alphabet). The lowest-ranked
  // merge among adjacent pairs is applied first (ties: leftmost), as in GPT-2's BPE.
  struct Symbol {
    int32_t prev, next, id;
  };
  struct Pair {
    int32_t rank, left, right, left_id, right_id;
  };
  auto worse = [](const Pair& a, const Pair& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };
  // Units: the bytes (byte-level BPE) or, for Gemma 4, the UTF-8 characters of the word.
  std::vector<std::pair<uint32_t, uint32_t>> units;  // offset, length
  units.reserve(word.size());
  for (size_t i = 0; i < word.size();) {
    size_t len = 1;
    if (spm_bpe_) len = std::max<size_t>(1, unicode::valid_utf8_len(word, i));
    units.emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(len));
    i += len;
  }
  std::vector<Symbol> syms(units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    const int32_t id = spm_bpe_ ? lookup(word.substr(units[i].first, units[i].second))
                                : lookup(unicode::byte_to_unicode(static_cast<uint8_t>(word[i])));
    syms[i] = {static_cast<int32_t>(i) - 1,
               i + 1 == units.size() ? -1 : static_cast<int32_t>(i + 1), id};
  }
  std::priority_queue<Pair, std::vector<Pair>, decltype(worse)> queue(worse);
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const int32_t a = syms[static_cast<size_t>(left)].id;
    const int32_t b = syms[static_cast<size_t>(right)].id;
    if (a < 0 || b < 0) return;
    const auto it = merges_.find((static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) |
                                 static_cast<uint32_t>(b));
    if (it == merges_.end()) return;
    queue.push({it->second.rank, left, right, a, b});
  };
  for (size_t i = 1; i < syms.size(); ++i) {
    try_add(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  }
  while (!queue.empty()) {
    const Pair p = queue.top();
    queue.pop();
    Symbol& l = syms[static_cast<size_t>(p.left)];
    Symbol& r = syms[static_cast<size_t>(p.right)];
    // Stale when either side was merged away or changed since the pair was queued.
    if (l.next != p.right || l.id != p.left_id || r.id != p.right_id) continue;
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(l.id)) << 32) |
                         static_cast<uint32_t>(r.id);
    l.id = merges_.find(key)->second.result;
    l.next = r.next;
    r.id = -2;  // dead
    r.next = -1;
    if (l.next >= 0) syms[static_cast<size_t>(l.next)].prev = p.left;
    try_add(l.prev, p.left);
    try_add(p.left, l.next);
  }
  for (int32_t i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) {
    const int32_t id = syms[static_cast<size_t>(i)].id;
    if (id >= 0) {
      out.push_back(id);
    } else if (spm_bpe_) {
      // A character with no token: its bytes as <0xXX> tokens (never merged, so still one unit).
      const auto [off, len] = units[static_cast<size_t>(i)];
      for (uint32_t k = 0; k < len; ++k) {
        const int32_t b = byte_tokens_[static_cast<uint8_t>(word[off + k])];
        if (b >= 0) out.push_back(b);
      }
    }  // byte-level: a byte with no token is dropped, as in llama.cpp
  }
}

std::string Tokenizer::token_to_piece(int32_t id, bool special) const {
  if (!is_valid(id)) return {};
  const auto i = static_cast<size_t>(id);
  switch (types_[i]) {
    case TokenType::kControl:
      if (!special && std::binary_search(rendered_controls_.begin(), rendered_controls_.end(), id))
        return tokens_[i];
      return special ? tokens_[i] : std::string();
    case TokenType::kUnknown: return special ? tokens_[i] : std::string();
    case TokenType::kUserDefined:
      // tokenizer.json keeps SentencePiece's U+2581 in user-defined tokens such as Gemma's
      // runs of spaces (llama.cpp's converter writes them with spaces instead).
      return model_ == TokenizerModel::kSpm || spm_bpe_ ? spm_unescape(tokens_[i]) : tokens_[i];
    case TokenType::kUnused:
    case TokenType::kUndefined: return {};
    case TokenType::kByte:
      if (model_ == TokenizerModel::kSpm) {
        const int b = parse_byte_token(tokens_[i]);
        if (b >= 0) return std::string(1, static_cast<char>(b));
        return tokens_[i];
      }
      return bpe_pieces_[i];
    case TokenType::kNormal:
      return model_ == TokenizerModel::kBpe ? bpe_pieces_[i] : spm_unescape(tokens_[i]);
  }
  return {};
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool special) const {
  std::string out;
  bool at_start = true;
  for (const int32_t id : ids) {
    std::string piece = token_to_piece(id, special);
    if (piece.empty()) continue;
    const bool strip = add_space_prefix_ || model_ == TokenizerModel::kWpm;  // word-start marks
    if (at_start && strip && !is_control(id) && piece[0] == ' ') piece.erase(0, 1);
    if (!is_control(id)) at_start = false;
    out += piece;
  }
  return out;
}

// ---- StreamDecoder ----

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// True when bytes [0, n) could still become a valid UTF-8 sequence once more bytes arrive.
bool is_valid_prefix(const unsigned char* s, size_t n) {
  const unsigned char c = s[0];
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return false;
  }
  if (n >= need) return false;  // complete length: not a prefix (caller checks validity)
  for (size_t i = 1; i < n; ++i) {
    if (i == 1 ? (s[i] < lo || s[i] > hi) : (s[i] & 0xC0) != 0x80) return false;
  }
  return true;
}

}  // namespace

std::string StreamDecoder::push(int32_t id) { return push_bytes(tok_.token_to_piece(id, special_)); }

std::string StreamDecoder::push_bytes(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  const auto* s = reinterpret_cast<const unsigned char*>(pending_.data());
  const size_t n = pending_.size();
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      out.push_back(static_cast<char>(s[i++]));
      continue;
    }
    const size_t len = unicode::valid_utf8_len(pending_, i);
    if (len > 0) {
      out.append(pending_, i, len);
      i += len;
    } else if (is_valid_prefix(s + i, n - i)) {
      break;  // hold back the incomplete character
    } else {
      // One U+FFFD per maximal ill-formed subpart (Unicode's recommended practice).
      size_t m = 1;
      while (i + m < n && is_valid_prefix(s + i, m + 1)) ++m;
      out += kReplacement;
      i += m;
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = push_bytes({});
  if (!pending_.empty()) {
    out += kReplacement;
    pending_.clear();
  }
  return out;
}

}  // namespace corral
