// dnsbl_site.cc - site spec parsing, answer filtering, reversed query names.
#include "relay/policy/dnsbl_site.h"

#include <algorithm>
#include <charconv>

#include "relay/smtp/address.h"

namespace correo {
namespace {

// parse_octet_value - 1-3 decimal digits, at most 255, at text[i]; advances i.
bool parse_octet_value(std::string_view text, size_t& i, unsigned& value) {
  const size_t start = i;
  value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) value = value * 10 + (text[i++] - '0');
  return i > start && value <= 255 && !(i < text.size() && text[i] >= '0' && text[i] <= '9');
}

// parse_octet - "n" or "[item;item...]" with item "n" or "n..m", into allowed; advances i.
std::string parse_octet(std::string_view text, size_t& i, std::bitset<256>& allowed) {
  unsigned lo = 0;
  unsigned hi = 0;
  if (i >= text.size() || text[i] != '[') {
    if (!parse_octet_value(text, i, lo)) return "octet is not a number 0..255 or a [list]";
    allowed.set(lo);
    return "";
  }
  ++i;
  while (true) {
    if (!parse_octet_value(text, i, lo)) return "value in [...] is not a number 0..255";
    hi = lo;
    if (text.substr(i, 2) == "..") {
      i += 2;
      if (!parse_octet_value(text, i, hi)) return "range end in [...] is not a number 0..255";
      if (hi < lo) return "range [" + std::to_string(lo) + ".." + std::to_string(hi) + "] runs backwards";
    }
    for (unsigned v = lo; v <= hi; ++v) allowed.set(v);
    if (i < text.size() && text[i] == ';') {
      ++i;
      continue;
    }
    if (i < text.size() && text[i] == ']') {
      ++i;
      return "";
    }
    return "expected ';', '..' or ']' in [...]";
  }
}

std::string lower(std::string_view s) { return lowercase_ascii(s); }

}  // namespace

bool DnsblSite::matches(const IpAddress& answer) const {
  if (answer.v6) return false;
  if (!filtered) return true;
  for (size_t k = 0; k < 4; ++k) {
    if (!octets[k].test(answer.bytes[k])) return false;
  }
  return true;
}

Result<DnsblSite> parse_dnsbl_site(std::string_view spec) {
  auto fail = [&](std::string_view problem) {
    return Error{"DNSBL site '" + std::string(spec.substr(0, 200)) + "': " + std::string(problem)};
  };
  DnsblSite site;
  std::string_view rest = spec;
  if (const size_t star = rest.find('*'); star != std::string_view::npos) {
    std::string_view w = rest.substr(star + 1);
    rest = rest.substr(0, star);
    if (!w.empty() && w.front() == '+') w.remove_prefix(1);  // from_chars takes '-' but not '+'
    int weight = 0;
    const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), weight);
    if (w.empty() || ec != std::errc() || end != w.data() + w.size() || weight < -DnsblSite::kMaxWeight ||
        weight > DnsblSite::kMaxWeight) {
      return fail("weight after '*' must be an integer from -1000 to 1000");
    }
    site.weight = weight;
  }
  std::string_view filter;
  if (const size_t eq = rest.find('='); eq != std::string_view::npos) {
    filter = rest.substr(eq + 1);
    rest = rest.substr(0, eq);
    if (filter.empty()) return fail("empty filter after '='");
    site.filtered = true;
  }
  if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
  if (!is_valid_domain(rest, false)) return fail("zone is not a domain name");
  site.zone = lower(rest);

  size_t i = 0;
  for (size_t k = 0; site.filtered && k < 4; ++k) {
    if (k > 0) {
      if (i >= filter.size() || filter[i] != '.') return fail("filter needs four octets: d.d.d.d");
      ++i;
    }
    if (std::string problem = parse_octet(filter, i, site.octets[k]); !problem.empty()) {
      return fail("filter " + problem);
    }
  }
  if (site.filtered && i != filter.size()) return fail("unexpected text after the filter's fourth octet");
  return site;
}

std::string dnsbl_query_name(const IpAddress& ip, std::string_view zone) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  std::string name;
  name.reserve(64 + zone.size());
  const bool mapped = ip.v6 && std::equal(std::begin(kMapped), std::end(kMapped), ip.bytes.begin());
  if (!ip.v6 || mapped) {
    const size_t first = mapped ? 12 : 0;
    for (size_t k = 4; k-- > 0;) {
      name += std::to_string(ip.bytes[first + k]);
      name += '.';
    }
  } else {
    for (size_t k = 16; k-- > 0;) {
      name += kHex[ip.bytes[k] & 0xf];
      name += '.';
      name += kHex[ip.bytes[k] >> 4];
      name += '.';
    }
  }
  if (zone.empty()) {
    name.pop_back();
  } else {
    name += zone;
  }
  return name;
}

}  // namespace correo
