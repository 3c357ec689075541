// route.h - where mail for a recipient domain goes next (pure; built from the Config).
//
// Order (first match wins), as Postfix's transport_maps / relay_domains / relayhost:
//   1. [transport]: the exact domain, else the longest ".parent" suffix entry;
//   2. [relay] domains: a non-empty value is the next hop; "" means "by MX" (no relayhost);
//   3. relayhost, when set;
//   4. MX of the domain itself on delivery.port.
// An address-literal domain ("[192.0.2.1]") goes to that address, no MX (RFC 5321 §5.1).
// Next-hop syntax: "host" and "host:port" look up MX for host; "[host]" and "[host]:port"
// use host's A/AAAA (or the literal) only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "relay/config/config.h"

namespace correo {

struct NextHop {
  std::string host;  // lower-case name or IP literal, no brackets
  uint16_t port = 25;
  bool mx = true;    // resolve MX for host (else addresses only)

  // key - identity of the destination: queues, connection pools and limits are per key.
  std::string key() const;
  bool operator==(const NextHop& o) const { return host == o.host && port == o.port && mx == o.mx; }
};

// parse_next_hop - "host", "host:port", "[host]", "[host]:port"; nullopt when malformed.
std::optional<NextHop> parse_next_hop(std::string_view text, uint16_t default_port);

class RouteTable {
 public:
  explicit RouteTable(const Config& config);
  // route - for a recipient domain (any case; an address literal keeps its brackets).
  NextHop route(std::string_view domain) const;

 private:
  const Config& config_;
};

}  // namespace correo
