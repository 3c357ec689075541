// crypt_test_util.h - real crypt(3) hashes made in the test itself with libxcrypt, so the tests
// neither hard-code hashes nor depend on mkpasswd being installed. Deliberately independent of
// relay/auth/password.cc, which is what is under test.
#pragma once

#include <crypt.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace correo::test_util {

// make_crypt_hash - hash password with a fresh salt for prefix ("$y$", "$6$"); "" on failure
// (also recorded as a test failure).
inline std::string make_crypt_hash(const char* prefix, const std::string& password) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn(prefix, 0, nullptr, 0, setting, sizeof setting) == nullptr) {
    ADD_FAILURE() << "crypt_gensalt_rn failed for " << prefix;
    return "";
  }
  auto data = std::make_unique<crypt_data>();  // value-initialised: zeroed as crypt_rn requires
  const char* hash = crypt_rn(password.c_str(), setting, data.get(), sizeof *data);
  if (hash == nullptr || hash[0] == '*') {
    ADD_FAILURE() << "crypt_rn failed for " << prefix;
    return "";
  }
  return hash;
}

}  // namespace correo::test_util
