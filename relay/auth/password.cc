// password.cc - crypt_rn into a heap crypt_data, constant-time comparison, OPENSSL_cleanse.
#include "relay/auth/password.h"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cstring>
#include <memory>
#include <new>

namespace correo {
namespace {

// CryptScratch - libxcrypt's ~32 KiB work area. Too big for a worker's stack, and it holds
// intermediate state derived from the password, so it is scrubbed before it is freed.
struct CryptScratch {
  crypt_data data{};  // zeroed: crypt_rn requires that before first use
  ~CryptScratch() { OPENSSL_cleanse(&data, sizeof data); }
};

}  // namespace

bool verify_password(const std::string& crypt_hash, std::string_view password) {
  // crypt takes C strings: a NUL inside the password would silently truncate it.
  if (crypt_hash.empty() || password.find('\0') != std::string_view::npos) return false;
  std::unique_ptr<CryptScratch> scratch(new (std::nothrow) CryptScratch);
  if (!scratch) return false;
  std::string terminated(password);
  const char* computed = crypt_rn(terminated.c_str(), crypt_hash.c_str(), &scratch->data, sizeof scratch->data);
  wipe(terminated);
  // libxcrypt reports failure either as NULL or as a string starting with '*' (a value that can
  // never match a real hash, but we do not rely on that).
  if (computed == nullptr || computed[0] == '*') return false;
  const size_t computed_size = strlen(computed);
  // The length of the hash is not a secret; its bytes are compared in constant time.
  return computed_size == crypt_hash.size() && CRYPTO_memcmp(computed, crypt_hash.data(), computed_size) == 0;
}

std::optional<std::string> hash_password(std::string_view password, const char* prefix) {
  if (password.find('\0') != std::string_view::npos) return std::nullopt;
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // nullptr random bytes: libxcrypt draws the salt from the kernel itself.
  if (crypt_gensalt_rn(prefix, 0, nullptr, 0, setting, sizeof setting) == nullptr) return std::nullopt;
  std::unique_ptr<CryptScratch> scratch(new (std::nothrow) CryptScratch);
  if (!scratch) return std::nullopt;
  std::string terminated(password);
  const char* computed = crypt_rn(terminated.c_str(), setting, &scratch->data, sizeof scratch->data);
  wipe(terminated);
  if (computed == nullptr || computed[0] == '*') return std::nullopt;
  return std::string(computed);
}

void wipe(std::string& secret) {
  // resize() makes the whole allocation addressable, so bytes past the current size (left by a
  // previous longer value, or by a move out of the small-string buffer) are scrubbed as well.
  secret.resize(secret.capacity());
  OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

}  // namespace correo
