// failure_table.h - recent AUTH failures per client address, for rate limiting password guessing.
//
// After max_failures failures within one window (which starts at the address's first failure),
// the address is limited until that window ends; the AuthService then answers without running
// crypt, so a guessing client cannot make us burn CPU. The table is bounded: when full, the entry
// with the oldest window is evicted, and expired entries are dropped as they are met. Only the
// AuthService thread uses it, so it has no locking; time is passed in so tests control it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace correo {

class FailureTable {
 public:
  using Clock = std::chrono::steady_clock;

  FailureTable(uint32_t max_failures, std::chrono::milliseconds window, uint32_t capacity);
  FailureTable(const FailureTable&) = delete;
  FailureTable& operator=(const FailureTable&) = delete;

  // limited - has this address used up its failures in the current window?
  bool limited(std::string_view client, Clock::time_point now);
  void record_failure(std::string_view client, Clock::time_point now);
  // forget - a success clears the address's count (other addresses are unaffected).
  void forget(std::string_view client);
  size_t size() const { return by_client_.size(); }

 private:
  struct Entry {
    std::string client;
    Clock::time_point window_start;
    uint32_t failures = 0;
  };
  using List = std::list<Entry>;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  bool expired(const Entry& entry, Clock::time_point now) const { return now - entry.window_start >= window_; }
  void drop_expired(Clock::time_point now);

  const uint32_t max_failures_;
  const std::chrono::milliseconds window_;
  const uint32_t capacity_;
  // Ordered by window_start, oldest first: a new window is always appended with the latest time,
  // so expiry and eviction both happen at the front.
  List by_age_;
  std::unordered_map<std::string, List::iterator, StringHash, std::equal_to<>> by_client_;
};

}  // namespace correo
