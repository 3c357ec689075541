// password_test.cc - verify_password against real yescrypt and SHA-512-crypt hashes made here,
// failure on wrong passwords and garbage hashes, hash_password's output, and wipe().
#include "relay/auth/password.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/auth/crypt_test_util.h"

namespace correo {
namespace {

using test_util::make_crypt_hash;
using namespace std::string_literals;

TEST(VerifyPassword, AcceptsRightPasswordForYescrypt) {
  const std::string hash = make_crypt_hash("$y$", "correct horse");
  ASSERT_EQ(hash.rfind("$y$", 0), 0u) << hash;
  EXPECT_TRUE(verify_password(hash, "correct horse"));
  EXPECT_FALSE(verify_password(hash, "correct horsE"));
  EXPECT_FALSE(verify_password(hash, "correct hors"));
  EXPECT_FALSE(verify_password(hash, ""));
}

TEST(VerifyPassword, AcceptsRightPasswordForSha512Crypt) {
  const std::string hash = make_crypt_hash("$6$", "s3cret!");
  ASSERT_EQ(hash.rfind("$6$", 0), 0u) << hash;
  EXPECT_TRUE(verify_password(hash, "s3cret!"));
  EXPECT_FALSE(verify_password(hash, "s3cret"));
  EXPECT_FALSE(verify_password(hash, "wrong"));
}

TEST(VerifyPassword, RejectsPasswordWithNul) {
  // crypt would see only "s3cret!" - the bytes after NUL must not be silently ignored.
  const std::string hash = make_crypt_hash("$6$", "s3cret!");
  EXPECT_FALSE(verify_password(hash, "s3cret!\0extra"s));
}

TEST(VerifyPassword, FalseOnGarbageHashes) {
  const std::string yescrypt = make_crypt_hash("$y$", "pw");
  for (const std::string& hash : {
           ""s, "*"s, "!"s, "$"s, "$y$"s, "$6$"s, "$99$abc$def"s, "not a hash"s, "*0"s, "*1"s,
           yescrypt.substr(0, yescrypt.size() - 1),  // truncated
           yescrypt + "x",                           // extended
           "!" + yescrypt,                           // locked-account style
       }) {
    EXPECT_FALSE(verify_password(hash, "pw")) << hash;
    EXPECT_FALSE(verify_password(hash, "")) << hash;
    EXPECT_FALSE(verify_password(hash, hash)) << hash;
  }
}

TEST(VerifyPassword, DesHashIsNotAnAuthenticationBypass) {
  // Whatever libxcrypt does with legacy DES, a wrong password must never verify.
  EXPECT_FALSE(verify_password("abJnggxhB/yWI", "wrong"));
}

TEST(HashPassword, ProducesVerifiableHashesWithFreshSalts) {
  for (const char* prefix : {"$y$", "$6$"}) {
    auto first = hash_password("pw", prefix);
    auto second = hash_password("pw", prefix);
    ASSERT_TRUE(first.has_value()) << prefix;
    ASSERT_TRUE(second.has_value()) << prefix;
    EXPECT_EQ(first->rfind(prefix, 0), 0u) << *first;
    EXPECT_NE(*first, *second);  // random salt
    EXPECT_TRUE(verify_password(*first, "pw"));
    EXPECT_FALSE(verify_password(*first, "pW"));
  }
  EXPECT_FALSE(hash_password("pw", "$nonexistent$").has_value());
  EXPECT_FALSE(hash_password("p\0w"s, "$6$").has_value());
}

TEST(Wipe, ScrubsWholeBufferAndEmpties) {
  std::string secret(100, 'S');
  const char* buffer = secret.data();
  secret = "short";  // same buffer; bytes 5..99 still hold 'S'
  ASSERT_EQ(secret.data(), buffer);
  wipe(secret);
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.data(), buffer);  // cleared in place, not reallocated
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(buffer[i], '\0') << i;
}

TEST(Wipe, ScrubsSmallStringAndEmptyString) {
  std::string small = "pw";
  wipe(small);
  EXPECT_TRUE(small.empty());
  EXPECT_EQ(small.data()[0], '\0');
  EXPECT_EQ(small.data()[1], '\0');
  std::string empty;
  wipe(empty);
  EXPECT_TRUE(empty.empty());
}

}  // namespace
}  // namespace correo
