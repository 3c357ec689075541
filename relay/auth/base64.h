// base64.h - RFC 4648 §4 base64 (standard alphabet, '=' padding) for SMTP AUTH exchanges.
//
// RFC 4954 carries SASL responses and challenges as base64 lines. Decoding is strict about the
// alphabet, the length and where padding may appear, so a malformed response is answered with
// 501 instead of being guessed at. Non-zero trailing bits in the last quantum are accepted
// (RFC 4648 §3.5 lets decoders do so; clients that emit them exist and nothing is ambiguous).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace correo {

// base64_decode - nullopt on a character outside the alphabet, a length that is not a multiple
// of four, or misplaced padding. Empty input decodes to the empty string.
std::optional<std::string> base64_decode(std::string_view encoded);

// base64_encode - always padded, no line breaks.
std::string base64_encode(std::string_view bytes);

}  // namespace correo
