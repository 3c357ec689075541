// dnsbl_site.h - DNS block/allow list sites in Postfix postscreen_dnsbl_sites syntax, and the
// query names (RFC 5782 §2.1 IPv4, §2.4 IPv6).
//
//   zone[=filter][*weight]
//   zen.example*3                          any answer scores 3
//   bl.example=127.0.0.2*2                 only 127.0.0.2 scores 2
//   bl.example=127.0.0.[2..11]             an octet may be a range...
//   bl.example=127.0.0.[2;4;8]*2           ...or a ';' list of values and ranges ([1;3..5])
//   wl.example=127.0.[0..255].[0..255]*-2  a negative weight is an allowlist
// The weight defaults to 1 and lies in -1000..1000. As in Postfix, a site without a filter
// counts ANY A record - including a resolver's NXDOMAIN-rewriting answer or a list's "you may
// not query" code such as Spamhaus's 127.255.255.x - so production sites should have a filter.
// Zones are stored lowercased without a trailing dot.
#pragma once

#include <array>
#include <bitset>
#include <string>
#include <string_view>

#include "relay/common/cidr.h"
#include "relay/common/result.h"

namespace correo {

struct DnsblSite {
  static constexpr int kMaxWeight = 1000;

  std::string zone;
  bool filtered = false;                   // an "=filter" was given
  std::array<std::bitset<256>, 4> octets;  // with a filter: the values allowed per octet
  int weight = 1;

  // matches - answer (an A record of the query) counts for this site. AAAA answers never do.
  bool matches(const IpAddress& answer) const;
};

// parse_dnsbl_site - one site spec; the error names the spec and the problem.
Result<DnsblSite> parse_dnsbl_site(std::string_view spec);

// dnsbl_query_name - the name to look up: "4.3.2.1.zone" for 1.2.3.4; for IPv6, the 32 nibbles
// in reverse order ("b.a.9.8. ... .8.b.d.0.1.0.0.2.zone"). An IPv4-mapped IPv6 address
// (::ffff:1.2.3.4) is queried as the IPv4 address it is.
std::string dnsbl_query_name(const IpAddress& ip, std::string_view zone);

}  // namespace correo
