// A spinner on a terminal while the model loads or the first token is on its way. Drawn from a
// thread; stop() erases it so the answer starts on a clean line. Does nothing when not a TTY.
#pragma once

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

namespace corral::cli {

class Spinner {
 public:
  Spinner(bool tty, std::string message = {});
  ~Spinner() { stop(); }
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;
  void stop();

 private:
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::string message_;
};

}  // namespace corral::cli
