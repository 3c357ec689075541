// message.cc - building the reusable message payload (see message.h).
#include "bench/blast/message.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace correo::blast {

namespace {

constexpr size_t kSequenceDigits = 12;  // hex: 2^48 messages per session before wrapping
constexpr size_t kBodyLineChars = 76;   // + CRLF = 78, the classic line length
constexpr size_t kLineBytes = kBodyLineChars + 2;
constexpr char kHexDigits[] = "0123456789abcdef";

void write_hex(char* out, uint64_t value, size_t digits) {
  for (size_t i = digits; i-- > 0; value >>= 4) out[i] = kHexDigits[value & 0xf];
}

std::string rfc5322_date() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[64];
  // Not strftime: %a and %b follow the locale, and mail dates are English always.
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[utc.tm_wday], utc.tm_mday,
                kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return text;
}

// body_line - printable ASCII that never starts with '.'; the start rotates so lines differ
// (a server that compresses or dedups sees text, not one repeated line).
void append_body_line(std::string& out, size_t line_number, size_t chars) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  for (size_t i = 0; i < chars; ++i) out += kAlphabet[(line_number + i) % kAlphabet.size()];
  out += "\r\n";
}

}  // namespace

Message::Message(const MessageSpec& spec) {
  std::string& content = wire_;
  content += "From: <" + spec.from + ">\r\n";
  content += "To: <" + spec.to + ">\r\n";
  content += "Subject: correo-blast load test\r\n";
  content += "Date: " + rfc5322_date() + "\r\n";
  char id_prefix[64];
  std::snprintf(id_prefix, sizeof id_prefix, "Message-ID: <%016llx.%04x.", static_cast<unsigned long long>(spec.run_id),
                spec.session);
  id_offset_ = content.size() + std::string_view("Message-ID: ").size();
  content += id_prefix;
  sequence_offset_ = content.size();
  content.append(kSequenceDigits, '0');
  content += "@" + spec.id_domain + ">";
  id_size_ = content.size() - id_offset_;
  content += "\r\n";
  content += "\r\n";
  headers_size_ = content.size();
  max_size_ = std::max(spec.size, headers_size_);

  // Whole lines past the largest size: next() ends a message inside the line that holds
  // its last byte, and may write up to five bytes beyond it.
  const size_t body_lines = (max_size_ - headers_size_) / kLineBytes + 2;
  content.reserve(headers_size_ + body_lines * kLineBytes);
  for (size_t i = 0; i < body_lines; ++i) append_body_line(content, i, kBodyLineChars);
}

size_t Message::content_size(size_t size) const {
  size = std::clamp(size, headers_size_, max_size_);
  return size == headers_size_ + 1 ? headers_size_ : size;
}

std::string_view Message::next(size_t size) {
  std::memcpy(wire_.data() + patch_at_, saved_, patch_len_);  // undo the last message's end
  write_hex(wire_.data() + sequence_offset_, ++sequence_, kSequenceDigits);

  // The content ends at `end`; its last line's CRLF sits just before it. That line starts
  // where a body line starts and keeps `column` of its characters: up to 76 of them by
  // truncating the line, 77 by writing one more character over the original CR.
  const size_t end = content_size(size);
  size_t patch_at = end;  // headers only: the empty line is the last line already
  if (end > headers_size_) {
    const size_t last_crlf = end - 2;
    const size_t line_start = headers_size_ + (last_crlf - headers_size_) / kLineBytes * kLineBytes;
    patch_at = std::min(last_crlf, line_start + kBodyLineChars);
  }
  patch_at_ = patch_at;
  patch_len_ = end + 3 - patch_at;
  std::memcpy(saved_, wire_.data() + patch_at, patch_len_);
  char* out = wire_.data() + patch_at;
  if (patch_at + 2 < end) *out++ = 'x';  // the 77th character of a long last line
  if (patch_at < end) {
    *out++ = '\r';
    *out++ = '\n';
  }
  std::memcpy(out, ".\r\n", 3);
  return std::string_view(wire_.data(), end + 3);
}

}  // namespace correo::blast
