// Go-style duration text ("300ms", "1.5h", "2h45m", "-1m"), the form Ollama's keep_alive and
// OLLAMA_* settings use: one parser for keep-alive values, job deadlines, leases and batch
// completion windows. A bare number is a count of seconds.
#pragma once

#include <string_view>

#include "base/result.h"

namespace corral {

// Seconds in `text` (negative values allowed). Units: ns, us (or µs), ms, s, m, h, and d (24 h)
// when allow_days. An error, naming the text, for empty or malformed input, an unknown unit,
// or a value that is not finite.
Result<double> parse_duration_seconds(std::string_view text, bool allow_days = false);

}  // namespace corral
