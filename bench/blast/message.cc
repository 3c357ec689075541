// message.cc - building the reusable message payload (see message.h).
#include "bench/blast/message.h"

#include <cstdio>
#include <ctime>

namespace correo::blast {

namespace {

constexpr size_t kSequenceDigits = 12;  // hex: 2^48 messages per session before wrapping
constexpr size_t kBodyLineChars = 76;   // + CRLF = 78, the classic line length
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

std::string dot_stuff(std::string_view content) {
  std::string out;
  out.reserve(content.size() + content.size() / 64 + 8);
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  return out;
}

Message::Message(const MessageSpec& spec) {
  std::string content;
  content.reserve(spec.size + 512);
  content += "From: <" + spec.from + ">\r\n";
  content += "To: <" + spec.to + ">\r\n";
  content += "Subject: correo-blast load test\r\n";
  content += "Date: " + rfc5322_date() + "\r\n";
  char id_prefix[64];
  std::snprintf(id_prefix, sizeof id_prefix, "Message-ID: <%016llx.%04x.", static_cast<unsigned long long>(spec.run_id),
                spec.session);
  content += id_prefix;
  const size_t sequence_offset = content.size();
  content.append(kSequenceDigits, '0');
  content += "@" + spec.id_domain + ">\r\n";
  content += "\r\n";

  // Pad with whole lines, then one shorter line, to land exactly on spec.size.
  if (spec.size > content.size()) {
    size_t left = spec.size - content.size();
    const size_t line_bytes = kBodyLineChars + 2;
    size_t full_lines = left / line_bytes;
    size_t remainder = left % line_bytes;
    size_t line_number = 0;
    if (remainder == 1 && full_lines > 0) {  // a 1-byte line cannot exist: lengthen one line
      append_body_line(content, line_number++, kBodyLineChars + 1);
      --full_lines;
      remainder = 0;
    }
    for (; full_lines > 0; --full_lines) append_body_line(content, line_number++, kBodyLineChars);
    if (remainder >= 2) append_body_line(content, line_number++, remainder - 2);
  }
  content_size_ = content.size();

  // The headers before the ID contain no line starting with '.', so stuffing leaves the
  // ID's offset where it was.
  wire_ = dot_stuff(content);
  wire_ += ".\r\n";
  sequence_offset_ = sequence_offset;
}

std::string_view Message::next() {
  write_hex(wire_.data() + sequence_offset_, ++sequence_, kSequenceDigits);
  return wire_;
}

}  // namespace correo::blast
