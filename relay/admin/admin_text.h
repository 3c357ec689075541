// admin_text.h - text helpers for admin replies: safe printing, times, durations, UTF-8.
//
// Queue data comes from the network (addresses, HELO, remote replies) and ends up on an
// operator's terminal, so every field is escaped before it is printed: a hostile address
// must not be able to forge an output line or send terminal control sequences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace correo {

// utf8_sequence_length - length (1-4) of the well-formed UTF-8 sequence at s[i] (RFC 3629:
// no overlongs, no surrogates, nothing past U+10FFFF), or 0 when the byte there starts none.
size_t utf8_sequence_length(std::string_view s, size_t i);

// printable - for table/text output: control bytes (C0, DEL and the C1 range U+0080-U+009F),
// backslash and malformed UTF-8 bytes become \xNN; well-formed UTF-8 passes through.
std::string printable(std::string_view s);

// iso8601 - µs since the epoch as UTC text: "2024-05-01T12:34:56Z" or, with micros,
// "2024-05-01T12:34:56.123456Z".
std::string iso8601(int64_t us, bool with_micros);

// parse_age - an age for --min-age in whole seconds: the config file's duration syntax
// ("30s", "5m", "2h", "1d"; config.h parse_duration) or a bare number of seconds. nullopt
// for anything else, or more than ten years (a typo, not an age).
std::optional<int64_t> parse_age(std::string_view text);

}  // namespace correo
