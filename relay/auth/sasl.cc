// sasl.cc - split on the two NULs and apply RFC 4616's length limits.
#include "relay/auth/sasl.h"

namespace correo {
namespace {

constexpr size_t kMaxFieldOctets = 255;  // RFC 4616 §2: 1*SAFE up to 255 octets per field

}  // namespace

std::optional<PlainCredentials> parse_sasl_plain(std::string_view decoded) {
  const size_t first = decoded.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = decoded.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (decoded.find('\0', second + 1) != std::string_view::npos) return std::nullopt;

  const std::string_view authzid = decoded.substr(0, first);
  const std::string_view authcid = decoded.substr(first + 1, second - first - 1);
  const std::string_view passwd = decoded.substr(second + 1);
  if (authcid.empty() || passwd.empty()) return std::nullopt;
  if (authzid.size() > kMaxFieldOctets || authcid.size() > kMaxFieldOctets || passwd.size() > kMaxFieldOctets) {
    return std::nullopt;
  }
  return PlainCredentials{std::string(authzid), std::string(authcid), std::string(passwd)};
}

}  // namespace correo
