// mime_downgrade.h - 8BITMIME to 7-bit MIME conversion of a stored message, pure.
//
// RFC 6152 §3: a message received with BODY=8BITMIME that must go to a server which does
// not advertise 8BITMIME is either converted to 7-bit MIME or returned as undeliverable.
// downgrade_to_7bit() does the conversion the way Postfix does (smtp_mime.c, mime_state.c):
// every leaf part that holds 8-bit octets is re-encoded as quoted-printable (RFC 2045 §6.7,
// encoded lines <= 76 characters, hard line breaks kept as CRLF), its
// Content-Transfer-Encoding becomes quoted-printable (RFC 1428 "unknown-8bit" charset when a
// Content-Type has to be added), and the containers around it (multipart/*, message/rfc822,
// RFC 2046 §5; message/global, RFC 6532) that said 8bit now say 7bit. Everything else is
// copied byte for byte.
//
// It cannot convert, and says why (the caller bounces): 8-bit octets in any header section
// (that needs SMTPUTF8, RFC 6531; no RFC 2047 encoding is attempted), in a multipart preamble
// or epilogue, under a base64, quoted-printable, binary or unknown encoding, in a multipart
// without a boundary, in message/* types other than rfc822 and global (partial,
// external-body, delivery-status, global-headers, ...); also duplicate Content-Type or
// Content-Transfer-Encoding fields in a part that needs conversion, and MIME nesting deeper
// than max_depth (the top-level entity is depth 0, each multipart or embedded message adds 1).
//
// Limits: parts without 8-bit octets are not parsed; each nesting level scans its own part
// once, so the work is O(size * min(depth, max_depth)) and the recursion is max_depth deep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace correo {

enum class DowngradeResult : uint8_t { kUnchanged, kConverted, kImpossible };

struct Downgrade {
  DowngradeResult result = DowngradeResult::kUnchanged;
  std::string message;  // the converted message when kConverted (CRLF lines)
  std::string reason;   // why kImpossible, e.g. "8-bit data in the header section"
};

// downgrade_to_7bit - convert a stored RFC 5322 message (CRLF line endings; it begins with
// our Received: header) so that it contains no octet >= 0x80 and stays valid MIME.
Downgrade downgrade_to_7bit(std::string_view message, size_t max_depth = 32);

}  // namespace correo
