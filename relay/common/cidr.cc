// cidr.cc - parsing with inet_pton, matching by prefix bits.
#include "relay/common/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace correo {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  a.v6 = true;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::from_sockaddr(const sockaddr* sa) {
  IpAddress a;
  if (sa->sa_family == AF_INET) {
    memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    return a;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {  // treat ::ffff:a.b.c.d as IPv4
      memcpy(a.bytes.data(), in6->sin6_addr.s6_addr + 12, 4);
      return a;
    }
    a.v6 = true;
    memcpy(a.bytes.data(), in6->sin6_addr.s6_addr, 16);
    return a;
  }
  return std::nullopt;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  const size_t slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  c.network = *addr;
  const unsigned max = addr->v6 ? 128 : 32;
  c.prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || v > max) return std::nullopt;
    c.prefix = v;
  }
  // Host bits must be zero: "10.1.2.3/8" is almost always a typo for a host or a network.
  for (unsigned bit = c.prefix; bit < max; ++bit) {
    if (c.network.bytes[bit / 8] & (0x80 >> (bit % 8))) return std::nullopt;
  }
  return c;
}

bool Cidr::contains(const IpAddress& addr) const {
  if (addr.v6 != network.v6) return false;
  const unsigned full = prefix / 8;
  if (memcmp(addr.bytes.data(), network.bytes.data(), full) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr.bytes[full] & mask) == (network.bytes[full] & mask);
}

std::string Cidr::to_string() const { return network.to_string() + "/" + std::to_string(prefix); }

}  // namespace correo
