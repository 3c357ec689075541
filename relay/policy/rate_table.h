// rate_table.h - per-key token buckets (RateTable) and per-key concurrency counts
// (ConnectionCounter), shared by all worker threads: the state behind Postfix anvil's
// connection rate, message rate and per-client connection limits.
//
// Thread rules: every method is thread-safe. Keys are spread over shards by hash, each shard a
// mutex and its own map, so two workers contend only when their keys share a shard at the same
// moment; a lock is held for one map lookup and a few arithmetic operations, never for I/O.
//
// Bounds: keys are client addresses or user names, which an attacker chooses (an IPv6 client
// owns a /64), so both tables have a fixed maximum size. RateTable evicts the least recently
// used key of the shard it is inserting into (the capacity is split evenly over the shards, so
// "least recently used" is per shard, and size() never exceeds max_entries). ConnectionCounter
// cannot forget a live connection, so when full it refuses new keys instead.
//
// Time is passed in, never read here, so tests control it; callers on different threads may
// pass slightly out-of-order times, and a time earlier than a key's last one counts as no time.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace correo {

// RateTable - a token bucket per key: it holds at most `burst` tokens, refills at
// rate_per_second, and a new (or evicted and returning) key starts full.
class RateTable {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kShards = 16;

  // max_entries 0 is taken as 1. rate_per_second <= 0: buckets never refill.
  RateTable(size_t max_entries, double rate_per_second, double burst);
  RateTable(const RateTable&) = delete;
  RateTable& operator=(const RateTable&) = delete;

  // take - remove `tokens` from key's bucket if it holds that many; false (and nothing taken)
  // when over the rate. A request for more than `burst` never succeeds.
  bool take(std::string_view key, Clock::time_point now, double tokens = 1);
  // set_rate - new refill rate and bucket size for every key (SIGHUP). Buckets keep their
  // tokens, clipped to the new burst on their next refill.
  void set_rate(double rate_per_second, double burst);
  size_t size() const;
  size_t max_entries() const { return max_entries_; }

 private:
  struct Bucket {
    std::string key;
    double tokens = 0;
    Clock::time_point last{};
  };
  // Shard - LRU list (most recent at the front) and an index into it. The index keys view
  // the list nodes' strings, which stay put while the node is in the list.
  struct Shard {
    mutable std::mutex mu;
    size_t capacity = 0;
    std::list<Bucket> lru;
    std::unordered_map<std::string_view, std::list<Bucket>::iterator> index;
  };

  Shard& shard_for(std::string_view key);

  const size_t max_entries_;
  // Read under a shard lock but written by the reloading thread: atomics (a take may see the
  // new rate with the old burst for one call, which is harmless).
  std::atomic<double> rate_;
  std::atomic<double> burst_;
  size_t shard_count_ = 0;
  std::array<Shard, kShards> shards_;
};

// ConnectionCounter - how many connections each key has open. Entries exist only while their
// count is above zero, and at most max_entries keys are tracked in total (exactly: a global
// atomic count, not per shard).
class ConnectionCounter {
 public:
  static constexpr size_t kShards = 16;

  explicit ConnectionCounter(size_t max_entries);
  ConnectionCounter(const ConnectionCounter&) = delete;
  ConnectionCounter& operator=(const ConnectionCounter&) = delete;

  // acquire - one more connection for key; false (nothing counted) when key already has
  // `limit`, or key is new and max_entries keys already have connections.
  bool acquire(std::string_view key, uint32_t limit);
  // release - one connection fewer; a key at zero is forgotten. Unknown keys are ignored.
  void release(std::string_view key);
  uint32_t count(std::string_view key) const;
  size_t size() const { return keys_.load(std::memory_order_relaxed); }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> counts;
  };

  Shard& shard_for(std::string_view key);
  const Shard& shard_for(std::string_view key) const;

  const size_t max_entries_;
  std::atomic<size_t> keys_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace correo
