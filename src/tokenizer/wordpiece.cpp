// BERT WordPiece ("bert" vocabs as llama.cpp converts them: word-start pieces carry a leading
// U+2581, continuation pieces have no "##"): NFD, accent stripping, lower-casing, punctuation split, then greedy
// longest match per word; a word with no full match becomes [UNK].
#include <algorithm>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace corral {

namespace {

bool is_chinese_char(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Each code point becomes the first code point of its NFD decomposition, as the reference
// engine's WordPiece normalises: "é" -> "e" (its accent dropped), and a Hangul syllable -> its
// leading consonant jamo only ("한" -> "ᄒ", where a full NFD would keep the vowel and final
// jamo as well). Combining marks written as their own code points are stripped below.
uint32_t first_of_nfd(uint32_t cp) {
  if (cp < 0xC0 || cp == unicode::kInvalid) return cp;
  if (cp >= 0xAC00 && cp <= 0xD7A3) return 0x1100 + (cp - 0xAC00) / 588;  // 588 = 21 vowels * 28 finals
  std::string one;
  unicode::append_utf8(one, cp);
  const auto d = unicode::decode_utf8(unicode::nfd(one));
  return d.empty() ? cp : d.front().cp;
}

// Splits into lower-cased words; punctuation, ASCII symbols and CJK ideographs stand alone.
std::vector<std::string> wpm_words(std::string_view text) {
  std::vector<std::string> words(1);
  for (const auto& c : unicode::decode_utf8(text)) {
    const uint32_t cp = first_of_nfd(c.cp);
    if (cp != unicode::kInvalid && unicode::is_whitespace(cp)) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (cp == 0 || cp == 0xFFFD || cp == unicode::kInvalid || unicode::is_control(cp)) continue;
    if (unicode::is_nonspacing_mark(cp)) continue;  // accents stripped, as uncased BERT does
    std::string s;
    unicode::append_utf8(s, unicode::to_lower(cp));
    if (unicode::is_punctuation(cp) || (cp < 0x7F && unicode::is_symbol(cp)) ||
        is_chinese_char(cp)) {
      if (!words.back().empty()) words.emplace_back();
      words.back() = std::move(s);
      words.emplace_back();
    } else {
      words.back() += s;
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

void Tokenizer::encode_wpm(std::string_view text, std::vector<int32_t>& out) const {
  for (const std::string& word : wpm_words(text)) {
    const std::string w = "\xE2\x96\x81" + word;  // phantom space marks the word start
    const size_t start = out.size();
    bool ok = true;
    for (size_t i = 0; i < w.size();) {
      size_t j = std::min(w.size(), i + max_token_len_);
      int32_t id = -1;
      for (; j > i; --j) {
        id = lookup(std::string_view(w).substr(i, j - i));
        if (id >= 0) break;
      }
      if (id < 0) {
        ok = false;
        break;
      }
      out.push_back(id);
      i = j;
    }
    if (!ok) {
      out.resize(start);
      if (unk_id_ >= 0) out.push_back(unk_id_);
    }
  }
}

}  // namespace corral
