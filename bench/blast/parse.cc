// parse.cc - value parsers for correo-blast's flags (see parse.h).
#include "bench/blast/parse.h"

#include <charconv>
#include <cmath>
#include <string>

namespace correo::blast {

namespace {

// quoted - the offending text for an error message, cut short so one line stays one line.
std::string quoted(std::string_view text) {
  constexpr size_t kMax = 40;
  return "'" + std::string(text.substr(0, kMax)) + (text.size() > kMax ? "...'" : "'");
}

}  // namespace

Result<uint64_t> parse_count(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return Error{"expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                 quoted(text)};
  }
  return value;
}

Result<double> parse_rate(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value) || value <= 0) {
    return Error{"expected a positive number, got " + quoted(text)};
  }
  return value;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string_view unit = text.substr(digits);
  int64_t per_unit_ms = 0;
  if (unit == "ms") per_unit_ms = 1;
  else if (unit == "s") per_unit_ms = 1000;
  else if (unit == "m") per_unit_ms = 60 * 1000;
  else if (unit == "h") per_unit_ms = 3600 * 1000;
  else if (unit == "d") per_unit_ms = 86400 * 1000;
  // A week of milliseconds is far beyond any load run and keeps the product in range.
  constexpr uint64_t kMaxMs = 7ull * 86400 * 1000;
  uint64_t count = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, count);
  if (digits == 0 || per_unit_ms == 0 || ec != std::errc() || ptr != text.data() + digits || count == 0 ||
      count > kMaxMs / static_cast<uint64_t>(per_unit_ms)) {
    return Error{"expected a positive duration with a unit (250ms, 30s, 5m, 4h), got " + quoted(text)};
  }
  return std::chrono::milliseconds(static_cast<int64_t>(count) * per_unit_ms);
}

}  // namespace correo::blast
