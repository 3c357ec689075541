// helo_check.cc - HELO name syntax; pure, no allocation beyond the literal's parse.
#include "relay/policy/helo_check.h"

#include "relay/common/ascii.h"
#include "relay/common/cidr.h"

namespace correo {
namespace {

constexpr size_t kMaxName = 255;  // RFC 5321 §4.5.3.1.2
constexpr size_t kMaxLabel = 63;  // RFC 1035 §2.3.4

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}

// check_literal - "[a.b.c.d]" or "[IPv6:...]"; the brackets are already checked.
HeloProblem check_literal(std::string_view inner) {
  constexpr std::string_view kTag = "IPv6:";
  if (istarts_with(inner, kTag)) {
    const auto ip = IpAddress::parse(inner.substr(kTag.size()));
    return ip && ip->v6 ? HeloProblem::kOk : HeloProblem::kInvalidAddressLiteral;
  }
  const auto ip = IpAddress::parse(inner);  // an IPv6 address without the tag is refused too
  return ip && !ip->v6 ? HeloProblem::kOk : HeloProblem::kInvalidAddressLiteral;
}

}  // namespace

HeloProblem check_helo(std::string_view name, bool require_fqdn) {
  if (name.empty()) return HeloProblem::kEmpty;
  if (name.front() == '[') {
    if (name.size() < 3 || name.back() != ']') return HeloProblem::kInvalidAddressLiteral;
    return check_literal(name.substr(1, name.size() - 2));
  }
  if (name.size() > kMaxName) return HeloProblem::kInvalidHostname;
  if (name.back() == '.') name.remove_suffix(1);  // the root: "mail.example.test." is fine
  size_t labels = 0;
  bool last_all_digits = false;
  while (true) {
    const size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > kMaxLabel) return HeloProblem::kInvalidHostname;
    if (label.front() == '-' || label.back() == '-') return HeloProblem::kInvalidHostname;
    last_all_digits = true;
    for (char c : label) {
      if (!is_label_char(c)) return HeloProblem::kInvalidHostname;
      if (!is_digit(c)) last_all_digits = false;
    }
    ++labels;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  if (require_fqdn && (labels < 2 || last_all_digits)) return HeloProblem::kNotFqdn;
  return HeloProblem::kOk;
}

std::string_view to_string(HeloProblem problem) {
  switch (problem) {
    case HeloProblem::kOk: return "ok";
    case HeloProblem::kEmpty: return "empty";
    case HeloProblem::kInvalidHostname: return "invalid_hostname";
    case HeloProblem::kNotFqdn: return "not_fqdn";
    case HeloProblem::kInvalidAddressLiteral: return "invalid_address_literal";
  }
  return "unknown";
}

}  // namespace correo
