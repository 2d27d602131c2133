// Free memory as the kernel reports it (MemAvailable: free pages plus the page cache and other
// memory it can reclaim without swapping), for decisions that must not push the machine into
// swap: the scheduler's budget for loaded models, how much of a model may be copied out of
// its file mapping.
#pragma once

#include <cstdint>
#include <string_view>

namespace corral {

// MemAvailable of a /proc/meminfo text, in bytes; 0 when absent or unreadable.
int64_t mem_available_from_meminfo(std::string_view meminfo);

// MemAvailable of this machine now, in bytes; 0 when /proc/meminfo cannot be read.
int64_t mem_available_bytes();

}  // namespace corral
