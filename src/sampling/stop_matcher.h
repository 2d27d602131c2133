// Stop strings matched on generated text across token boundaries. Text that could be the start
// of a stop string is held back until it is known not to be one; a stop string and everything
// after it is never emitted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace corral {

class StopMatcher {
 public:
  // Empty strings in `stops` are ignored.
  explicit StopMatcher(std::vector<std::string> stops);

  struct Out {
    std::string emit;  // text safe to show now
    bool stopped;      // a stop string completed; generation should end (later pushes emit "")
  };
  Out push(std::string_view text_piece);
  // End of generation without a stop: the held-back text. Empty once stopped.
  std::string flush();

  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace corral
