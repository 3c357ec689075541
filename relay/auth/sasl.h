// sasl.h - the SASL PLAIN message (RFC 4616 §2), after base64 decoding.
//
// The SMTP session decodes the client's response and hands the bytes here; the result goes to
// the AuthService for verification. Only the shape is checked here, never the credentials.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace correo {

struct PlainCredentials {
  std::string authzid;   // empty when the client acts as itself
  std::string user;      // authcid
  std::string password;  // passwd
};

// parse_sasl_plain - "[authzid] NUL authcid NUL passwd": exactly two NULs, authcid and passwd
// non-empty, each field at most 255 octets. nullopt otherwise. UTF-8 validity (which RFC 4616
// also asks for) is not checked: the users file decides which names exist, byte for byte.
std::optional<PlainCredentials> parse_sasl_plain(std::string_view decoded);

}  // namespace correo
