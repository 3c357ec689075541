// route_test.cc - the routing order and next-hop syntax, as tables.
#include "relay/delivery/route.h"

#include <gtest/gtest.h>

namespace correo {
namespace {

TEST(ParseNextHop, Forms) {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
    bool mx;
  } cases[] = {
      {"mx.example.test", "mx.example.test", 25, true},
      {"MX.Example.test:2525", "mx.example.test", 2525, true},
      {"[relay.test]", "relay.test", 25, false},
      {"[relay.test]:587", "relay.test", 587, false},
      {"[192.0.2.1]:26", "192.0.2.1", 26, false},
      {"192.0.2.1", "192.0.2.1", 25, false},
      {"[::1]:2526", "::1", 2526, false},
      {"[IPv6:::1]", "::1", 25, false},
  };
  for (const auto& c : cases) {
    auto hop = parse_next_hop(c.text, 25);
    ASSERT_TRUE(hop) << c.text;
    EXPECT_EQ(hop->host, c.host) << c.text;
    EXPECT_EQ(hop->port, c.port) << c.text;
    EXPECT_EQ(hop->mx, c.mx) << c.text;
  }
  for (const char* bad : {"", "[x", "[x]y", "host:0", "host:99999", "host:", ":25"}) {
    EXPECT_FALSE(parse_next_hop(bad, 25)) << bad;
  }
}

TEST(RouteTable, Order) {
  Config c;
  c.delivery.port = 2525;
  c.transport.routes["partner.test"] = "[192.0.2.10]:25";
  c.transport.routes[".partner.test"] = "mx.partner.test";
  c.transport.routes[".deep.partner.test"] = "[deep.test]";
  c.relay.domains["example.test"] = "[127.0.0.1]:2526";
  c.relay.domains["local.test"] = "";
  c.relay.relayhost = "[smart.test]:587";
  RouteTable t(c);
  EXPECT_EQ(t.route("partner.test"), (NextHop{"192.0.2.10", 25, false}));
  EXPECT_EQ(t.route("a.partner.test"), (NextHop{"mx.partner.test", 2525, true}));
  EXPECT_EQ(t.route("x.deep.partner.test"), (NextHop{"deep.test", 2525, false}));  // longest suffix
  EXPECT_EQ(t.route("Example.TEST"), (NextHop{"127.0.0.1", 2526, false}));
  EXPECT_EQ(t.route("local.test"), (NextHop{"local.test", 2525, true}));  // "" = by MX, not relayhost
  EXPECT_EQ(t.route("elsewhere.test"), (NextHop{"smart.test", 587, false}));
  EXPECT_EQ(t.route("[192.0.2.7]"), (NextHop{"192.0.2.7", 2525, false}));
  c.relay.relayhost.clear();
  EXPECT_EQ(t.route("elsewhere.test."), (NextHop{"elsewhere.test", 2525, true}));
}

TEST(NextHopKey, DistinguishesMxFromHost) {
  EXPECT_NE((NextHop{"a.test", 25, true}).key(), (NextHop{"a.test", 25, false}).key());
  EXPECT_NE((NextHop{"a.test", 25, true}).key(), (NextHop{"a.test", 26, true}).key());
}

}  // namespace
}  // namespace correo
