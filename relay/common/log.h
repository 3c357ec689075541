// log.h - one line per event, key=value (default) or JSON, written to stderr.
//
// Usage: LogLine(LogLevel::kInfo, "accepted").kv("id", id).kv("client", addr);
// The line is written by the destructor with one write(2), so lines from different
// threads never interleave. A disabled level costs one comparison and no formatting.
// Values are escaped (quotes, control bytes) so a hostile HELO or address can never
// forge a second log line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace correo {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kKv, kJson };

// Process-wide settings; set once at start (and on reload) before workers log.
void set_log_options(LogLevel level, LogFormat format);
bool log_enabled(LogLevel level);
const char* to_string(LogLevel level);

class LogLine {
 public:
  LogLine(LogLevel level, std::string_view event);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& kv(std::string_view key, std::string_view value);
  LogLine& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  LogLine& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view(value)); }
  LogLine& kv(std::string_view key, int64_t value);
  LogLine& kv(std::string_view key, uint64_t value);
  LogLine& kv(std::string_view key, int value) { return kv(key, static_cast<int64_t>(value)); }
  LogLine& kv(std::string_view key, unsigned value) { return kv(key, static_cast<uint64_t>(value)); }
  LogLine& kv(std::string_view key, double value);
  LogLine& kv(std::string_view key, bool value) { return kv(key, std::string_view(value ? "true" : "false")); }

 private:
  void key(std::string_view k);
  void raw_value(std::string_view v);
  void string_value(std::string_view v);

  bool enabled_;
  std::string line_;
};

}  // namespace correo
