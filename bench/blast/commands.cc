// commands.cc - the envelope and AUTH lines of a load session (see commands.h).
#include "bench/blast/commands.h"

#include <atomic>
#include <cstdio>

#include "relay/auth/base64.h"

namespace correo::blast {

void EnvelopeCommands::build(const Options& options, size_t content_size, bool with_size_param) {
  all.clear();
  std::vector<size_t> ends;
  all += "MAIL FROM:<" + options.from + ">";
  if (with_size_param) all += " SIZE=" + std::to_string(content_size);
  all += "\r\n";
  ends.push_back(all.size());
  for (const std::string& rcpt : options.recipients) {
    all += "RCPT TO:<" + rcpt + ">\r\n";
    ends.push_back(all.size());
  }
  all += "DATA\r\n";
  ends.push_back(all.size());
  // Views are taken only now: appending may have moved the bytes.
  lines.clear();
  size_t begin = 0;
  for (size_t end : ends) {
    lines.emplace_back(all.data() + begin, end - begin);
    begin = end;
  }
  with_size = with_size_param ? 1 : 0;
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
