// tag.h - the one place that defines what an io_uring user_data means.
//
// 64 bits = op (8) | generation (24) | slot (32). The slot indexes the worker's connection
// table (or a listener); the generation is bumped every time a slot is reused, so a CQE
// that arrives after its connection was closed and the slot handed to a new client is
// recognised as stale and ignored instead of being applied to the wrong session.
#pragma once

#include <cstdint>

namespace correo {

enum class Op : uint8_t {
  kAccept = 1,     // slot = listener index
  kRecv = 2,       // slot = connection
  kSend = 3,       // slot = connection
  kTick = 4,       // the worker's periodic timer
  kSpoolWake = 5,  // eventfd read: spool completions are waiting
  kIgnore = 6,     // fire-and-forget (cancels); result not needed
  kOutConnect = 7, // slot = outbound connection
  kOutRecv = 8,    // slot = outbound connection
  kOutSend = 9,    // slot = outbound connection
  kDnsPoll = 10,   // slot = c-ares socket fd, generation = that fd's watch generation
  kMilterConnect = 11,  // slot = milter run
  kMilterRecv = 12,     // slot = milter run
  kMilterSend = 13,     // slot = milter run
};

struct Tag {
  Op op;
  uint32_t generation;  // 24 bits used
  uint32_t slot;

  uint64_t pack() const {
    return (static_cast<uint64_t>(op) << 56) | (static_cast<uint64_t>(generation & 0xffffff) << 32) | slot;
  }
  static Tag unpack(uint64_t v) {
    return Tag{static_cast<Op>(v >> 56), static_cast<uint32_t>((v >> 32) & 0xffffff), static_cast<uint32_t>(v)};
  }
};

}  // namespace correo
