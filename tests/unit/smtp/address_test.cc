// address_test.cc - RFC 5321 §4.1.2 path syntax, as a table.
#include "relay/smtp/address.h"

#include <gtest/gtest.h>

namespace correo {
namespace {

struct GoodCase {
  const char* in;
  const char* address;
  const char* domain;
  bool non_ascii;
};

TEST(ParsePath, AcceptsValidPaths) {
  const GoodCase cases[] = {
      {"<user@example.test>", "user@example.test", "example.test", false},
      {"<first.last+tag@sub.example.test>", "first.last+tag@sub.example.test", "sub.example.test", false},
      {"<\"quoted @ local\"@example.test>", "\"quoted @ local\"@example.test", "example.test", false},
      {"<\"esc\\\"aped\"@example.test>", "\"esc\\\"aped\"@example.test", "example.test", false},
      {"<@relay1.test,@relay2.test:user@example.test>", "user@example.test", "example.test", false},
      {"<user@[127.0.0.1]>", "user@[127.0.0.1]", "[127.0.0.1]", false},
      {"<user@[IPv6:::1]>", "user@[IPv6:::1]", "[IPv6:::1]", false},
      {"<user%foreign.test@example.test>", "user%foreign.test@example.test", "example.test", false},
      {"<foreign!user@example.test>", "foreign!user@example.test", "example.test", false},
      {"<用户@例子.测试>", "用户@例子.测试", "例子.测试", true},
      {"<a@b-c.d>", "a@b-c.d", "b-c.d", false},
  };
  for (const auto& c : cases) {
    PathResult r = parse_path(c.in, false);
    ASSERT_TRUE(r.ok) << c.in << ": " << r.error;
    EXPECT_EQ(r.path.address, c.address) << c.in;
    EXPECT_EQ(r.path.domain(), c.domain) << c.in;
    EXPECT_EQ(r.path.non_ascii, c.non_ascii) << c.in;
    EXPECT_EQ(r.path.consumed, std::string_view(c.in).size()) << c.in;
  }
}

TEST(ParsePath, NullPathOnlyWhereAllowed) {
  EXPECT_TRUE(parse_path("<>", true).ok);
  EXPECT_TRUE(parse_path("<>", true).path.null);
  EXPECT_FALSE(parse_path("<>", false).ok);
}

struct BadCase {
  const char* in;
  const char* error_contains;
};

TEST(ParsePath, RejectsMalformedPathsNamingTheProblem) {
  const std::string long_local = "<" + std::string(65, 'a') + "@example.test>";
  const std::string long_label = "<a@" + std::string(64, 'b') + ".test>";
  // Domain of 252 octets (valid) in a path of 259 octets (over the 256 limit).
  const std::string long_path = "<aaaa@" + std::string(61, 'b') + "." + std::string(61, 'c') + "." +
                                std::string(61, 'd') + "." + std::string(61, 'e') + ".test>";
  const BadCase cases[] = {
      {"user@example.test", "enclosed in <>"},
      {"<user@example.test", "missing '>'"},
      {"<userexample.test>", "missing '@domain'"},
      {"<@example.test>", "invalid source route"},
      {"<.user@example.test>", "misplaced '.'"},
      {"<us..er@example.test>", "misplaced '.'"},
      {"<user.@example.test>", "ends with '.'"},
      {"<user@>", "missing domain"},
      {"<user@-bad.test>", "invalid domain"},
      {"<user@bad-.test>", "invalid domain"},
      {"<user@bad..test>", "invalid domain"},
      {"<user@exa_mple.test>", "invalid character"},
      {"<\"unterminated@example.test>", "unbalanced quote"},
      {"<user@[300.1.1.1]>", "invalid address literal"},
      {"<user@[127.0.0.1>", "without ']'"},
      {"<us er@example.test>", "invalid character in local part"},
      {"<user@example.test@other.test>", "invalid character after domain"},
      {"<\xff\xfe@example.test>", "invalid UTF-8"},
      {long_local.c_str(), "longer than 64"},
      {long_label.c_str(), "invalid domain"},
      {long_path.c_str(), "longer than 256"},
  };
  for (const auto& c : cases) {
    PathResult r = parse_path(c.in, true);
    EXPECT_FALSE(r.ok) << c.in;
    EXPECT_NE(r.error.find(c.error_contains), std::string::npos) << c.in << " gave: " << r.error;
  }
}

TEST(IsValidDomain, LabelsAndLengths) {
  EXPECT_TRUE(is_valid_domain("example.test", false));
  EXPECT_TRUE(is_valid_domain("a", false));
  EXPECT_FALSE(is_valid_domain("", false));
  EXPECT_FALSE(is_valid_domain("例子.测试", false));
  EXPECT_TRUE(is_valid_domain("例子.测试", true));
  EXPECT_FALSE(is_valid_domain(std::string(256, 'a'), false));
}

}  // namespace
}  // namespace correo
