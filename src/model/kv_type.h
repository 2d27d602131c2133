// The element types a context's KV cache can hold, with their names (as Ollama's
// OLLAMA_KV_CACHE_TYPE spells them) and sizes. The block types store each position's K and V
// as GGUF blocks of 32 along each head, so a layer's head size must be a multiple of 32
// (Context::create falls back to f16 otherwise).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace corral {

enum class KvType { kF16, kF32, kQ8_0, kQ4_0 };

inline constexpr int64_t kKvBlockElems = 32;  // elements per q8_0 / q4_0 block

// Bytes one block of 32 elements takes (q8_0: fp16 scale + 32 int8; q4_0: fp16 scale + 16 bytes
// of nibbles); 0 for the float types.
inline constexpr size_t kv_block_bytes(KvType t) {
  return t == KvType::kQ8_0 ? 34 : t == KvType::kQ4_0 ? 18 : 0;
}

// Bytes per cached element: 2, 4, 34/32, 18/32.
inline constexpr double kv_bytes_per_element(KvType t) {
  switch (t) {
    case KvType::kF16: return 2.0;
    case KvType::kF32: return 4.0;
    case KvType::kQ8_0: return 34.0 / 32.0;
    case KvType::kQ4_0: return 18.0 / 32.0;
  }
  return 2.0;
}

// Bytes of n elements (a multiple of 32 for the block types).
inline constexpr size_t kv_bytes_of(KvType t, size_t n) {
  const size_t bb = kv_block_bytes(t);
  return bb != 0 ? n / static_cast<size_t>(kKvBlockElems) * bb : n * (t == KvType::kF32 ? 4 : 2);
}

inline constexpr std::string_view kv_type_name(KvType t) {
  switch (t) {
    case KvType::kF16: return "f16";
    case KvType::kF32: return "f32";
    case KvType::kQ8_0: return "q8_0";
    case KvType::kQ4_0: return "q4_0";
  }
  return "f16";
}

// "f16", "f32", "q8_0", "q4_0" (case-insensitive, as Ollama lower-cases the variable); nullopt
// for anything else.
inline std::optional<KvType> parse_kv_type(std::string_view s) {
  auto eq = [s](std::string_view name) {
    if (s.size() != name.size()) return false;
    for (size_t i = 0; i < s.size(); ++i) {
      const char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
      if (c != name[i]) return false;
    }
    return true;
  };
  for (KvType t : {KvType::kF16, KvType::kF32, KvType::kQ8_0, KvType::kQ4_0})
    if (eq(kv_type_name(t))) return t;
  return std::nullopt;
}

}  // namespace corral
