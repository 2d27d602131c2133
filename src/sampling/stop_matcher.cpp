// Stop-string matching over a small held-back buffer (at most the longest stop string minus one
// byte is ever held between pushes).
#include "sampling/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace corral {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

StopMatcher::Out StopMatcher::push(std::string_view text_piece) {
  if (stopped_) return {"", true};
  held_.append(text_piece);

  // A complete stop string: emit what precedes the earliest one and stop. held_ never contains
  // a whole stop string between pushes, so the earliest match is the one this piece completed.
  size_t first = std::string::npos;
  for (const auto& s : stops_) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    Out out{held_.substr(0, first), true};
    held_.clear();
    stopped_ = true;
    return out;
  }

  // Hold back the longest suffix that is a proper prefix of some stop string: it may still
  // become one. Everything before it can never be part of a stop and is emitted.
  size_t keep = 0;
  for (const auto& s : stops_) {
    for (size_t len = std::min(s.size() - 1, held_.size()); len > keep; --len) {
      if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
        keep = len;
        break;
      }
    }
  }
  Out out{held_.substr(0, held_.size() - keep), false};
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::flush() {
  std::string out = std::move(held_);
  held_.clear();
  return out;
}

}  // namespace corral
