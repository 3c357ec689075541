// parse.h - value parsers for correo-blast's flags: counts, rates and durations.
//
// Kept apart from the flag table so each parser can say exactly what it expected; the
// caller prefixes the flag name, which makes every bad-argument error one precise line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "relay/common/result.h"

namespace correo::blast {

// parse_count - a decimal integer in [min, max] (no sign, no suffix).
Result<uint64_t> parse_count(std::string_view text, uint64_t min, uint64_t max);

// parse_rate - a positive decimal number ("200", "0.5").
Result<double> parse_rate(std::string_view text);

// parse_duration - an integer with a unit, as everywhere in correo: 250ms, 30s, 5m, 4h, 5d.
// A bare number is refused: "30" could mean seconds or milliseconds.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace correo::blast
