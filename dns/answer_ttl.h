// answer_ttl.h - how long a DNS answer may be cached: the smallest TTL in its answer section.
//
// c-ares' ares_parse_mx_reply() drops TTLs, so we read them from the raw response ourselves.
// RFC 2181 §5.2: the TTLs of an RRset are equal, and a client seeing different ones should use
// the smallest; we take the minimum over the whole answer section, so a CNAME in the chain
// limits the answer too. RFC 2181 §8: a TTL with the most significant bit set is treated as 0.
// Pure functions, no I/O, no state: callable from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace correo {

// Longest time any answer is cached, whatever the TTL says (bounds the damage of a bad record).
inline constexpr std::chrono::seconds kMaxDnsTtl{86400};

// clamp_dns_ttl - RFC 2181 §8 (MSB set -> 0), then capped at kMaxDnsTtl.
std::chrono::seconds clamp_dns_ttl(uint32_t ttl);

// min_answer_ttl - smallest TTL in the answer section of a DNS response, clamped; nullopt when
// the message is malformed or has no answer records.
std::optional<std::chrono::seconds> min_answer_ttl(const unsigned char* msg, size_t len);

}  // namespace correo
