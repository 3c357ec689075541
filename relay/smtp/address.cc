// address.cc - path parser; pure, no allocation beyond the result string.
#include "relay/smtp/address.h"

#include <arpa/inet.h>

namespace correo {
namespace {

constexpr size_t kMaxLocal = 64;    // RFC 5321 §4.5.3.1.1
constexpr size_t kMaxDomain = 255;  // RFC 5321 §4.5.3.1.2
constexpr size_t kMaxPath = 256;    // RFC 5321 §4.5.3.1.3, including the angle brackets

bool is_alpha_digit(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// is_atext - RFC 5322 atext; bytes >= 0x80 are UTF-8 (validated as a whole later).
bool is_atext(unsigned char c) {
  if (is_alpha_digit(c) || c >= 0x80) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

// valid_utf8 - well-formed UTF-8 (no overlongs, no surrogates), RFC 3629.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    if (c < 0x80) { ++i; continue; }
    size_t n;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

bool valid_address_literal(std::string_view lit) {
  // lit excludes the brackets.
  std::string s(lit);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return true;
  if (s.size() > 5 && (s.compare(0, 5, "IPv6:") == 0 || s.compare(0, 5, "ipv6:") == 0)) {
    return inet_pton(AF_INET6, s.c_str() + 5, buf) == 1;
  }
  // General-address-literal: Standardized-tag ":" 1*dcontent (%d33-90 / %d94-126).
  size_t colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  for (size_t i = 0; i < colon; ++i) {
    unsigned char c = s[i];
    if (!is_alpha_digit(c) && c != '-') return false;
  }
  for (size_t i = colon + 1; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']') return false;
  }
  return false;  // no standardized tags beyond IPv6 exist: refuse rather than guess
}

// scan_domain - length of a Domain or address-literal at the start of s; 0 = invalid.
size_t scan_domain(std::string_view s, bool& literal, std::string& error) {
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) {
      error = "address literal without ']'";
      return 0;
    }
    if (!valid_address_literal(s.substr(1, close - 1))) {
      error = "invalid address literal";
      return 0;
    }
    literal = true;
    return close + 1;
  }
  size_t i = 0;
  while (i < s.size() && (is_alpha_digit(s[i]) || s[i] == '-' || s[i] == '.' || static_cast<unsigned char>(s[i]) >= 0x80)) ++i;
  if (i == 0) {
    error = s.empty() || s[0] == '>' ? "missing domain" : "invalid character in domain";
    return 0;
  }
  return i;
}

}  // namespace

bool is_valid_domain(std::string_view d, bool allow_utf8) {
  if (d.empty() || d.size() > kMaxDomain) return false;
  size_t start = 0;
  while (true) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (unsigned char c : label) {
      if (is_alpha_digit(c) || c == '-') continue;
      if (c >= 0x80 && allow_utf8) continue;
      return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return !allow_utf8 || valid_utf8(d);
}

std::string lowercase_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

PathResult parse_path(std::string_view text, bool allow_null) {
  PathResult r;
  if (text.empty() || text[0] != '<') {
    r.error = "address must be enclosed in <>";
    return r;
  }
  size_t i = 1;
  if (i < text.size() && text[i] == '>') {
    if (!allow_null) {
      r.error = "null address <> not allowed here";
      return r;
    }
    r.ok = true;
    r.path.null = true;
    r.path.consumed = 2;
    return r;
  }
  // A-d-l source route "@a,@b:" - parsed for syntax, then ignored (RFC 5321 Appendix C).
  if (i < text.size() && text[i] == '@') {
    while (true) {
      if (i >= text.size() || text[i] != '@') {
        r.error = "invalid source route";
        return r;
      }
      ++i;
      bool lit = false;
      size_t n = scan_domain(text.substr(i), lit, r.error);
      if (n == 0 || (!lit && !is_valid_domain(text.substr(i, n), true))) {
        r.error = "invalid domain in source route";
        return r;
      }
      i += n;
      if (i < text.size() && text[i] == ',') { ++i; continue; }
      if (i < text.size() && text[i] == ':') { ++i; break; }
      r.error = "invalid source route";
      return r;
    }
  }
  const size_t local_start = i;
  bool non_ascii = false;
  if (i < text.size() && text[i] == '"') {
    ++i;
    bool closed = false;
    while (i < text.size()) {
      unsigned char c = text[i];
      if (c == '"') { closed = true; ++i; break; }
      if (c == '\\') {
        if (i + 1 >= text.size() || static_cast<unsigned char>(text[i + 1]) < 32 || static_cast<unsigned char>(text[i + 1]) > 126) {
          r.error = "invalid quoted pair in local part";
          return r;
        }
        i += 2;
        continue;
      }
      if (c >= 0x80) non_ascii = true;
      else if (c < 32 || c == 127) {
        r.error = "control character in local part";
        return r;
      }
      ++i;
    }
    if (!closed) {
      r.error = "unbalanced quote in local part";
      return r;
    }
  } else {
    bool prev_dot = true;  // a leading dot is invalid
    while (i < text.size() && (is_atext(text[i]) || text[i] == '.')) {
      if (text[i] == '.') {
        if (prev_dot) {
          r.error = "empty atom in local part (misplaced '.')";
          return r;
        }
        prev_dot = true;
      } else {
        prev_dot = false;
        if (static_cast<unsigned char>(text[i]) >= 0x80) non_ascii = true;
      }
      ++i;
    }
    if (i == local_start) {
      r.error = i < text.size() && text[i] == '@' ? "empty local part" : "invalid character in local part";
      return r;
    }
    if (prev_dot) {
      r.error = "local part ends with '.'";
      return r;
    }
  }
  const size_t local_len = i - local_start;
  if (i >= text.size() || text[i] != '@') {
    if (i < text.size() && text[i] == '>') r.error = "missing '@domain'";
    else r.error = "invalid character in local part";
    return r;
  }
  if (local_len > kMaxLocal) {
    r.error = "local part longer than 64 octets";
    return r;
  }
  ++i;
  const size_t domain_start = i;
  bool literal = false;
  size_t n = scan_domain(text.substr(i), literal, r.error);
  if (n == 0) return r;
  std::string_view domain = text.substr(domain_start, n);
  if (!literal && !is_valid_domain(domain, true)) {
    r.error = domain.size() > kMaxDomain ? "domain longer than 255 octets" : "invalid domain name";
    return r;
  }
  for (unsigned char c : domain) non_ascii |= c >= 0x80;
  i += n;
  if (i >= text.size() || text[i] != '>') {
    r.error = i >= text.size() ? "missing '>'" : "invalid character after domain";
    return r;
  }
  ++i;
  if (i > kMaxPath) {
    r.error = "path longer than 256 octets";
    return r;
  }
  std::string_view mailbox = text.substr(local_start, domain_start + n - local_start);
  if (non_ascii && !valid_utf8(mailbox)) {
    r.error = "invalid UTF-8 in address";
    return r;
  }
  r.ok = true;
  r.path.address.assign(mailbox);
  r.path.at = local_len;
  r.path.non_ascii = non_ascii;
  r.path.address_literal = literal;
  r.path.consumed = i;
  return r;
}

}  // namespace correo
