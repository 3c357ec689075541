// dnsbl_site_test.cc - postscreen_dnsbl_sites syntax (weights, filters, bracket ranges and
// lists), which answers count, and the reversed query names for IPv4 and IPv6.
#include "relay/policy/dnsbl_site.h"

#include <gtest/gtest.h>

#include <string>

namespace correo {
namespace {

IpAddress ip(std::string_view text) {
  auto parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(IpAddress{});
}

DnsblSite site(std::string_view spec) {
  auto parsed = parse_dnsbl_site(spec);
  EXPECT_TRUE(parsed.ok()) << spec << ": " << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? parsed.value() : DnsblSite{};
}

std::string site_error(std::string_view spec) {
  auto parsed = parse_dnsbl_site(spec);
  return parsed.ok() ? "(parsed)" : parsed.error().message;
}

TEST(DnsblSite, ZoneOnlyCountsAnyARecordWithWeightOne) {
  const DnsblSite s = site("zen.example");
  EXPECT_EQ(s.zone, "zen.example");
  EXPECT_EQ(s.weight, 1);
  EXPECT_FALSE(s.filtered);
  EXPECT_TRUE(s.matches(ip("127.0.0.2")));
  EXPECT_TRUE(s.matches(ip("127.255.255.254")));
  EXPECT_TRUE(s.matches(ip("192.0.2.1")));   // Postfix: any A record
  EXPECT_FALSE(s.matches(ip("::1")));        // but never an AAAA
}

TEST(DnsblSite, WeightsIncludingNegative) {
  EXPECT_EQ(site("zen.example*3").weight, 3);
  EXPECT_EQ(site("zen.example*+3").weight, 3);
  EXPECT_EQ(site("wl.example*-2").weight, -2);
  EXPECT_EQ(site("zen.example*0").weight, 0);
  EXPECT_EQ(site("zen.example*1000").weight, 1000);
  EXPECT_EQ(site("zen.example*-1000").weight, -1000);
}

TEST(DnsblSite, ZoneIsLowercasedWithoutTrailingDot) {
  EXPECT_EQ(site("ZEN.Example.").zone, "zen.example");
}

TEST(DnsblSite, SingleAddressFilter) {
  const DnsblSite s = site("bl.example=127.0.0.2*2");
  EXPECT_EQ(s.zone, "bl.example");
  EXPECT_EQ(s.weight, 2);
  EXPECT_TRUE(s.filtered);
  EXPECT_TRUE(s.matches(ip("127.0.0.2")));
  EXPECT_FALSE(s.matches(ip("127.0.0.3")));
  EXPECT_FALSE(s.matches(ip("128.0.0.2")));
}

TEST(DnsblSite, BracketRange) {
  const DnsblSite s = site("bl.example=127.0.0.[2..11]");
  EXPECT_EQ(s.weight, 1);
  EXPECT_FALSE(s.matches(ip("127.0.0.1")));
  EXPECT_TRUE(s.matches(ip("127.0.0.2")));
  EXPECT_TRUE(s.matches(ip("127.0.0.7")));
  EXPECT_TRUE(s.matches(ip("127.0.0.11")));
  EXPECT_FALSE(s.matches(ip("127.0.0.12")));
  EXPECT_FALSE(s.matches(ip("127.0.1.2")));
}

TEST(DnsblSite, BracketList) {
  const DnsblSite s = site("bl.example=127.0.0.[2;4;8]*2");
  EXPECT_EQ(s.weight, 2);
  EXPECT_TRUE(s.matches(ip("127.0.0.2")));
  EXPECT_FALSE(s.matches(ip("127.0.0.3")));
  EXPECT_TRUE(s.matches(ip("127.0.0.4")));
  EXPECT_TRUE(s.matches(ip("127.0.0.8")));
  EXPECT_FALSE(s.matches(ip("127.0.0.9")));
}

TEST(DnsblSite, MixedListOfValuesAndRanges) {
  const DnsblSite s = site("bl.example=127.0.0.[1;3..5;10]");
  for (int v : {1, 3, 4, 5, 10}) EXPECT_TRUE(s.matches(ip("127.0.0." + std::to_string(v)))) << v;
  for (int v : {0, 2, 6, 9, 11}) EXPECT_FALSE(s.matches(ip("127.0.0." + std::to_string(v)))) << v;
}

TEST(DnsblSite, RangesInSeveralOctetsAllowlist) {
  const DnsblSite s = site("wl.example=127.0.[0..255].[0..255]*-2");
  EXPECT_EQ(s.weight, -2);
  EXPECT_TRUE(s.matches(ip("127.0.0.0")));
  EXPECT_TRUE(s.matches(ip("127.0.255.255")));
  EXPECT_TRUE(s.matches(ip("127.0.9.15")));
  EXPECT_FALSE(s.matches(ip("127.1.0.0")));
  EXPECT_FALSE(s.matches(ip("10.0.0.1")));
}

TEST(DnsblSite, RejectsBadSpecs) {
  EXPECT_EQ(site_error(""), "DNSBL site '': zone is not a domain name");
  EXPECT_EQ(site_error("*3"), "DNSBL site '*3': zone is not a domain name");
  EXPECT_EQ(site_error("bad..zone"), "DNSBL site 'bad..zone': zone is not a domain name");
  EXPECT_EQ(site_error("zen example"), "DNSBL site 'zen example': zone is not a domain name");
  EXPECT_EQ(site_error("zen.example*"),
            "DNSBL site 'zen.example*': weight after '*' must be an integer from -1000 to 1000");
  EXPECT_NE(site_error("zen.example*x").find("weight"), std::string::npos);
  EXPECT_NE(site_error("zen.example*1001").find("weight"), std::string::npos);
  EXPECT_NE(site_error("zen.example*2*3").find("weight"), std::string::npos);
  EXPECT_EQ(site_error("bl.example="), "DNSBL site 'bl.example=': empty filter after '='");
  EXPECT_NE(site_error("bl.example=127.0.0").find("four octets"), std::string::npos);
  EXPECT_NE(site_error("bl.example=127.0.0.2.5").find("after the filter"), std::string::npos);
  EXPECT_NE(site_error("bl.example=127.0.0.256").find("0..255"), std::string::npos);
  EXPECT_NE(site_error("bl.example=127.0.0.x").find("octet"), std::string::npos);
  EXPECT_NE(site_error("bl.example=127.0.0.[11..2]").find("backwards"), std::string::npos);
  EXPECT_NE(site_error("bl.example=127.0.0.[2..11").find("']'"), std::string::npos);
  EXPECT_NE(site_error("bl.example=127.0.0.[]").find("[...]"), std::string::npos);
  EXPECT_NE(site_error("bl.example=127.0.0.[2;]").find("[...]"), std::string::npos);
  EXPECT_NE(site_error("bl.example=127.0.0.[2..]").find("range end"), std::string::npos);
  EXPECT_NE(site_error("bl.example=127.0.0.[2..300]").find("range end"), std::string::npos);
  EXPECT_NE(site_error("bl.example=127.0.0.2=3").find("octet"), std::string::npos);
  EXPECT_NE(site_error("bl.example=::1").find("octet"), std::string::npos);
}

TEST(DnsblQueryName, Ipv4IsReversedOctets) {
  EXPECT_EQ(dnsbl_query_name(ip("192.0.2.99"), "zen.example"), "99.2.0.192.zen.example");
  EXPECT_EQ(dnsbl_query_name(ip("1.2.3.4"), "bl.example"), "4.3.2.1.bl.example");
  EXPECT_EQ(dnsbl_query_name(ip("0.0.0.255"), "z"), "255.0.0.0.z");
}

TEST(DnsblQueryName, Ipv6IsReversedNibbles) {
  // RFC 5782 §2.4's example.
  EXPECT_EQ(dnsbl_query_name(ip("2001:db8:1:2:3:4:567:89ab"), "ugly.example.com"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com");
  EXPECT_EQ(dnsbl_query_name(ip("2001:db8::1"), "bl.example"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
  const std::string name = dnsbl_query_name(ip("ffff::"), "z");
  EXPECT_EQ(name.size(), 32u * 2 + 1);  // 32 one-character labels, each with its dot, then "z"
  EXPECT_EQ(name.substr(name.size() - 9), "f.f.f.f.z");
}

TEST(DnsblQueryName, MappedIpv4IsQueriedAsIpv4) {
  EXPECT_EQ(dnsbl_query_name(ip("::ffff:192.0.2.1"), "zen.example"), "1.2.0.192.zen.example");
}

TEST(DnsblQueryName, EmptyZoneLeavesNoTrailingDot) {
  EXPECT_EQ(dnsbl_query_name(ip("192.0.2.1"), ""), "1.2.0.192");
}

}  // namespace
}  // namespace correo
