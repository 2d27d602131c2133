// libFuzzer target: StopMatcher on arbitrary stop strings and pieces, checked against a naive
// reference (the text so far, cut at the earliest stop once the first one completes).
// Input: fields separated by 0x00; the first byte % 4 fields are stop strings, the rest pieces.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sampling/stop_matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t n_stops = data[0] % 4;
  std::vector<std::string> fields(1);
  for (size_t i = 1; i < size; ++i) {
    if (data[i] == 0) {
      fields.emplace_back();
    } else {
      fields.back().push_back(static_cast<char>(data[i]));
    }
  }
  std::vector<std::string> stops;
  std::vector<std::string> pieces;
  for (size_t i = 0; i < fields.size(); ++i) (i < n_stops ? stops : pieces).push_back(fields[i]);

  corral::StopMatcher m(stops);
  std::string emitted;
  std::string text;
  std::string want;
  bool want_stopped = false;
  bool stopped = false;
  for (const auto& p : pieces) {
    text += p;
    size_t first = std::string::npos;
    for (const auto& s : stops) {
      if (!s.empty()) first = std::min(first, text.find(s));
    }
    const auto out = m.push(p);
    emitted += out.emit;
    if (first != std::string::npos) {
      want = text.substr(0, first);
      want_stopped = true;
    }
    if (out.stopped != want_stopped) __builtin_trap();
    if (out.stopped) {
      stopped = true;
      break;
    }
  }
  if (!stopped) {
    emitted += m.flush();
    want = text;
  }
  if (emitted != want) __builtin_trap();
  return 0;
}
