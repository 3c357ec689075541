// cidr.h - IPv4/IPv6 networks in CIDR notation and address matching.
//
// Used by relay control (relay.networks) and later by connection screening. IPv4-mapped
// IPv6 client addresses (::ffff:a.b.c.d) match IPv4 networks, as an administrator expects.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace correo {

// IpAddress - an IPv4 or IPv6 address in network byte order (IPv4 stored in the first 4 bytes).
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};

  static std::optional<IpAddress> parse(std::string_view text);
  static std::optional<IpAddress> from_sockaddr(const sockaddr* sa);
  std::string to_string() const;
};

struct Cidr {
  IpAddress network;
  unsigned prefix = 0;

  static std::optional<Cidr> parse(std::string_view text);  // "10.0.0.0/8", "::1/128", "127.0.0.1"
  bool contains(const IpAddress& addr) const;
  std::string to_string() const;
};

}  // namespace correo
