// Unicode helpers for the tokenizers: lenient UTF-8 decoding, character classes, GPT-2 byte map.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/utf8.h"

namespace corral::unicode {

// Marks a byte that is not part of a valid UTF-8 sequence; it decodes to a 1-byte "codepoint"
// that belongs to no letter/number/space class (like U+FFFD), so raw bytes survive tokenisation.
inline constexpr uint32_t kInvalid = 0xFFFFFFFFu;

// One decoded codepoint and where it sits in the source text.
struct Cpt {
  uint32_t cp;
  uint32_t offset;  // byte offset
  uint32_t len;     // byte length (1..4)
};

// Decodes `text` leniently: each invalid or truncated byte becomes {kInvalid, offset, 1}.
std::vector<Cpt> decode_utf8(std::string_view text);

// Length of the valid UTF-8 sequence at text[pos] (1..4), or 0 if it is invalid or truncated.
size_t valid_utf8_len(std::string_view text, size_t pos);

using corral::append_utf8;  // base/utf8.h

// Character classes as the pre-tokenizer regexes use them (Unicode general categories via
// utf8proc; whitespace is the White_Space property, as in Python/Rust/Oniguruma `\s`).
bool is_letter(uint32_t cp);       // \p{L}
bool is_number(uint32_t cp);       // \p{N}
bool is_punctuation(uint32_t cp);  // \p{P}
bool is_whitespace(uint32_t cp);   // \s
bool is_symbol(uint32_t cp);       // \p{S}
bool is_control(uint32_t cp);      // Cc, Cf, Co, Cs
bool is_nonspacing_mark(uint32_t cp);  // Mn
bool is_mark(uint32_t cp);             // \p{M}: Mn, Mc, Me
// o200k's (gpt-oss, GPT-4o) case-aware letter classes: [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and
// [\p{Ll}\p{Lm}\p{Lo}\p{M}] (modifier and other letters and marks belong to both).
bool is_upper_or_caseless(uint32_t cp);
bool is_lower_or_caseless(uint32_t cp);
uint32_t to_lower(uint32_t cp);

// Returns `text` in Unicode NFC (invalid UTF-8 is returned unchanged).
std::string nfc(std::string_view text);
// Returns `text` in Unicode NFD (invalid UTF-8 is returned unchanged).
std::string nfd(std::string_view text);

// The GPT-2 byte-level alphabet: every byte maps to one printable codepoint (as UTF-8).
const std::string& byte_to_unicode(uint8_t b);
// Inverse map; returns -1 for a codepoint outside the alphabet.
int unicode_to_byte(uint32_t cp);

}  // namespace corral::unicode
