// address_fuzz.cc - libFuzzer target: RFC 5321 paths and domains (relay/smtp/address.h).
// Invariants: an accepted path used at most the input, through its '>'; its parts respect
// the RFC 5321 §4.5.3.1 limits; the '@' it reports is where it says; a path that needs no
// SMTPUTF8 is ASCII; parsing the path's own canonical form "<address>" accepts it again.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "relay/smtp/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const bool allow_null : {false, true}) {
    const correo::PathResult r = correo::parse_path(text, allow_null);
    if (!r.ok) {
      if (r.error.empty()) std::abort();  // every refusal says why
      continue;
    }
    const correo::ParsedPath& p = r.path;
    if (p.consumed == 0 || p.consumed > text.size() || text[p.consumed - 1] != '>') std::abort();
    if (p.null) {
      if (!allow_null || !p.address.empty()) std::abort();
      continue;
    }
    if (p.at >= p.address.size() || p.address[p.at] != '@') std::abort();
    if (p.local().size() > 64 || p.domain().size() > 255 || p.address.size() > 256) std::abort();
    if (!p.non_ascii) {
      for (unsigned char c : p.address) {
        if (c >= 0x80) std::abort();
      }
    }
    const std::string again = "<" + p.address + ">";
    const correo::PathResult r2 = correo::parse_path(again, allow_null);
    if (!r2.ok || r2.path.address != p.address) std::abort();
  }
  (void)correo::is_valid_domain(text, false);
  (void)correo::is_valid_domain(text, true);
  (void)correo::lowercase_ascii(text);
  return 0;
}
