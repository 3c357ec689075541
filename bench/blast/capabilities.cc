// capabilities.cc - parsing EHLO keywords (see capabilities.h).
#include "bench/blast/capabilities.h"

#include <string_view>

#include "relay/common/ascii.h"

namespace correo::blast {

namespace {

// next_word - the next space-separated word of `rest`, consumed from it.
std::string_view next_word(std::string_view& rest) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const size_t end = rest.find(' ');
  const std::string_view word = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return word;
}

}  // namespace

Capabilities parse_capabilities(const std::vector<std::string>& keyword_lines) {
  Capabilities caps;
  for (const std::string& line : keyword_lines) {
    std::string_view rest = line;
    const std::string_view keyword = next_word(rest);
    if (iequals(keyword, "PIPELINING")) caps.pipelining = true;
    else if (iequals(keyword, "STARTTLS")) caps.starttls = true;
    else if (iequals(keyword, "SIZE")) caps.size = true;
    else if (iequals(keyword, "AUTH")) {
      for (std::string_view mech = next_word(rest); !mech.empty(); mech = next_word(rest)) {
        if (iequals(mech, "PLAIN")) caps.auth_plain = true;
      }
    }
  }
  return caps;
}

}  // namespace correo::blast
