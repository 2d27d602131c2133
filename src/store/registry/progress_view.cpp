// Progress rendering for pull/push.
#include "store/registry/progress_view.h"

#include <fmt/format.h>

#include "store/model_info.h"

namespace corral::registry {

std::string ProgressView::bar_line(const Progress& p, double seconds) const {
  const double frac = p.total > 0 ? static_cast<double>(p.completed) / static_cast<double>(p.total) : 0;
  const int pct = static_cast<int>(frac * 100);
  if (!tty_) return fmt::format("{}: {:3d}% {}", p.status, pct, human_bytes(p.total));
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar = std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), ' ');
  const double got = static_cast<double>(p.completed - layer_first_completed_);
  std::string rate, eta;
  if (seconds > 0.2 && got > 0) {
    const double bps = got / seconds;
    rate = human_bytes(static_cast<int64_t>(bps)) + "/s";
    const int64_t left_s = static_cast<int64_t>(static_cast<double>(p.total - p.completed) / bps);
    eta = left_s >= 60 ? fmt::format("{}m{}s", left_s / 60, left_s % 60) : fmt::format("{}s", left_s);
  }
  return fmt::format("{}: {:3d}% [{}] {}/{} {} {}", p.status, pct, bar, human_bytes(p.completed),
                     human_bytes(p.total), rate, eta);
}

void ProgressView::update(const Progress& p) {
  const auto now = std::chrono::steady_clock::now();
  if (p.digest.empty()) {
    finish();
    if (p.status != last_status_) std::fprintf(out_, "%s\n", p.status.c_str());
    last_status_ = p.status;
    std::fflush(out_);
    return;
  }
  if (p.digest != open_digest_) {
    finish();
    open_digest_ = p.digest;
    open_done_ = false;
    layer_start_ = now;
    layer_first_completed_ = p.completed;
  }
  const bool done = p.total > 0 && p.completed >= p.total;
  const double secs = std::chrono::duration<double>(now - layer_start_).count();
  if (tty_) {
    std::fprintf(out_, "\r%s\x1b[K", bar_line(p, secs).c_str());
    if (done && !open_done_) {
      std::fprintf(out_, "\n");
      open_digest_ = p.digest;
      open_done_ = true;
    }
  } else if (done && !open_done_) {
    std::fprintf(out_, "%s\n", bar_line(p, secs).c_str());
    open_done_ = true;
  }
  std::fflush(out_);
}

void ProgressView::finish() {
  if (tty_ && !open_digest_.empty() && !open_done_) std::fprintf(out_, "\n");
  open_digest_.clear();
  open_done_ = false;
}

}  // namespace corral::registry
