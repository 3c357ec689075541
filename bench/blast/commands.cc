// commands.cc - the envelope and AUTH lines of a load session (see commands.h).
#include "bench/blast/commands.h"

#include <atomic>
#include <charconv>
#include <cstdio>

#include "relay/auth/base64.h"

namespace correo::blast {

void EnvelopeCommands::prepare(const Options& options, size_t content_size, bool with_size) {
  if (with_size_ == static_cast<int>(with_size) && (!with_size || declared_ == content_size)) return;
  all.clear();
  ends_.clear();
  all.append("MAIL FROM:<").append(options.from).append(">");
  if (with_size) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, content_size);
    all.append(" SIZE=").append(digits, end);
  }
  all.append("\r\n");
  ends_.push_back(all.size());
  for (const std::string& rcpt : options.recipients) {
    all.append("RCPT TO:<").append(rcpt).append(">\r\n");
    ends_.push_back(all.size());
  }
  all.append("DATA\r\n");
  ends_.push_back(all.size());
  // Views are taken only now: appending may have moved the bytes.
  lines.clear();
  size_t begin = 0;
  for (size_t end : ends_) {
    lines.emplace_back(all.data() + begin, end - begin);
    begin = end;
  }
  with_size_ = with_size ? 1 : 0;
  declared_ = content_size;
}

void warn_once_no_pipelining() {
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true)) {
    std::fprintf(stderr, "correo-blast: the server does not offer PIPELINING; sending commands one at a time\n");
  }
}

std::string auth_plain_line(const Options& options) {
  if (!options.auth_user) return {};
  std::string credentials;
  credentials += '\0';
  credentials += *options.auth_user;
  credentials += '\0';
  credentials += options.auth_pass;
  return "AUTH PLAIN " + base64_encode(credentials) + "\r\n";
}

}  // namespace correo::blast
