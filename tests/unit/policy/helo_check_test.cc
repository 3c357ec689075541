// helo_check_test.cc - HELO names: a table of names with the expected answer with and without
// require_fqdn, so each syntax rule has a case on either side of it.
#include "relay/policy/helo_check.h"

#include <gtest/gtest.h>

#include <string>

namespace correo {
namespace {

struct HeloCase {
  std::string name;
  HeloProblem plain;  // require_fqdn = false
  HeloProblem fqdn;   // require_fqdn = true
};

constexpr HeloProblem kOk = HeloProblem::kOk;
constexpr HeloProblem kEmpty = HeloProblem::kEmpty;
constexpr HeloProblem kInvalid = HeloProblem::kInvalidHostname;
constexpr HeloProblem kNotFqdn = HeloProblem::kNotFqdn;
constexpr HeloProblem kBadLiteral = HeloProblem::kInvalidAddressLiteral;

TEST(HeloCheck, Table) {
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  // 4 labels of 63 + 3 dots = 255 octets.
  const std::string name255 = label63 + "." + label63 + "." + label63 + "." + label63;
  const HeloCase cases[] = {
      {"", kEmpty, kEmpty},
      {"mail.example.test", kOk, kOk},
      {"MAIL.Example.TEST", kOk, kOk},
      {"mail.example.test.", kOk, kOk},  // one trailing dot: the root
      {"mail.example.test..", kInvalid, kInvalid},
      {".", kInvalid, kInvalid},
      {".example.test", kInvalid, kInvalid},
      {"mail..example.test", kInvalid, kInvalid},
      {"localhost", kOk, kNotFqdn},
      {"localhost.", kOk, kNotFqdn},
      {"my-host.example.test", kOk, kOk},
      {"-host.example.test", kInvalid, kInvalid},
      {"host-.example.test", kInvalid, kInvalid},
      {"host.-example.test", kInvalid, kInvalid},
      {"xn--bcher-kva.example", kOk, kOk},  // IDNA A-labels are plain LDH
      {"MY_PC", kOk, kNotFqdn},             // '_' accepted, as Postfix does
      {"my_pc.example.test", kOk, kOk},
      {"123.example.test", kOk, kOk},       // digits-only labels are fine, except the last
      {"192.0.2.1", kOk, kNotFqdn},         // an IP address without brackets
      {"host.123", kOk, kNotFqdn},
      {"host.a1", kOk, kOk},
      {"mail example.test", kInvalid, kInvalid},
      {"mail.example.test\r", kInvalid, kInvalid},
      {"mail@example.test", kInvalid, kInvalid},
      {"bücher.example", kInvalid, kInvalid},  // no UTF-8 in EHLO
      {"[example.test]", kBadLiteral, kBadLiteral},
      {label63 + ".example", kOk, kOk},
      {label64 + ".example", kInvalid, kInvalid},
      {name255, kOk, kOk},
      {name255 + "a", kInvalid, kInvalid},
      // Address literals (RFC 5321 §4.1.3).
      {"[192.0.2.1]", kOk, kOk},
      {"[IPv6:2001:db8::1]", kOk, kOk},
      {"[ipv6:2001:DB8::1]", kOk, kOk},
      {"[IPv6:::ffff:192.0.2.1]", kOk, kOk},
      {"[2001:db8::1]", kBadLiteral, kBadLiteral},       // IPv6 needs its tag
      {"[IPv6:192.0.2.1]", kBadLiteral, kBadLiteral},    // and IPv4 must not have it
      {"[192.0.2.256]", kBadLiteral, kBadLiteral},
      {"[192.0.2]", kBadLiteral, kBadLiteral},
      {"[192.0.2.1", kBadLiteral, kBadLiteral},
      {"[]", kBadLiteral, kBadLiteral},
      {"[ 192.0.2.1]", kBadLiteral, kBadLiteral},
      {"[IPv6:2001:db8::1::2]", kBadLiteral, kBadLiteral},
      {"[x-tag:content]", kBadLiteral, kBadLiteral},      // general literals: unverifiable
      {"192.0.2.1]", kInvalid, kInvalid},
  };
  for (const HeloCase& c : cases) {
    EXPECT_EQ(check_helo(c.name, false), c.plain) << "'" << c.name << "' plain";
    EXPECT_EQ(check_helo(c.name, true), c.fqdn) << "'" << c.name << "' fqdn";
  }
}

TEST(HeloCheck, ToStringNamesEveryProblem) {
  EXPECT_EQ(to_string(kOk), "ok");
  EXPECT_EQ(to_string(kEmpty), "empty");
  EXPECT_EQ(to_string(kInvalid), "invalid_hostname");
  EXPECT_EQ(to_string(kNotFqdn), "not_fqdn");
  EXPECT_EQ(to_string(kBadLiteral), "invalid_address_literal");
}

}  // namespace
}  // namespace correo
