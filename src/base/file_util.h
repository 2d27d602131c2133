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

// `path` made absolute the way the user sees it: relative to the shell's working directory
// ($PWD, which keeps the symbolic links the user went through) when $PWD names the process's
// working directory, else to getcwd()'s physical path; then lexically normalised. Symbolic
// links are never resolved, so a model run as ./model.gguf is listed under the path the user
// could type again (Ollama shows the name the user gave, not a canonical one).
std::string absolute_as_seen(const std::string& path);

}  // namespace corral
