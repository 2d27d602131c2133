// Text formats the CLI prints or reads: Go's time.Duration text (Ollama's --verbose timings) and
// RFC 3339 times from the API (`ps` UNTIL, `list` MODIFIED).
#pragma once

#include <cstdint>
#include <string>

namespace corral::cli {

// Go's time.Duration String(): "0s", "850ns", "1.5µs", "12.5ms", "1.234567891s", "2m3s", "1h0m0s".
std::string go_duration(int64_t ns);

// "2024-01-02T03:04:05.123Z" / "...+02:00" -> Unix seconds; 0 when it does not parse.
int64_t parse_rfc3339_s(const std::string& s);

}  // namespace corral::cli
