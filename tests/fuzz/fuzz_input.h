// fuzz_input.h - carving one fuzzer input into the values a target needs.
//
// The first bytes steer (a mode, a split point, a limit); the rest is the payload. Taking
// from the front keeps the corpus readable: a seed is a control byte or two, then text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace correo::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  // byte - the next control byte (0 when the input is used up).
  uint8_t byte() {
    if (rest_.empty()) return 0;
    const auto b = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  // take - up to n bytes of payload.
  std::string_view take(size_t n) {
    const std::string_view out = rest_.substr(0, n);
    rest_.remove_prefix(out.size());
    return out;
  }
  // until - the payload up to a separator byte (not included; consumed), or all of it.
  std::string_view until(char separator) {
    const size_t at = rest_.find(separator);
    const std::string_view out = rest_.substr(0, at);
    rest_.remove_prefix(at == std::string_view::npos ? rest_.size() : at + 1);
    return out;
  }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

}  // namespace correo::fuzz
