// password.h - checking a password against a crypt(3) hash, and scrubbing secrets from memory.
//
// Verification uses libxcrypt's reentrant crypt_rn so it can run on any thread; it is slow on
// purpose (yescrypt takes milliseconds), which is why only the AuthService thread calls it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace correo {

// verify_password - true only when crypt(password, hash) reproduces hash exactly. False on any
// failure: unsupported or malformed hash, a password containing NUL, or allocation failure.
bool verify_password(const std::string& crypt_hash, std::string_view password);

// hash_password - a crypt(3) hash of password with a fresh random salt and libxcrypt's default
// cost for the method named by prefix ("$y$" yescrypt, "$6$" SHA-512-crypt). nullopt when the
// method is unsupported or the password contains NUL.
std::optional<std::string> hash_password(std::string_view password, const char* prefix);

// wipe - overwrite every byte the string owns (its full capacity, so an earlier, longer value
// is scrubbed too) in a way the compiler cannot elide, then leave it empty.
void wipe(std::string& secret);

}  // namespace correo
