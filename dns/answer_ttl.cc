// answer_ttl.cc - a bounds-checked walk over the header, question and answer sections
// (RFC 1035 §4.1). Names are skipped, never expanded: a compression pointer ends a name.
#include "dns/answer_ttl.h"

namespace correo {
namespace {

constexpr size_t kHeaderSize = 12;

uint16_t read_u16(const unsigned char* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

uint32_t read_u32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// skip_name - advance pos past an encoded name; false when it runs off the end or is invalid.
bool skip_name(const unsigned char* msg, size_t len, size_t& pos) {
  while (pos < len) {
    const unsigned char b = msg[pos];
    if (b == 0) {
      pos += 1;
      return true;
    }
    if ((b & 0xC0) == 0xC0) {  // compression pointer: two octets, and the name ends here
      if (pos + 2 > len) return false;
      pos += 2;
      return true;
    }
    if ((b & 0xC0) != 0) return false;  // 0x40 / 0x80 label types are obsolete or unknown
    pos += 1 + b;
  }
  return false;
}

}  // namespace

std::chrono::seconds clamp_dns_ttl(uint32_t ttl) {
  if (ttl & 0x80000000u) return std::chrono::seconds(0);
  const std::chrono::seconds s(ttl);
  return s < kMaxDnsTtl ? s : kMaxDnsTtl;
}

std::optional<std::chrono::seconds> min_answer_ttl(const unsigned char* msg, size_t len) {
  if (msg == nullptr || len < kHeaderSize) return std::nullopt;
  const uint16_t qdcount = read_u16(msg + 4);
  const uint16_t ancount = read_u16(msg + 6);
  size_t pos = kHeaderSize;
  for (uint16_t i = 0; i < qdcount; ++i) {
    if (!skip_name(msg, len, pos) || pos + 4 > len) return std::nullopt;
    pos += 4;  // QTYPE, QCLASS
  }
  std::optional<std::chrono::seconds> min;
  for (uint16_t i = 0; i < ancount; ++i) {
    if (!skip_name(msg, len, pos) || pos + 10 > len) return std::nullopt;
    const std::chrono::seconds ttl = clamp_dns_ttl(read_u32(msg + pos + 4));
    const uint16_t rdlength = read_u16(msg + pos + 8);
    pos += 10;
    if (pos + rdlength > len) return std::nullopt;
    pos += rdlength;
    if (!min || ttl < *min) min = ttl;
  }
  return min;
}

}  // namespace correo
