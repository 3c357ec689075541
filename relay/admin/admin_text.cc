// admin_text.cc - escaping, UTC times and durations for admin replies.
#include "relay/admin/admin_text.h"

#include <cstdio>
#include <ctime>

#include "relay/config/config.h"

namespace correo {
namespace {

bool continuation(unsigned char c) { return (c & 0xc0) == 0x80; }

void append_hex_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 15]);
}

}  // namespace

size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto at = [&](size_t k) -> unsigned char { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;  // overlong
    if (c == 0xed) hi = 0x9f;  // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;  // overlong
    if (c == 0xf4) hi = 0x8f;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (!continuation(at(i + k))) return 0;
  }
  return len;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f || c == '\\') {
        append_hex_escape(out, c);
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    const size_t len = utf8_sequence_length(s, i);
    // C1 controls (U+0080-U+009F, encoded C2 80-C2 9F) act on some terminals like ESC does.
    const bool c1 = len == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0;
    if (len == 0 || c1) {
      const size_t n = len == 0 ? 1 : len;
      for (size_t k = 0; k < n; ++k) append_hex_escape(out, static_cast<unsigned char>(s[i + k]));
      i += n;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string iso8601(int64_t us, bool with_micros) {
  int64_t secs = us / 1000000;
  int64_t frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  const time_t t = static_cast<time_t>(secs);
  struct tm tm_utc;
  if (gmtime_r(&t, &tm_utc) == nullptr) return "invalid-time";
  char buf[64];
  if (with_micros) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm_utc.tm_year + 1900,
                  tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
                  static_cast<long long>(frac));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm_utc.tm_year + 1900, tm_utc.tm_mon + 1,
                  tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec);
  }
  return buf;
}

std::optional<int64_t> parse_age(std::string_view text) {
  constexpr int64_t kMaxSeconds = 3650LL * 86400;
  if (text.empty() || text.size() > 12) return std::nullopt;  // 12 digits cannot overflow
  int64_t seconds = 0;
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    for (char c : text) seconds = seconds * 10 + (c - '0');
  } else {
    const std::optional<Duration> d = parse_duration(text);
    if (!d) return std::nullopt;
    seconds = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
  }
  if (seconds > kMaxSeconds) return std::nullopt;
  return seconds;
}

}  // namespace correo
