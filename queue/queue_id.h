// queue_id.h - unique, time-ordered queue ids.
//
// An id is 64 bits: microseconds since the epoch (51 bits until year 2100) shifted left by
// 6, plus the generating worker's index (0..63). Each worker keeps its own last value, so
// ids are unique across workers without a shared counter, strictly increasing per worker,
// and roughly time-ordered overall. The text form is 13 characters of Crockford base32,
// fixed width, so sorting the text sorts by time; RocksDB keys use the 8-byte big-endian
// integer for the same reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace correo {

constexpr unsigned kMaxWorkers = 64;

class QueueIdGenerator {
 public:
  // floor_id: the largest id already in the queue (from recovery), so a clock that went
  // backwards across a restart can never reissue an id.
  QueueIdGenerator(unsigned worker_index, uint64_t floor_id);
  uint64_t next();

 private:
  unsigned worker_;
  uint64_t last_us_;
};

std::string format_queue_id(uint64_t id);
std::optional<uint64_t> parse_queue_id(std::string_view text);
uint64_t queue_id_micros(uint64_t id);  // when it was issued

}  // namespace correo
