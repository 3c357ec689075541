// log.cc - formatting and the single write(2) per line.
#include "relay/common/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace correo {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kKv)};

bool json() { return g_format.load(std::memory_order_relaxed) == static_cast<int>(LogFormat::kJson); }

void append_timestamp(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm_utc.tm_year + 1900,
           tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
           static_cast<int>(ms % 1000));
  out += buf;
}

}  // namespace

void set_log_options(LogLevel level, LogFormat format) {
  g_level.store(static_cast<int>(level));
  g_format.store(static_cast<int>(format));
}

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

LogLine::LogLine(LogLevel level, std::string_view event) : enabled_(log_enabled(level)) {
  if (!enabled_) return;
  line_.reserve(256);
  if (json()) {
    line_ += "{\"ts\":\"";
    append_timestamp(line_);
    line_ += "\",\"level\":\"";
    line_ += to_string(level);
    line_ += "\",\"event\":";
    string_value(event);
  } else {
    line_ += "ts=";
    append_timestamp(line_);
    line_ += " level=";
    line_ += to_string(level);
    line_ += " event=";
    string_value(event);
  }
}

LogLine::~LogLine() {
  if (!enabled_) return;
  line_ += json() ? "}\n" : "\n";
  // One write per line: lines from different threads stay whole.
  ssize_t rc = ::write(STDERR_FILENO, line_.data(), line_.size());
  (void)rc;
}

void LogLine::key(std::string_view k) {
  if (json()) {
    line_ += ",\"";
    line_ += k;
    line_ += "\":";
  } else {
    line_ += ' ';
    line_ += k;
    line_ += '=';
  }
}

void LogLine::raw_value(std::string_view v) { line_ += v; }

// string_value - quote when needed; escape quotes, backslashes and control bytes.
void LogLine::string_value(std::string_view v) {
  bool quote = json() || v.empty();
  if (!quote) {
    for (unsigned char c : v) {
      if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
        quote = true;
        break;
      }
    }
  }
  if (!quote) {
    line_ += v;
    return;
  }
  line_ += '"';
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      line_ += '\\';
      line_ += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      line_ += buf;
    } else {
      line_ += static_cast<char>(c);
    }
  }
  line_ += '"';
}

LogLine& LogLine::kv(std::string_view k, std::string_view value) {
  if (!enabled_) return *this;
  key(k);
  string_value(value);
  return *this;
}

LogLine& LogLine::kv(std::string_view k, int64_t value) {
  if (!enabled_) return *this;
  key(k);
  raw_value(std::to_string(value));
  return *this;
}

LogLine& LogLine::kv(std::string_view k, uint64_t value) {
  if (!enabled_) return *this;
  key(k);
  raw_value(std::to_string(value));
  return *this;
}

LogLine& LogLine::kv(std::string_view k, double value) {
  if (!enabled_) return *this;
  key(k);
  char buf[32];
  snprintf(buf, sizeof buf, "%.3f", value);
  raw_value(buf);
  return *this;
}

}  // namespace correo
