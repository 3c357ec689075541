// ascii.h - ASCII case folding for protocol tokens (verbs, keywords, header names).
//
// SMTP verbs, ESMTP keywords, MIME header names and domain names compare case-insensitively
// in ASCII only (RFC 5321 §2.4); locale-dependent functions like toupper() must not be used.
#pragma once

#include <string_view>

namespace correo {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
inline char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// iequals - ASCII case-insensitive equality.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// istarts_with - ASCII case-insensitive prefix test.
inline bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace correo
