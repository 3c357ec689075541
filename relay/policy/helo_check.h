// helo_check.h - the HELO/EHLO name checks (Postfix reject_invalid_helo_hostname and
// reject_non_fqdn_helo_hostname).
//
// Accepted (RFC 5321 §4.1.1.1, §4.1.3): a Domain - labels of letters, digits and hyphens, no
// label starting or ending with '-', each at most 63 octets, the whole at most 255, one trailing
// dot allowed - or an address literal "[192.0.2.1]" / "[IPv6:2001:db8::1]" (tag case-
// insensitive). Like Postfix's valid_hostname() we also let '_' through: many Windows hosts
// announce names such as "MY_PC", and refusing them blocks real mail for no gain.
// FQDN (require_fqdn): at least two labels and a last label that is not all digits, so a bare
// "192.0.2.1" is not fully qualified. Address literals count as fully qualified (Postfix).
// Non-ASCII names are invalid: SMTPUTF8 (RFC 6531) does not extend to the EHLO argument.
#pragma once

#include <cstdint>
#include <string_view>

namespace correo {

enum class HeloProblem : uint8_t { kOk, kEmpty, kInvalidHostname, kNotFqdn, kInvalidAddressLiteral };

// check_helo - the first problem found with name (kNotFqdn only when require_fqdn).
HeloProblem check_helo(std::string_view name, bool require_fqdn);

// to_string - "ok", "empty", "invalid_hostname", "not_fqdn", "invalid_address_literal".
std::string_view to_string(HeloProblem problem);

}  // namespace correo
