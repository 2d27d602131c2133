// Minimal leveled logging to stderr. Level from CORRAL_LOG (debug|info|warn|error), default info;
// OLLAMA_DEBUG=1 also selects debug.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace corral {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

LogLevel log_level();
void set_log_level(LogLevel level);
void log_write(LogLevel level, std::string_view message);

template <class... Args>
void log_at(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (level < log_level()) return;
  log_write(level, fmt::format(f, std::forward<Args>(args)...));
}

#define CORRAL_LOG_DEBUG(...) ::corral::log_at(::corral::LogLevel::kDebug, __VA_ARGS__)
#define CORRAL_LOG_INFO(...) ::corral::log_at(::corral::LogLevel::kInfo, __VA_ARGS__)
#define CORRAL_LOG_WARN(...) ::corral::log_at(::corral::LogLevel::kWarn, __VA_ARGS__)
#define CORRAL_LOG_ERROR(...) ::corral::log_at(::corral::LogLevel::kError, __VA_ARGS__)

}  // namespace corral
