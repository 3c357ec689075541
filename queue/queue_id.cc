// queue_id.cc - unique, time-ordered queue ids and their 13-character text form.
//
// Thread rules: a QueueIdGenerator belongs to one worker thread (no locking inside); the
// free functions are pure and callable from any thread.
//
// Format: id = (microseconds since the epoch << 6) | worker index. Text form: the 64-bit
// value in Crockford base32 ("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), 13 characters, most
// significant first, fixed width (the first character carries only the top 4 bits, so it
// is always 0-F). Text order == numeric order == RocksDB key order. Parsing accepts lower
// case but no other aliases (no O/I/L), so every id has exactly one text form.
#include "queue/queue_id.h"

#include <cassert>
#include <chrono>

namespace correo {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kTextLength = 13;
constexpr unsigned kWorkerBits = 6;

// now_micros - wall clock, microseconds since the epoch.
uint64_t now_micros() {
  const auto d = std::chrono::system_clock::now().time_since_epoch();
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us > 0 ? static_cast<uint64_t>(us) : 0;
}

// digit_value - value of one base32 character, -1 when it is not in the alphabet.
int digit_value(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (int i = 0; i < 32; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

}  // namespace

static_assert(kMaxWorkers == (1u << kWorkerBits), "worker index must fit the low id bits");

QueueIdGenerator::QueueIdGenerator(unsigned worker_index, uint64_t floor_id)
    : worker_(worker_index), last_us_(floor_id >> kWorkerBits) {
  // Precondition: worker_index < kMaxWorkers. Starting from floor's microsecond means the
  // first next() uses at least floor_us + 1, so every id is > floor_id whatever its worker.
  assert(worker_index < kMaxWorkers);
}

// next - strictly increasing per generator; never <= the floor given at construction.
uint64_t QueueIdGenerator::next() {
  uint64_t us = now_micros();
  if (us <= last_us_) us = last_us_ + 1;
  last_us_ = us;
  return (us << kWorkerBits) | (worker_ & (kMaxWorkers - 1));
}

// format_queue_id - 13 fixed-width Crockford base32 characters, most significant first.
std::string format_queue_id(uint64_t id) {
  std::string out(kTextLength, '0');
  for (size_t i = kTextLength; i-- > 0;) {
    out[i] = kAlphabet[id & 31];
    id >>= 5;
  }
  return out;
}

// parse_queue_id - inverse of format_queue_id; nullopt on wrong length, characters or range.
std::optional<uint64_t> parse_queue_id(std::string_view text) {
  if (text.size() != kTextLength) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < kTextLength; ++i) {
    const int d = digit_value(text[i]);
    if (d < 0) return std::nullopt;
    if (i == 0 && d > 15) return std::nullopt;  // 13 * 5 = 65 bits: the top digit has 4
    v = (v << 5) | static_cast<uint64_t>(d);
  }
  return v;
}

uint64_t queue_id_micros(uint64_t id) { return id >> kWorkerBits; }

}  // namespace correo
