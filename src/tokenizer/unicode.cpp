// Unicode helpers for the tokenizers (see unicode.h).
#include "tokenizer/unicode.h"

#include <array>
#include <cstdlib>

#include <utf8proc.h>

#include "base/utf8.h"

namespace corral::unicode {



size_t valid_utf8_len(std::string_view text, size_t pos) {
  uint32_t cp;
  return corral::decode_utf8(text, pos, &cp);
}

std::vector<Cpt> decode_utf8(std::string_view text) {
  std::vector<Cpt> out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp = 0;
    const size_t len = corral::decode_utf8(text, pos, &cp);
    if (len == 0) {
      out.push_back({kInvalid, static_cast<uint32_t>(pos), 1});
      ++pos;
    } else {
      out.push_back({cp, static_cast<uint32_t>(pos), static_cast<uint32_t>(len)});
      pos += len;
    }
  }
  return out;
}


static utf8proc_category_t category(uint32_t cp) {
  if (cp > 0x10FFFF) return UTF8PROC_CATEGORY_CN;
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

bool is_letter(uint32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

bool is_number(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}

bool is_punctuation(uint32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool is_whitespace(uint32_t cp) {
  // The Unicode White_Space property.
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool is_symbol(uint32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_SM && c <= UTF8PROC_CATEGORY_SO;
}

bool is_control(uint32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_CC && c <= UTF8PROC_CATEGORY_CO;
}

bool is_nonspacing_mark(uint32_t cp) { return category(cp) == UTF8PROC_CATEGORY_MN; }

bool is_mark(uint32_t cp) {
  if (cp < 0x80) return false;
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

bool is_upper_or_caseless(uint32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z';
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_LU || (c >= UTF8PROC_CATEGORY_LT && c <= UTF8PROC_CATEGORY_ME);
}

bool is_lower_or_caseless(uint32_t cp) {
  if (cp < 0x80) return cp >= 'a' && cp <= 'z';
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_LL || (c >= UTF8PROC_CATEGORY_LM && c <= UTF8PROC_CATEGORY_ME);
}

uint32_t to_lower(uint32_t cp) {
  if (cp > 0x10FFFF) return cp;
  return static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

static std::string normalize(std::string_view text, int options) {
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                              static_cast<utf8proc_ssize_t>(text.size()), &out,
                              static_cast<utf8proc_option_t>(options));
  if (n < 0) return std::string(text);
  std::string result(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  return result;
}

std::string nfc(std::string_view text) { return normalize(text, UTF8PROC_STABLE | UTF8PROC_COMPOSE); }

std::string nfd(std::string_view text) {
  return normalize(text, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
}

namespace {

struct ByteTables {
  std::array<std::string, 256> to_unicode;
  std::array<int, 324> to_byte;  // codepoints used by the alphabet are < 324
  ByteTables() {
    to_byte.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const uint32_t cp = printable ? b : next++;
      append_utf8(to_unicode[b], cp);
      to_byte[cp] = static_cast<int>(b);
    }
  }
};

const ByteTables& byte_tables() {
  static const ByteTables tables;
  return tables;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t b) { return byte_tables().to_unicode[b]; }

int unicode_to_byte(uint32_t cp) {
  if (cp >= 324) return -1;
  return byte_tables().to_byte[cp];
}

}  // namespace corral::unicode
