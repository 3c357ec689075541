// target.h - the HOST:PORT a run talks to: an IPv4 literal or a bracketed IPv6 literal.
//
// Literals only, on purpose: a load tool resolves nothing, so a typo can never send a load
// run to some machine found through DNS.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "relay/common/result.h"

namespace correo::blast {

struct Target {
  std::string host;  // as written, without brackets: the default TLS SNI
  uint16_t port = 0;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
};

// parse_target - "127.0.0.1:2525" or "[::1]:2525".
Result<Target> parse_target(std::string_view text);

}  // namespace correo::blast
