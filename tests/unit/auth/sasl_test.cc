// sasl_test.cc - RFC 4616 PLAIN message shapes: accepted, and each way it can be malformed.
#include "relay/auth/sasl.h"

#include <gtest/gtest.h>

#include <string>

namespace correo {
namespace {

using namespace std::string_literals;

TEST(SaslPlain, ParsesWithoutAuthzid) {
  auto creds = parse_sasl_plain("\0alice\0secret"s);
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->authzid, "");
  EXPECT_EQ(creds->user, "alice");
  EXPECT_EQ(creds->password, "secret");
}

TEST(SaslPlain, ParsesWithAuthzid) {
  auto creds = parse_sasl_plain("admin\0alice@example.test\0pass word"s);
  ASSERT_TRUE(creds.has_value());
  EXPECT_EQ(creds->authzid, "admin");
  EXPECT_EQ(creds->user, "alice@example.test");
  EXPECT_EQ(creds->password, "pass word");
}

TEST(SaslPlain, RejectsMissingNuls) {
  EXPECT_FALSE(parse_sasl_plain("").has_value());
  EXPECT_FALSE(parse_sasl_plain("alice secret").has_value());
  EXPECT_FALSE(parse_sasl_plain("alice\0secret"s).has_value());
  EXPECT_FALSE(parse_sasl_plain("\0"s).has_value());
}

TEST(SaslPlain, RejectsThreeNuls) {
  EXPECT_FALSE(parse_sasl_plain("\0alice\0sec\0ret"s).has_value());
  EXPECT_FALSE(parse_sasl_plain("a\0b\0c\0"s).has_value());
  EXPECT_FALSE(parse_sasl_plain("\0\0\0"s).has_value());
}

TEST(SaslPlain, RejectsEmptyUserOrPassword) {
  EXPECT_FALSE(parse_sasl_plain("\0\0secret"s).has_value());
  EXPECT_FALSE(parse_sasl_plain("\0alice\0"s).has_value());
  EXPECT_FALSE(parse_sasl_plain("\0\0"s).has_value());
  EXPECT_FALSE(parse_sasl_plain("authz\0\0"s).has_value());
}

TEST(SaslPlain, LimitsEachFieldTo255Octets) {
  const std::string max(255, 'x');
  const std::string over(256, 'x');
  EXPECT_TRUE(parse_sasl_plain(max + "\0"s + max + "\0"s + max).has_value());
  EXPECT_FALSE(parse_sasl_plain(over + "\0alice\0secret"s).has_value());
  EXPECT_FALSE(parse_sasl_plain("\0"s + over + "\0secret"s).has_value());
  EXPECT_FALSE(parse_sasl_plain("\0alice\0"s + over).has_value());
}

}  // namespace
}  // namespace correo
