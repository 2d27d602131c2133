#include "cli/spinner.h"

#include <chrono>

namespace corral::cli {

Spinner::Spinner(bool tty, std::string message) : message_(std::move(message)) {
  if (!tty) return;
  running_ = true;
  thread_ = std::thread([this] {
    static const char* const kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
    size_t i = 0;
    // A short wait first: a quick answer shows no spinner at all.
    for (int w = 0; w < 2 && running_; ++w) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    while (running_) {
      std::fprintf(stdout, "\r\x1b[K%s%s%s", message_.c_str(), message_.empty() ? "" : " ", kFrames[i++ % 10]);
      std::fflush(stdout);
      for (int w = 0; w < 2 && running_; ++w) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::fprintf(stdout, "\r\x1b[K");
    std::fflush(stdout);
  });
}

void Spinner::stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
}

}  // namespace corral::cli
