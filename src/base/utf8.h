// UTF-8 encoding and strict decoding of one code point: the one copy the tokenizers, the
// template engines and the grammar compiler share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace corral {

inline constexpr uint32_t kMaxCodePoint = 0x10FFFF;

// Appends cp (at most kMaxCodePoint) as 1 to 4 bytes.
void append_utf8(std::string& out, uint32_t cp);

// Decodes the code point at s[i] into *cp and returns its length (1..4), or 0 when the bytes
// there are not valid UTF-8: a stray continuation byte, a truncated sequence, an overlong form,
// a surrogate or a value beyond U+10FFFF (*cp is then left alone).
size_t decode_utf8(std::string_view s, size_t i, uint32_t* cp);

}  // namespace corral
