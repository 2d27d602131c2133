// Renders registry progress events for a terminal (one updating bar per layer with size, speed
// and ETA) or for a pipe/log (plain lines: each status once, each layer when it completes).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "store/registry/registry_client.h"

namespace corral::registry {

class ProgressView {
 public:
  ProgressView(std::FILE* out, bool tty) : out_(out), tty_(tty) {}
  void update(const Progress& p);
  void finish();  // ends an open bar line

 private:
  std::string bar_line(const Progress& p, double seconds) const;

  std::FILE* out_;
  bool tty_;
  std::string open_digest_;  // layer whose bar is on the current line
  std::string last_status_;
  bool open_done_ = false;
  std::chrono::steady_clock::time_point layer_start_;
  int64_t layer_first_completed_ = 0;
};

}  // namespace corral::registry
