// Pre-tokenizer regexes, each written out by hand as a matcher over decoded codepoints.
#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>

#include "tokenizer/unicode.h"

namespace corral {

using unicode::Cpt;

namespace {

// Character classes used by the regexes below.
enum class CharClass {
  kPunctSym,          // [\p{P}\$\+<=>\^~\|]
  kPunctSymBacktick,  // [\p{P}\$\+<=>\^~\|`]
  kNumber,            // \p{N}
  kAsciiDigit,        // [0-9]
  kCrLf,              // [\r\n]
  kSpace,             // \s
  kLetter,            // \p{L}
  kPunct,             // \p{P}
  kCjk,               // [一-龥ࠀ-一가-퟿]
  kDsLetter,          // deepseek-llm's explicit letter ranges
  kDsPunct,           // [!-/:-~！-／：-～‘-‟　-。]
};

struct Range {
  uint32_t lo, hi;
};

// deepseek-llm's letter class, written as ranges in its tokenizer.json (not the same as \p{L}).
constexpr Range kDsLetterRanges[] = {
    {0x41, 0x5A},       {0x61, 0x7A},       {0xB5, 0xB5},       {0xC0, 0xD6},
    {0xD8, 0xF6},       {0xF8, 0x1BA},      {0x1BC, 0x1BF},     {0x1C4, 0x293},
    {0x295, 0x2AF},     {0x370, 0x373},     {0x376, 0x377},     {0x37B, 0x37D},
    {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},     {0x38C, 0x38C},
    {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},     {0x48A, 0x52F},
    {0x531, 0x556},     {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},
    {0x1C90, 0x1CBA},   {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},
    {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},   {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},
    {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},   {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},
    {0x1FD6, 0x1FDB},   {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},
    {0x2102, 0x2102},   {0x2107, 0x2107},   {0x210A, 0x2113},   {0x2115, 0x2115},
    {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},   {0x2128, 0x2128},
    {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},
    {0x2C7E, 0x2CE4},   {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},
    {0xA680, 0xA69B},   {0xA722, 0xA76F},   {0xA771, 0xA787},   {0xA78B, 0xA78E},
    {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},   {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

bool in_ranges(uint32_t cp, const Range* begin, const Range* end) {
  const Range* it = std::upper_bound(begin, end, cp,
                                     [](uint32_t v, const Range& r) { return v < r.lo; });
  return it != begin && cp <= std::prev(it)->hi;
}

bool in_class(CharClass c, uint32_t cp) {
  switch (c) {
    case CharClass::kPunctSym:
    case CharClass::kPunctSymBacktick:
      if (cp == '$' || cp == '+' || cp == '<' || cp == '=' || cp == '>' || cp == '^' ||
          cp == '~' || cp == '|')
        return true;
      if (c == CharClass::kPunctSymBacktick && cp == '`') return true;
      return unicode::is_punctuation(cp);
    case CharClass::kNumber: return unicode::is_number(cp);
    case CharClass::kAsciiDigit: return cp >= '0' && cp <= '9';
    case CharClass::kCrLf: return cp == '\r' || cp == '\n';
    case CharClass::kSpace: return unicode::is_whitespace(cp);
    case CharClass::kLetter: return unicode::is_letter(cp);
    case CharClass::kPunct: return unicode::is_punctuation(cp);
    case CharClass::kCjk:
      return (cp >= 0x4E00 && cp <= 0x9FA5) || (cp >= 0x0800 && cp <= 0x4E00) ||
             (cp >= 0xAC00 && cp <= 0xD7FF);
    case CharClass::kDsLetter:
      return in_ranges(cp, std::begin(kDsLetterRanges), std::end(kDsLetterRanges));
    case CharClass::kDsPunct:
      return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x7E) ||
             (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF5E) ||
             (cp >= 0x2018 && cp <= 0x201F) || (cp >= 0x3000 && cp <= 0x3002);
  }
  return false;
}

// One regex of a pre-tokenizer. Kinds:
//   kWordsGpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
//   kWordsLlama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max}
//                 | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//                 (with `marks`, qwen35's: [\p{L}\p{M}]+ for \p{L}+ and [^\s\p{L}\p{M}\p{N}] for
//                 [^\s\p{L}\p{N}])
//   kWordsO200k:  see match_o200k
//   kClassRun:    (prefix)?(cls){min,max}
//   kTrailingSpace: \s+$
struct Rule {
  enum Kind { kWordsGpt2, kWordsLlama3, kWordsO200k, kClassRun, kTrailingSpace } kind;
  int max_digits = 0;             // kWordsLlama3
  bool marks = false;             // kWordsLlama3: marks count as letters
  bool has_prefix = false;        // kClassRun
  CharClass prefix = CharClass::kSpace;
  CharClass cls = CharClass::kSpace;
  size_t min = 1, max = SIZE_MAX;
};

Rule class_run(CharClass cls, size_t min = 1, size_t max = SIZE_MAX) {
  Rule r{Rule::kClassRun};
  r.cls = cls;
  r.min = min;
  r.max = max;
  return r;
}

Rule prefixed_run(CharClass prefix, CharClass cls) {
  Rule r = class_run(cls);
  r.has_prefix = true;
  r.prefix = prefix;
  return r;
}

Rule words_gpt2() { return Rule{Rule::kWordsGpt2}; }

Rule words_llama3(int max_digits, bool marks = false) {
  Rule r{Rule::kWordsLlama3};
  r.max_digits = max_digits;
  r.marks = marks;
  return r;
}

// A matcher over the codepoints [begin, end) of one fragment.
class Matcher {
 public:
  Matcher(const std::vector<Cpt>& cpts, size_t begin, size_t end) : cpts_(cpts), end_(end) {
    // Where the whitespace run that ends the fragment starts (for \s+$ in O(1) per position).
    trailing_space_ = end;
    while (trailing_space_ > begin && unicode::is_whitespace(cpts_[trailing_space_ - 1].cp)) {
      --trailing_space_;
    }
  }

  // Returns the end of the match starting at i, or i when the rule does not match there.
  size_t match(const Rule& rule, size_t i) const {
    switch (rule.kind) {
      case Rule::kWordsGpt2: return match_gpt2(i);
      case Rule::kWordsLlama3: return match_llama3(i, static_cast<size_t>(rule.max_digits), rule.marks);
      case Rule::kWordsO200k: return match_o200k(i);
      case Rule::kClassRun: return match_run(rule, i);
      case Rule::kTrailingSpace: return i >= trailing_space_ ? end_ : i;
    }
    return i;
  }

 private:
  uint32_t cp(size_t i) const { return i < end_ ? cpts_[i].cp : unicode::kInvalid; }
  bool valid(size_t i) const { return i < end_; }
  bool is_letter(size_t i) const { return valid(i) && unicode::is_letter(cp(i)); }
  bool is_number(size_t i) const { return valid(i) && unicode::is_number(cp(i)); }
  bool is_space(size_t i) const { return valid(i) && unicode::is_whitespace(cp(i)); }
  // \p{L}, or [\p{L}\p{M}] with `marks`
  bool is_word(size_t i, bool marks) const { return is_letter(i) || (marks && valid(i) && unicode::is_mark(cp(i))); }
  // [^\s\p{L}\p{N}], or [^\s\p{L}\p{M}\p{N}] with `marks`
  bool is_other(size_t i, bool marks = false) const {
    return valid(i) && !unicode::is_whitespace(cp(i)) && !unicode::is_letter(cp(i)) &&
           !unicode::is_number(cp(i)) && !(marks && unicode::is_mark(cp(i)));
  }
  size_t skip_letters(size_t i, bool marks = false) const {
    while (is_word(i, marks)) ++i;
    return i;
  }

  // 's 't 're 've 'm 'll 'd at i (i holds the apostrophe); returns the end or i.
  size_t match_contraction(size_t i, bool ignore_case) const {
    if (cp(i) != '\'' || !valid(i + 1)) return i;
    auto lower = [&](size_t k) -> uint32_t {
      const uint32_t c = cp(k);
      if (ignore_case && c >= 'A' && c <= 'Z') return c + 32;
      return c;
    };
    const uint32_t a = lower(i + 1);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (valid(i + 2)) {
      const uint32_t b = lower(i + 2);
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
    return i;
  }

  // \s+(?!\S) at i: the whitespace run, less its last char when a non-space follows.
  size_t match_space_not_before_word(size_t i) const {
    size_t j = i;
    while (is_space(j)) ++j;
    if (j == i) return i;
    if (j == end_) return j;
    return j - i >= 2 ? j - 1 : i;
  }

  size_t match_gpt2(size_t i) const {
    size_t j = match_contraction(i, /*ignore_case=*/false);
    if (j != i) return j;
    const size_t k = cp(i) == ' ' ? i + 1 : i;  // optional leading space
    if (is_letter(k)) return skip_letters(k);
    if (is_number(k)) {
      j = k;
      while (is_number(j)) ++j;
      return j;
    }
    if (is_other(k)) {
      j = k;
      while (is_other(j)) ++j;
      return j;
    }
    return match_space_not_before_word(i);
  }

  size_t match_llama3(size_t i, size_t max_digits, bool marks) const {
    size_t j = match_contraction(i, /*ignore_case=*/true);
    if (j != i) return j;
    const uint32_t c = cp(i);
    // [^\r\n\p{L}\p{N}]?\p{L}+ (a mark at i is a word of its own run either way)
    if (is_word(i, marks)) return skip_letters(i, marks);
    if (valid(i) && c != '\r' && c != '\n' && !is_number(i) && is_word(i + 1, marks)) return skip_letters(i + 1, marks);
    return match_numbers_symbols_spaces(i, max_digits, /*slash_tail=*/false, marks);
  }

  // The alternatives llama3 and o200k share after their letter words:
  //   \p{N}{1,max} | ?[^\s\p{L}\p{N}]+[\r\n]* ([\r\n/]* when slash_tail)
  //   |\s*[\r\n]+|\s+(?!\S)|\s+
  size_t match_numbers_symbols_spaces(size_t i, size_t max_digits, bool slash_tail, bool marks = false) const {
    const uint32_t c = cp(i);
    size_t j = i;
    if (is_number(i)) {
      while (j - i < max_digits && is_number(j)) ++j;
      return j;
    }
    const size_t k = c == ' ' ? i + 1 : i;
    if (is_other(k, marks)) {
      j = k;
      while (is_other(j, marks)) ++j;
      while (valid(j) && (cp(j) == '\r' || cp(j) == '\n' || (slash_tail && cp(j) == '/'))) ++j;
      return j;
    }
    if (!is_space(i)) return i;
    // \s*[\r\n]+ : the whitespace run up to and including its last line break.
    size_t run_end = i;
    size_t last_break = SIZE_MAX;
    while (is_space(run_end)) {
      if (cp(run_end) == '\r' || cp(run_end) == '\n') last_break = run_end;
      ++run_end;
    }
    if (last_break != SIZE_MAX) return last_break + 1;
    // \s+(?!\S) | \s+
    j = match_space_not_before_word(i);
    return j != i ? j : run_end;
  }

  // o200k (gpt-oss, GPT-4o), with P = [^\r\n\p{L}\p{N}], U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}],
  // L = [\p{Ll}\p{Lm}\p{Lo}\p{M}] and C = (?i:'s|'t|'re|'ve|'m|'ll|'d):
  //   P?U*L+C? | P?U+L*C? | \p{N}{1,3} | ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
  // Each alternative is tried with the optional P taken first, then without, as a backtracking
  // engine does; a mark (in U and L but also in P) can start a word either way.
  size_t match_o200k(size_t i) const {
    const uint32_t c = cp(i);
    const bool prefix = valid(i) && c != '\r' && c != '\n' && !is_letter(i) && !is_number(i);
    size_t j = i;
    if (prefix && (j = lower_word(i + 1)) != i + 1) return match_contraction(j, /*ignore_case=*/true);
    if ((j = lower_word(i)) != i) return match_contraction(j, /*ignore_case=*/true);
    if (prefix && (j = upper_word(i + 1)) != i + 1) return match_contraction(j, /*ignore_case=*/true);
    if ((j = upper_word(i)) != i) return match_contraction(j, /*ignore_case=*/true);
    return match_numbers_symbols_spaces(i, 3, /*slash_tail=*/true);
  }

  bool is_upper(size_t i) const { return valid(i) && unicode::is_upper_or_caseless(cp(i)); }
  bool is_lower(size_t i) const { return valid(i) && unicode::is_lower_or_caseless(cp(i)); }

  // U*L+ at s: U* takes all it can and gives back one at a time until L+ can start; L+ then
  // takes all it can. Returns the end, or s when there is no match.
  size_t lower_word(size_t s) const {
    size_t u = s;
    while (is_upper(u)) ++u;
    for (size_t k = u + 1; k-- > s;) {
      if (is_lower(k)) {
        while (is_lower(k)) ++k;
        return k;
      }
    }
    return s;
  }

  // U+L* at s.
  size_t upper_word(size_t s) const {
    size_t u = s;
    while (is_upper(u)) ++u;
    if (u == s) return s;
    while (is_lower(u)) ++u;
    return u;
  }

  size_t match_run(const Rule& rule, size_t i) const {
    auto run_from = [&](size_t k) {
      size_t j = k;
      while (j - k < rule.max && valid(j) && in_class(rule.cls, cp(j))) ++j;
      return j - k >= rule.min ? j : k;
    };
    if (rule.has_prefix && valid(i) && in_class(rule.prefix, cp(i))) {
      const size_t j = run_from(i + 1);
      if (j != i + 1) return j;
    }
    return run_from(i);
  }

  const std::vector<Cpt>& cpts_;
  size_t end_;
  size_t trailing_space_;
};

std::vector<Rule> rules_for(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::kLlama3: return {words_llama3(3)};
    case PreTokenizerKind::kQwen2: return {words_llama3(1)};
    case PreTokenizerKind::kQwen35: return {words_llama3(1, /*marks=*/true)};
    case PreTokenizerKind::kO200k: return {Rule{Rule::kWordsO200k}};
    case PreTokenizerKind::kDeepseekLlm: {
      Rule trailing{Rule::kTrailingSpace};
      return {class_run(CharClass::kCrLf, 1, 1),
              prefixed_run(CharClass::kSpace, CharClass::kDsLetter),
              prefixed_run(CharClass::kSpace, CharClass::kDsPunct),
              trailing,
              class_run(CharClass::kCjk),
              class_run(CharClass::kNumber)};
    }
    case PreTokenizerKind::kDeepseekCoder:
      return {class_run(CharClass::kCrLf, 1, 1),
              prefixed_run(CharClass::kSpace, CharClass::kLetter),
              prefixed_run(CharClass::kSpace, CharClass::kPunct),
              class_run(CharClass::kCjk),
              class_run(CharClass::kNumber, 1, 1)};
    case PreTokenizerKind::kFalcon:
      return {class_run(CharClass::kPunctSymBacktick), words_gpt2(),
              class_run(CharClass::kAsciiDigit, 3, 3)};
    case PreTokenizerKind::kGpt2: return {words_gpt2()};
    case PreTokenizerKind::kStarcoder:
      return {class_run(CharClass::kNumber, 1, 1), words_gpt2()};
    case PreTokenizerKind::kDefault:
      return {class_run(CharClass::kPunctSym), words_gpt2(), class_run(CharClass::kNumber),
              class_run(CharClass::kAsciiDigit, 3, 3)};
  }
  return {};
}

}  // namespace

std::optional<PreTokenizerKind> pre_tokenizer_from_name(std::string_view name) {
  struct Entry {
    std::string_view name;
    PreTokenizerKind kind;
  };
  static constexpr Entry kNames[] = {
      {"default", PreTokenizerKind::kDefault},
      {"llama3", PreTokenizerKind::kLlama3},
      {"llama-v3", PreTokenizerKind::kLlama3},
      {"llama-bpe", PreTokenizerKind::kLlama3},
      {"falcon3", PreTokenizerKind::kLlama3},
      {"dbrx", PreTokenizerKind::kLlama3},
      {"smaug-bpe", PreTokenizerKind::kLlama3},
      {"qwen2", PreTokenizerKind::kQwen2},
      {"qwen35", PreTokenizerKind::kQwen35},
      {"gpt-4o", PreTokenizerKind::kO200k},
      {"deepseek-r1-qwen", PreTokenizerKind::kQwen2},
      {"stablelm2", PreTokenizerKind::kQwen2},
      {"deepseek-llm", PreTokenizerKind::kDeepseekLlm},
      {"deepseek-coder", PreTokenizerKind::kDeepseekCoder},
      {"falcon", PreTokenizerKind::kFalcon},
      {"mpt", PreTokenizerKind::kGpt2},
      {"gpt-2", PreTokenizerKind::kGpt2},
      {"phi-2", PreTokenizerKind::kGpt2},
      {"olmo", PreTokenizerKind::kGpt2},
      {"roberta-bpe", PreTokenizerKind::kGpt2},
      {"starcoder", PreTokenizerKind::kStarcoder},
      {"refact", PreTokenizerKind::kStarcoder},
      {"command-r", PreTokenizerKind::kStarcoder},
      {"smollm", PreTokenizerKind::kStarcoder},
      {"codeshell", PreTokenizerKind::kStarcoder},
      {"exaone", PreTokenizerKind::kStarcoder},
  };
  for (const auto& e : kNames) {
    if (e.name == name) return e.kind;
  }
  return std::nullopt;
}

std::vector<std::string_view> pre_tokenize(PreTokenizerKind kind, std::string_view text) {
  std::vector<std::string_view> words;
  if (text.empty()) return words;
  const std::vector<Cpt> cpts = unicode::decode_utf8(text);
  // Fragments as codepoint ranges; each rule splits every fragment into matches and gaps.
  std::vector<std::pair<size_t, size_t>> frags{{0, cpts.size()}};
  std::vector<std::pair<size_t, size_t>> next;
  for (const Rule& rule : rules_for(kind)) {
    next.clear();
    for (const auto& [begin, end] : frags) {
      const Matcher m(cpts, begin, end);
      size_t gap_start = begin;
      size_t i = begin;
      while (i < end) {
        const size_t j = m.match(rule, i);
        if (j == i) {
          ++i;
          continue;
        }
        if (gap_start < i) next.emplace_back(gap_start, i);
        next.emplace_back(i, j);
        i = j;
        gap_start = j;
      }
      if (gap_start < end) next.emplace_back(gap_start, end);
    }
    frags.swap(next);
  }
  words.reserve(frags.size());
  for (const auto& [begin, end] : frags) {
    const size_t off = cpts[begin].offset;
    const size_t stop = cpts[end - 1].offset + cpts[end - 1].len;
    words.push_back(text.substr(off, stop - off));
  }
  return words;
}

}  // namespace corral
