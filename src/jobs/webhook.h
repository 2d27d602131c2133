// Webhook signing: the receiver recomputes HMAC-SHA256(secret, raw body) and compares it with
// the X-Corral-Signature header ("sha256=<lowercase hex>").
#pragma once

#include <string>
#include <string_view>

namespace corral::jobs {

inline constexpr const char* kSignatureHeader = "X-Corral-Signature";

std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// "sha256=<hex>"
std::string webhook_signature(std::string_view secret, std::string_view body);

}  // namespace corral::jobs
