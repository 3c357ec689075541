// base64_test.cc - RFC 4648 §10 test vectors both ways, and strict rejection of malformed input.
#include "relay/auth/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace correo {
namespace {

struct Vector {
  const char* plain;
  const char* encoded;
};

constexpr Vector kRfc4648Vectors[] = {
    {"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

TEST(Base64, EncodesRfc4648Vectors) {
  for (const auto& v : kRfc4648Vectors) EXPECT_EQ(base64_encode(v.plain), v.encoded) << v.plain;
}

TEST(Base64, DecodesRfc4648Vectors) {
  for (const auto& v : kRfc4648Vectors) {
    auto decoded = base64_decode(v.encoded);
    ASSERT_TRUE(decoded.has_value()) << v.encoded;
    EXPECT_EQ(*decoded, v.plain) << v.encoded;
  }
}

TEST(Base64, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t len = 0; len <= all.size(); len += 1) {
    const std::string part = all.substr(0, len);
    auto decoded = base64_decode(base64_encode(part));
    ASSERT_TRUE(decoded.has_value()) << len;
    EXPECT_EQ(*decoded, part) << len;
  }
}

TEST(Base64, DecodesSaslPlainWithNuls) {
  auto decoded = base64_decode("AHRlc3QAdGVzdA==");  // "\0test\0test", the RFC 4954 example shape
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, std::string("\0test\0test", 10));
}

TEST(Base64, UsesStandardAlphabetPlusAndSlash) {
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64_decode("+/8="), std::string("\xfb\xff"));
}

TEST(Base64, RejectsMalformedInput) {
  const char* bad[] = {
      "Zg",        // length not a multiple of 4
      "Zg=",       // ditto
      "Zm9vY",     // ditto
      "Zm9v\r\n",  // line breaks are not part of an SMTP AUTH response line
      "Zm 9v",     // space
      "Zm9-",      // URL-safe alphabet
      "Zm9_",      // URL-safe alphabet
      "Zg==Zg==",  // padding in the middle
      "Z===",      // three padding characters
      "====",      // only padding
      "=Zm9",      // padding first
      "Zm=v",      // padding not at the end
      "Zm9v\x80\x80\x80\x80",  // non-ASCII
  };
  for (const char* in : bad) EXPECT_FALSE(base64_decode(in).has_value()) << in;
  EXPECT_FALSE(base64_decode(std::string("Zm9\0", 4)).has_value());
}

TEST(Base64, AcceptsNonCanonicalTrailingBits) {
  // "Zh==" has non-zero bits after the single byte 'f'; RFC 4648 §3.5 lets decoders accept it.
  EXPECT_EQ(base64_decode("Zh=="), std::string("f"));
  EXPECT_EQ(base64_decode("Zm9="), std::string("fo"));
}

}  // namespace
}  // namespace correo
