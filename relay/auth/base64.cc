// base64.cc - table-driven encode and a strict quantum-by-quantum decode.
#include "relay/auth/base64.h"

#include "relay/auth/password.h"

#include <array>
#include <cstdint>

namespace correo {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr int8_t kInvalid = -1;

// kDecodeTable - sextet value for each byte, kInvalid for everything outside the alphabet ('=' too:
// padding is handled by position, not by table lookup).
constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kDecodeTable = make_decode_table();

}  // namespace

std::optional<std::string> base64_decode(std::string_view encoded) {
  if (encoded.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(encoded.size() / 4 * 3);
  for (size_t i = 0; i < encoded.size(); i += 4) {
    const bool last_quantum = i + 4 == encoded.size();
    // Padding may only be the final one or two characters of the input.
    size_t padding = 0;
    if (last_quantum && encoded[i + 3] == '=') padding = encoded[i + 2] == '=' ? 2 : 1;
    uint32_t bits = 0;
    for (size_t j = 0; j < 4 - padding; ++j) {
      const int8_t v = kDecodeTable[static_cast<unsigned char>(encoded[i + j])];
      if (v == kInvalid) {
        wipe(out);  // may be half a password
        return std::nullopt;
      }
      bits = bits << 6 | static_cast<uint32_t>(v);
    }
    bits <<= 6 * padding;
    out += static_cast<char>(bits >> 16 & 0xff);
    if (padding < 2) out += static_cast<char>(bits >> 8 & 0xff);
    if (padding < 1) out += static_cast<char>(bits & 0xff);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t bits = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                          static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                          static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[bits >> 18 & 63];
    out += kAlphabet[bits >> 12 & 63];
    out += kAlphabet[bits >> 6 & 63];
    out += kAlphabet[bits & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t bits = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) bits |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[bits >> 18 & 63];
    out += kAlphabet[bits >> 12 & 63];
    out += rest == 2 ? kAlphabet[bits >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace correo
