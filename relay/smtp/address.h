// address.h - RFC 5321 §4.1.2 paths (Reverse-path, Forward-path) and mailboxes.
//
//   Path = "<" [ A-d-l ":" ] Mailbox ">"        A-d-l (source route) is parsed and ignored
//   Mailbox = Local-part "@" ( Domain / address-literal )     (RFC 5321 Appendix C)
//   Local-part = Dot-string / Quoted-string
// With SMTPUTF8 (RFC 6531 §3.3) UTF-8 is allowed in atoms, quoted strings and domain
// labels. Lengths per §4.5.3.1: local part 64, domain 255, path 256 octets.
// Errors name the problem, so a client author can fix it from the reply alone.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace correo {

struct ParsedPath {
  bool null = false;         // "<>"
  std::string address;       // local@domain exactly as given (route removed); "" for null
  size_t at = 0;             // position of the '@' in address
  bool non_ascii = false;    // needs SMTPUTF8
  bool address_literal = false;
  size_t consumed = 0;       // bytes of the input used, through '>'

  std::string_view local() const { return std::string_view(address).substr(0, at); }
  std::string_view domain() const { return null ? std::string_view() : std::string_view(address).substr(at + 1); }
};

struct PathResult {
  bool ok = false;
  ParsedPath path;
  std::string error;  // e.g. "local part longer than 64 octets"
};

// parse_path - parse a path at the start of `text` (which must begin with '<').
// allow_null: "<>" permitted (reverse-path only).
PathResult parse_path(std::string_view text, bool allow_null);

// is_valid_domain - RFC 5321 Domain (sub-domain *("." sub-domain)); UTF-8 labels if allow_utf8.
bool is_valid_domain(std::string_view domain, bool allow_utf8);

// lowercase_ascii - domain comparison is case-insensitive for ASCII (RFC 5321 §2.4).
std::string lowercase_ascii(std::string_view s);

}  // namespace correo
