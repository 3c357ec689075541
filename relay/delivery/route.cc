// route.cc - next-hop parsing and the routing order.
#include "relay/delivery/route.h"

#include <charconv>

#include "relay/common/cidr.h"
#include "relay/smtp/address.h"

namespace correo {

std::string NextHop::key() const {
  std::string k = mx ? "mx:" : "host:";
  k += host;
  k += ':';
  k += std::to_string(port);
  return k;
}

std::optional<NextHop> parse_next_hop(std::string_view text, uint16_t default_port) {
  NextHop hop;
  hop.port = default_port;
  std::string_view host = text;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    hop.mx = false;
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      has_port = true;
      port = rest.substr(1);
    }
  } else if (const size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    has_port = true;
    port = text.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  if (has_port) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) return std::nullopt;
    hop.port = static_cast<uint16_t>(p);
  }
  // "IPv6:" prefix of address literals (RFC 5321 §4.1.3) is not part of the address.
  if (host.size() > 5 && lowercase_ascii(host.substr(0, 5)) == "ipv6:") host.remove_prefix(5);
  hop.host = lowercase_ascii(host);
  if (IpAddress::parse(hop.host)) hop.mx = false;  // an IP never has MX records
  return hop;
}

RouteTable::RouteTable(const Config& config) : config_(config) {}

NextHop RouteTable::route(std::string_view domain_in) const {
  const uint16_t port = config_.delivery.port;
  if (!domain_in.empty() && domain_in.front() == '[') {
    if (auto hop = parse_next_hop(domain_in, port)) return *hop;
  }
  std::string domain = lowercase_ascii(domain_in);
  while (!domain.empty() && domain.back() == '.') domain.pop_back();
  const auto& transport = config_.transport.routes;
  if (auto it = transport.find(domain); it != transport.end()) {
    if (auto hop = parse_next_hop(it->second, port)) return *hop;
  }
  // Longest parent first: walk up the labels.
  for (size_t dot = domain.find('.'); dot != std::string::npos; dot = domain.find('.', dot + 1)) {
    if (auto it = transport.find(domain.substr(dot)); it != transport.end()) {
      if (auto hop = parse_next_hop(it->second, port)) return *hop;
    }
  }
  if (auto it = config_.relay.domains.find(domain); it != config_.relay.domains.end()) {
    if (!it->second.empty()) {
      if (auto hop = parse_next_hop(it->second, port)) return *hop;
    }
    return NextHop{domain, port, true};
  }
  if (!config_.relay.relayhost.empty()) {
    if (auto hop = parse_next_hop(config_.relay.relayhost, port)) return *hop;
  }
  return NextHop{domain, port, true};
}

}  // namespace correo
