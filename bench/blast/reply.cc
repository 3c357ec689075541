// reply.cc - reading SMTP replies (see reply.h).
#include "bench/blast/reply.h"

namespace correo::blast {

namespace {

constexpr int kMaxLines = 1000;  // a server that never ends a reply is a protocol error

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Status read_reply(Stream& stream, Deadline deadline, Reply& out, std::vector<std::string>* extra) {
  if (extra) extra->clear();
  for (int n = 0; n < kMaxLines; ++n) {
    Result<std::string_view> got = stream.read_line(deadline);
    if (!got) return got.error();
    const std::string_view line = *got;
    const bool shaped = line.size() >= 3 && is_digit(line[0]) && is_digit(line[1]) && is_digit(line[2]) &&
                        line[0] >= '2' && line[0] <= '5' && (line.size() == 3 || line[3] == ' ' || line[3] == '-');
    if (!shaped) return Error{"protocol: malformed reply line '" + std::string(line.substr(0, 60)) + "'"};
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (n == 0) {
      out.code = code;
      out.first_line.assign(line);
    } else {
      if (code != out.code) return Error{"protocol: multi-line reply changes code"};
      if (extra) extra->emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    }
    if (line.size() == 3 || line[3] == ' ') return Ok{};
  }
  return Error{"protocol: reply longer than 1000 lines"};
}

std::string reply_text(const Reply& reply) {
  constexpr size_t kMax = 100;
  std::string text = reply.first_line.substr(0, kMax);
  // Server text is shown on a terminal: no control bytes.
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return reply.first_line.size() > kMax ? text + "..." : text;
}

}  // namespace correo::blast
