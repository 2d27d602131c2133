// Whole-file reads and crash-safe writes (temp file + fsync + rename + directory fsync).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace corral {

Result<std::string> read_file(const std::string& path);

// Writes `contents` to `path` atomically: readers see the old file or the new one, never a
// partial one, even if the process is killed or the machine loses power mid-write.
Status atomic_write_file(const std::string& path, std::string_view contents);

// fsyncs a directory so a rename inside it is durable.
Status fsync_directory(const std::string& dir);

}  // namespace corral
