// users.h - the SMTP AUTH users file: who may log in, their crypt(3) hash, what they may send as.
//
// One user per line, "user:hash" or "user:hash:owned1,owned2,...". Blank lines and lines whose
// first non-blank character is '#' are ignored. The hash is a crypt(3) string as mkpasswd writes
// it ("$y$..." yescrypt, "$6$..." SHA-512-crypt); anything not starting with '$' (plain text, DES)
// is refused. Owned entries are addresses ("local@domain") or whole domains ("@domain"); a user
// name containing '@' also owns that address. The table is immutable once built, so the SIGHUP
// reload builds a new one and swaps the shared_ptr; readers never lock.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "relay/common/result.h"

namespace correo {

class UserTable {
 public:
  static constexpr size_t kMaxLineBytes = 4096;
  static constexpr size_t kMaxUsers = 1'000'000;
  static constexpr size_t kMaxFileBytes = size_t{64} * 1024 * 1024;

  // load - read and parse the file at path. Errors read "PATH:LINE: problem" (or "PATH: problem"
  // for whole-file failures) and never quote a hash.
  static Result<std::shared_ptr<const UserTable>> load(const std::string& path);
  // parse - the same from text already in memory; name_for_errors stands in for PATH.
  static Result<std::shared_ptr<const UserTable>> parse(std::string_view text, const std::string& name_for_errors);

  // hash_of - the user's crypt hash, or nullptr for an unknown user. Names match exactly (bytes).
  const std::string* hash_of(std::string_view user) const;
  // owns - may this user use this address (e.g. as MAIL FROM)? False for unknown users.
  bool owns(std::string_view user, std::string_view address) const;
  size_t size() const { return users_.size(); }
  // any_hash - some user's hash (nullptr when empty): checking an unknown user against it
  // costs what a real user costs, whatever crypt scheme and cost the file uses.
  const std::string* any_hash() const { return users_.empty() ? nullptr : &users_.begin()->second.hash; }

 private:
  struct Entry {
    std::string hash;
    std::vector<std::string> addresses;  // "local@domain", ASCII-lowercased
    std::vector<std::string> domains;    // "domain" (from "@domain"), ASCII-lowercased
  };
  // StringHash - lets the map be searched with a string_view without building a std::string.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  UserTable() = default;

  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> users_;
};

}  // namespace correo
