// target.cc - parsing HOST:PORT into a socket address (see target.h).
#include "bench/blast/target.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "bench/blast/parse.h"

namespace correo::blast {

Result<Target> parse_target(std::string_view text) {
  const Error bad{"expected HOST:PORT with an IPv4 literal or [IPv6]:PORT, got '" + std::string(text) + "'"};
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return bad;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  Result<uint64_t> port_number = parse_count(port, 1, 65535);
  if (!port_number) return bad;

  Target target;
  target.host = std::string(host);
  target.port = static_cast<uint16_t>(*port_number);
  const bool bracketed = text.front() == '[';
  if (!bracketed) {
    sockaddr_in v4{};
    if (inet_pton(AF_INET, target.host.c_str(), &v4.sin_addr) != 1) return bad;
    v4.sin_family = AF_INET;
    v4.sin_port = htons(target.port);
    std::memcpy(&target.addr, &v4, sizeof v4);
    target.addr_len = sizeof v4;
  } else {
    sockaddr_in6 v6{};
    if (inet_pton(AF_INET6, target.host.c_str(), &v6.sin6_addr) != 1) return bad;
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(target.port);
    std::memcpy(&target.addr, &v6, sizeof v6);
    target.addr_len = sizeof v6;
  }
  return target;
}

}  // namespace correo::blast
